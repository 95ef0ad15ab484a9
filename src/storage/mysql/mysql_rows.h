// Rows between MySQL and Tandem values. Every read of rows (capture triggers, snapshots,
// lookups) renders a row as one JSON_OBJECT built by row_json_sql(), and every such object
// becomes a Row through row_from_json_object(): one conversion path for all of them.
//
// Values (as the PostgreSQL datasource maps the same types, docs/mysql-source.md): integers
// -> integer; float/double -> real; decimal -> text digits; char/varchar/text/enum/set/time ->
// text; binary/varbinary/blob -> blob; bit -> integer; date -> 'YYYY-MM-DD'; datetime ->
// 'YYYY-MM-DDTHH:MM:SS[.f]'; timestamp -> 'YYYY-MM-DDTHH:MM:SS[.f]Z' (UTC); json -> its
// text; NULL -> null.
#pragma once

#include <string>
#include <string_view>

#include "common/value.h"
#include "storage/mysql/mysql_schema.h"

namespace tandem::storage::mysql {

// JSON_OBJECT('col', <expr>, ...) over every column of `table`, each column referenced as
// `<prefix>`col`` (prefix "NEW.", "OLD." or "").
std::string row_json_sql(const MysqlTable& table, std::string_view prefix);

// The Row a JSON object made by row_json_sql() stands for. Columns missing from the object
// (added after it was written) are null; keys that are not columns are ignored. Throws
// Error(internal) when the text is not such an object.
Row row_from_json_object(const MysqlTable& table, std::string_view json);

// A Value as a parameter for a comparison with a column of `kind` (dates and timestamps
// back into MySQL's literal forms).
Value param_for(MysqlKind kind, const Value& value);

// 'YYYY-MM-DDTHH:MM:SS[.f]Z' for seconds since the epoch given as text ("1704164645.5").
std::string utc_text_from_epoch(std::string_view seconds);

}  // namespace tandem::storage::mysql
