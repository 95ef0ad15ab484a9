#include "rules/access_rules.h"

#include <fmt/format.h>

#include <charconv>

namespace tandem::rules {
namespace {

bool is_admin(const auth::Claims& claims) {
  return claims.role == auth::Role::admin;
}

bool owned_by(const Row& row, const std::string& owner_column, const std::string& user_id) {
  auto it = row.find(owner_column);
  return it != row.end() && !it->second.is_null() && it->second.to_key_string() == user_id;
}

}  // namespace

Value owner_value(const std::string& user_id, ColumnType type) {
  if (type == ColumnType::integer) {
    std::int64_t number = 0;
    auto [end, error] = std::from_chars(user_id.data(), user_id.data() + user_id.size(), number);
    if (error == std::errc() && end == user_id.data() + user_id.size()) return Value{number};
  }
  return Value{user_id};
}

TableRule AccessRules::rule_for(const TableSchema& table) const {
  if (table.has_column(m_options.owner_column)) return TableRule{true, m_options.owner_column};
  return TableRule{};
}

bool AccessRules::can_read(const auth::Claims& reader, const TableSchema& table,
                           const Row& row) const {
  auto rule = rule_for(table);
  return !rule.is_private || is_admin(reader) || owned_by(row, rule.owner_column, reader.subject);
}

std::optional<std::pair<std::string, Value>> AccessRules::read_filter(
    const auth::Claims& reader, const TableSchema& table) const {
  auto rule = rule_for(table);
  if (!rule.is_private || is_admin(reader)) return std::nullopt;
  const auto* column = table.column(rule.owner_column);
  return std::pair{rule.owner_column, owner_value(reader.subject, column->type)};
}

Visibility AccessRules::visibility(const auth::Claims& reader, const TableRule& rule,
                                   const sync::Change& change) const {
  if (!rule.is_private || is_admin(reader)) return Visibility::visible;
  bool after = owned_by(change.row, rule.owner_column, reader.subject);
  if (change.op != sync::Op::update) return after ? Visibility::visible : Visibility::hidden;
  auto old_owner = change.old.find(rule.owner_column);
  bool before =
      old_owner == change.old.end()
          ? after
          : (!old_owner->second.is_null() && old_owner->second.to_key_string() == reader.subject);
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
  if (existing && !owned_by(*existing, owner, writer.subject)) {
    return Error(ErrorCode::not_found,
                 fmt::format("no row of yours in '{}' has this key", table.name));
  }
  if (!existing && mutation.op != sync::Op::insert) {
    return Error(ErrorCode::not_found,
                 fmt::format("no row of yours in '{}' has this key", table.name));
  }
  if (mutation.pk.contains(owner) && !owned_by(mutation.pk, owner, writer.subject)) {
    return Error(ErrorCode::forbidden, fmt::format("'{}' must be your user id", owner));
  }
  auto given = mutation.values.find(owner);
  if (given != mutation.values.end()) {
    if (given->second.is_null() || given->second.to_key_string() != writer.subject) {
      return Error(
          ErrorCode::forbidden,
          fmt::format("'{}' must be your user id: rows cannot be given to another user", owner));
    }
  } else if (mutation.op == sync::Op::insert && !table.is_primary_key(owner)) {
    mutation.values.emplace(owner, owner_value(writer.subject, table.column(owner)->type));
  }
  return ok_status();
}

}  // namespace tandem::rules
