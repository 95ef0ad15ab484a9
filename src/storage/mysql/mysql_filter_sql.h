// A snapshot's RowFilter in MySQL's and MariaDB's SQL (storage/filter_sql.h has the policy).
// A snapshot reads each column back as the Value mysql_rows.h maps it to, and the SQL
// compares that Value: integers as integers, float and double as doubles, and everything else
// as the text or bytes it reads back as (decimals' digits, dates and timestamps in the wire
// form, computed in SQL), compared as binary strings: MySQL's default collations ignore case
// and trailing spaces, and a string compared with a number is converted to one ('abc' = 0),
// neither of which happens here.
#pragma once

#include <functional>
#include <optional>

#include <string>

#include "common/row_filter.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_schema.h"

namespace tandem::storage::mysql {

// The condition rows of `table` (aliased `t` in the query) meet exactly when `filter` passes
// them; its parameters are appended to `params`, in the order of its `?` markers. Membership
// tables come from `membership_table` (the datasource's tracked tables, described once: not an
// information_schema query per snapshot page); its error is thrown (not_found when one is not
// tracked).
using MysqlMembershipLookup = std::function<std::optional<MysqlTable>(const std::string& table)>;
std::string mysql_filter_sql(const RowFilter& filter, const MysqlTable& table,
                             const MysqlMembershipLookup& membership_table, Params& params);

}  // namespace tandem::storage::mysql
