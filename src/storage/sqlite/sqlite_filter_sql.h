// A snapshot's RowFilter in SQLite's SQL (storage/filter_sql.h has the policy). SQLite types
// values, not columns: every comparison first asks typeof() whether the stored value has the
// kind it compares with, and compares it without the column's affinity (`+col`, so that "7"
// does not become 7) and without its collation (COLLATE BINARY, so that a NOCASE column does
// not make "ALICE" equal "alice").
#pragma once

#include <string>
#include <vector>

#include "common/row_filter.h"
#include "common/table_schema.h"
#include "common/value.h"
#include "storage/sqlite/sqlite_connection.h"

namespace tandem::storage::sqlite {

struct SqliteFilterSql {
  std::string condition;      // columns qualified by the alias `t`
  std::vector<Value> params;  // bound to ?first, ?first+1, ...
};

// The condition rows of `table` (aliased `t` in the query) meet exactly when `filter` passes
// them. Membership tables are described through `connection`. Throws
// Error(invalid_identifier) for an invalid membership name, Error(not_found) when a
// membership table does not exist.
SqliteFilterSql sqlite_filter_sql(const RowFilter& filter, const TableSchema& table,
                                  SqliteConnection& connection, int first_param);

}  // namespace tandem::storage::sqlite
