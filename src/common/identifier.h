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

// "name" with embedded double quotes doubled; valid in SQLite, PostgreSQL and (ANSI_QUOTES
// aside) MySQL callers use their own quote_ function.
std::string quote_identifier(std::string_view name);

}  // namespace tandem
