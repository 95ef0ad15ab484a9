// A snapshot's RowFilter in MySQL's and MariaDB's SQL (storage/filter_sql.h has the policy).
// A snapshot reads each column back as the Value mysql_rows.h maps it to, and the SQL
// compares that Value: integers as integers, float and double as doubles, and everything else
// as the text or bytes it reads back as (decimals' digits, dates and timestamps in the wire
// form, computed in SQL), compared as binary strings: MySQL's default collations ignore case
// and trailing spaces, and a string compared with a number is converted to one ('abc' = 0),
// neither of which happens here.
#pragma once

#include <string>

#include "common/row_filter.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_schema.h"

namespace tandem::storage::mysql {

// The condition rows of `table` (aliased `t` in the query) meet exactly when `filter` passes
// them; its parameters are appended to `params`, in the order of its `?` markers. Membership
// tables are described through `connection`. Throws Error(invalid_identifier) for an invalid
// membership name, Error(not_found) when a membership table does not exist.
std::string mysql_filter_sql(const RowFilter& filter, const MysqlTable& table,
                             MysqlConnection& connection, Params& params);

}  // namespace tandem::storage::mysql
