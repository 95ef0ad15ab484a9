// Reading and writing user rows and their merge metadata in PostgreSQL: the SQL both the
// push path (PgWriteTxn) and the capture path (folding outside writes) need.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_schema.h"
#include "sync/merge.h"

namespace tandem::storage::postgres {

// SELECT list casting every column to text (session settings make the text stable).
std::string text_columns_sql(const PgTable& table, const std::string& alias = "");
// " WHERE k1 = $first::type AND ..." for the primary key.
std::string key_predicate_sql(const PgTable& table, int first);
Params key_params(const PgTable& table, const std::vector<Value>& key);

// Converts the text columns of one result row (starting at `first_column`) into a Row.
Row row_from_result(const PgTable& table, const PgResult& result, int row, int first_column);

// The row as text values keyed by column name (the trigger's capture form) -> Row.
Row row_from_text_json(const PgTable& table, std::string_view json_text);

// Text parameter for a value of `column`; Error(invalid_mutation) if it does not fit.
Param to_param(const PgTable& table, const std::string& column, const Value& value);

struct StoredMetadata {
  std::string state;            // row_state_codec form; decode with the live row, if any
  std::int64_t writer_xid = 0;  // the transaction that last wrote the row (32-bit xid)
};
std::optional<StoredMetadata> load_metadata(PgConnection& connection, const std::string& table,
                                            const std::string& key, bool lock);
void save_metadata(PgConnection& connection, const std::string& table, const std::string& key,
                   const sync::RowState& state, std::int64_t writer_xid);

// Bulk forms, one round trip whatever the number of keys.
using MetadataKey = std::pair<std::string, std::string>;  // (table, encoded key)
using MetadataMap = std::map<MetadataKey, StoredMetadata>;
// The stored metadata of `keys` (absent keys are missing from the map). With `lock`, the
// rows are locked FOR UPDATE in key order, so that two bulk lockers cannot deadlock.
MetadataMap load_metadata_batch(PgConnection& connection, const std::vector<MetadataKey>& keys,
                                bool lock);

struct MetadataWrite {
  std::string table;
  std::string key;
  std::string state;  // row_state_codec form
  // nullopt: the current transaction (for rows it wrote itself, outside any savepoint).
  std::optional<std::int64_t> writer_xid;
};
struct Statement {
  std::string sql;
  Params params;
};
// The upsert of every write (keys must be distinct), as a statement to run or pipeline.
Statement save_metadata_statement(const std::vector<MetadataWrite>& writes);

}  // namespace tandem::storage::postgres
