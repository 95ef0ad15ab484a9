// Validation and quoting of SQL identifiers that come from users or configuration.
// Identifiers are validated before use and always quoted; values are always bound parameters.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace tandem {

// A table or column name Tandem accepts: [A-Za-z_][A-Za-z0-9_]*, at most 63 bytes (the
// PostgreSQL limit), and not starting with "tandem_" (reserved for Tandem's own tables).
bool is_valid_identifier(std::string_view name) noexcept;

// Ok, or an invalid_identifier error naming `what` ("table", "column") and the name.
Status check_identifier(std::string_view name, std::string_view what);

// Ok, or an invalid_identifier error when `table` is one Tandem never tracks: a database's
// own catalog or Tandem's own tables. `schema` is the PostgreSQL schema or MySQL database the
// name resolves to (empty for SQLite). Refused: the schemas pg_catalog, pg_toast (and every
// other pg_*), information_schema, tandem, mysql, performance_schema and sys; the tables
// sqlite_* (SQLite's own) and tandem_* (Tandem's, in SQLite and MySQL). Every datasource
// applies it when it introspects a table to track, so the admin API, `tandem tables add`
// and `--track` refuse the same names.
Status check_trackable_table(std::string_view schema, std::string_view table);

// "name" with embedded double quotes doubled; valid in SQLite, PostgreSQL and (ANSI_QUOTES
// aside) MySQL callers use their own quote_ function.
std::string quote_identifier(std::string_view name);

}  // namespace tandem
