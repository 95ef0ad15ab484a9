#include "rules/access_rules.h"

#include <fmt/format.h>

#include <charconv>

namespace tandem::rules {
namespace {

bool is_admin(const auth::Claims& claims) {
  return claims.role == auth::Role::admin;
}

Error not_yours(const TableSchema& table) {
  return Error(ErrorCode::not_found,
               fmt::format("no row of yours in '{}' has this key", table.name));
}

bool is_canonical_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    char c = text[i];
    bool ok = hyphen ? c == '-' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Value owner_value(const std::string& user_id, ColumnType type) {
  switch (type) {
    case ColumnType::integer: {
      std::int64_t number = 0;
      auto [end, error] = std::from_chars(user_id.data(), user_id.data() + user_id.size(), number);
      // Only the canonical form: "07" or "-0" would otherwise own user 7's or user 0's rows.
      if (error != std::errc() || end != user_id.data() + user_id.size() ||
          fmt::format("{}", number) != user_id) {
        return Value{};
      }
      return Value{number};
    }
    case ColumnType::uuid:
      // PostgreSQL prints a uuid in lower case with hyphens: only that form compares equal.
      return is_canonical_uuid(user_id) ? Value{user_id} : Value{};
    case ColumnType::text:
    case ColumnType::any:
      return Value{user_id};
    default:
      return Value{};
  }
}

bool owns(const Row& row, const std::string& owner_column, ColumnType type,
          const std::string& user_id) {
  auto it = row.find(owner_column);
  if (it == row.end() || it->second.is_null()) return false;
  return it->second == owner_value(user_id, type);
}

TableRule AccessRules::rule_for(const TableSchema& table) const {
  const auto* owner = table.column(m_options.owner_column);
  if (!owner) return TableRule{};
  return TableRule{true, m_options.owner_column, owner->type};
}

bool AccessRules::can_read(const auth::Claims& reader, const TableSchema& table,
                           const Row& row) const {
  auto rule = rule_for(table);
  return !rule.is_private || is_admin(reader) ||
         owns(row, rule.owner_column, rule.owner_type, reader.subject);
}

std::optional<std::pair<std::string, Value>> AccessRules::read_filter(
    const auth::Claims& reader, const TableSchema& table) const {
  auto rule = rule_for(table);
  if (!rule.is_private || is_admin(reader)) return std::nullopt;
  return std::pair{rule.owner_column, owner_value(reader.subject, rule.owner_type)};
}

Visibility AccessRules::visibility(const auth::Claims& reader, const TableRule& rule,
                                   const sync::Change& change) const {
  if (!rule.is_private || is_admin(reader)) return Visibility::visible;
  bool after = owns(change.row, rule.owner_column, rule.owner_type, reader.subject);
  if (change.op != sync::Op::update) return after ? Visibility::visible : Visibility::hidden;
  bool before = change.old.contains(rule.owner_column)
                    ? owns(change.old, rule.owner_column, rule.owner_type, reader.subject)
                    : after;
  if (before && after) return Visibility::visible;
  if (after) return Visibility::entered;
  if (before) return Visibility::left;
  return Visibility::hidden;
}

Status AccessRules::authorize_write(const auth::Claims& writer, const TableSchema& table,
                                    const Row* existing, sync::Mutation& mutation) const {
  if (is_admin(writer)) return ok_status();
  auto rule = rule_for(table);
  if (!rule.is_private) {
    return Error(ErrorCode::forbidden,
                 fmt::format("table '{}' is public: users may read it; only admins and the "
                             "database write it",
                             table.name));
  }
  const auto& owner = rule.owner_column;
  if (existing && !owns(*existing, owner, rule.owner_type, writer.subject)) return not_yours(table);
  if (!existing && mutation.op != sync::Op::insert) return not_yours(table);
  auto mine = owner_value(writer.subject, rule.owner_type);
  if (mine.is_null()) {
    return Error(ErrorCode::forbidden,
                 fmt::format("your user id cannot be stored in '{}' (a {} column): you cannot "
                             "write rows of '{}'",
                             owner, column_type_name(rule.owner_type), table.name));
  }
  if (mutation.pk.contains(owner) && !owns(mutation.pk, owner, rule.owner_type, writer.subject)) {
    return Error(ErrorCode::forbidden, fmt::format("'{}' must be your user id", owner));
  }
  auto given = mutation.values.find(owner);
  if (given != mutation.values.end()) {
    if (!(given->second == mine)) {
      return Error(
          ErrorCode::forbidden,
          fmt::format("'{}' must be your user id: rows cannot be given to another user", owner));
    }
  } else if (mutation.op == sync::Op::insert && !table.is_primary_key(owner)) {
    mutation.values.emplace(owner, std::move(mine));
  }
  return ok_status();
}

Status AccessRules::authorize_result(const auth::Claims& writer, const TableSchema& table,
                                     const Row& merged, bool inherits_others_values) const {
  if (is_admin(writer)) return ok_status();
  auto rule = rule_for(table);
  if (!rule.is_private) return ok_status();  // authorize_write refused users already
  if (inherits_others_values || !owns(merged, rule.owner_column, rule.owner_type, writer.subject))
    return not_yours(table);
  return ok_status();
}

}  // namespace tandem::rules
