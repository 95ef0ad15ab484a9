#include "common/identifier.h"

#include <fmt/format.h>

namespace tandem {

bool is_valid_identifier(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63) return false;
  auto is_alpha = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!is_alpha(name[0])) return false;
  for (char c : name) {
    if (!is_alpha(c) && !is_digit(c)) return false;
  }
  return !name.starts_with("tandem_");
}

Status check_identifier(std::string_view name, std::string_view what) {
  if (is_valid_identifier(name)) return ok_status();
  return Error(ErrorCode::invalid_identifier,
               fmt::format("invalid {} name '{}': use letters, digits and '_', start with a "
                           "letter or '_', at most 63 characters, not starting with 'tandem_'",
                           what, name));
}

Status check_trackable_table(std::string_view schema, std::string_view table) {
  constexpr std::string_view kSystemSchemas[] = {"information_schema", "tandem", "mysql",
                                                 "performance_schema", "sys"};
  bool system_schema = schema.starts_with("pg_");
  for (auto name : kSystemSchemas)
    system_schema = system_schema || schema == name;
  if (system_schema) {
    return Error(ErrorCode::invalid_identifier,
                 fmt::format("'{}' is a table of '{}', a system schema: Tandem never tracks the "
                             "database's own or Tandem's tables",
                             table, schema));
  }
  if (table.starts_with("sqlite_") || table.starts_with("tandem_")) {
    return Error(ErrorCode::invalid_identifier,
                 fmt::format("'{}' is reserved (sqlite_* and tandem_* tables belong to the "
                             "database and to Tandem): Tandem never tracks them",
                             table));
  }
  return ok_status();
}

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

}  // namespace tandem
