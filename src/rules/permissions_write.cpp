// The permission engine's write side: Permissions::authorize_write and authorize_result.
#include "rules/permissions.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "rules/access_rules.h"

namespace tandem::rules {
namespace {

using Presets = std::map<std::string, Operand, std::less<>>;

bool is_admin(const auth::Claims& claims) {
  return claims.role == auth::Role::admin;
}

// What AccessRules says of a row the writer may not see, and of no row at all.
Error not_yours(const TableSchema& table) {
  return Error(ErrorCode::not_found,
               fmt::format("no row of yours in '{}' has this key", table.name));
}

// Whether `row` passes `filter`. A filter that reads a membership table passes no row when
// no lookup can answer it: the write is denied, and nothing throws through the push.
bool passes_or_denies(const RowFilter& filter, const Row& row,
                      const MembershipLookup* memberships) {
  if (!memberships && !filter.memberships().empty()) return false;
  return passes(filter, row, memberships);
}

// One write decided by a rules file: the writer's role's permissions on one table.
class RuleWrite {
 public:
  RuleWrite(const RuleSet& rules, const auth::Claims& writer, const TableSchema& table,
            const SchemaLookup& schema_of, const MembershipLookup* memberships)
      : m_rules(rules),
        m_writer(writer),
        m_table(table),
        m_schema_of(schema_of),
        m_memberships(memberships) {}

  Error not_permitted(std::string_view verb, std::string_view why = {}) const {
    return Error(ErrorCode::forbidden, fmt::format("role '{}' may not {} rows of '{}'{}",
                                                   m_writer.role_name, verb, m_table.name, why));
  }

  // Whether `row` passes `filter` for the writer; a filter that cannot be applied refuses.
  Status require(const FilterExpr& filter, const Row& row, std::string_view refusal) const {
    auto resolved = resolve_filter(filter, m_rules, m_writer, m_table, m_schema_of);
    if (!resolved) return Error(ErrorCode::forbidden, std::string(resolved.error().message()));
    if (!passes_or_denies(*resolved, row, m_memberships))
      return Error(ErrorCode::forbidden, std::string(refusal));
    return ok_status();
  }

  Status require_filter(const FilterExpr& filter, const Row& existing,
                        std::string_view verb) const {
    return require(filter, existing,
                   fmt::format("role '{}' may not {} this row of '{}'", m_writer.role_name, verb,
                               m_table.name));
  }

  Status require_check(const FilterExpr& check, const Row& merged, WriteAction action,
                       std::string_view which) const {
    return require(check, merged,
                   fmt::format("the row this {} leaves in '{}' does not pass the {} check of "
                               "role '{}'",
                               write_action_name(action), m_table.name, which, m_writer.role_name));
  }

  // Every column `mutation` sets is in `columns` or preset. `with_key`: the key columns
  // count (an insert sets them; an update cannot change them).
  Status check_columns(const ColumnList& columns, const Presets& presets,
                       const sync::Mutation& mutation, bool with_key, std::string_view verb) const {
    auto refused = [&](const std::string& column) -> std::optional<Error> {
      if (!columns || columns->contains(column) || presets.contains(column)) return std::nullopt;
      return Error(ErrorCode::forbidden,
                   fmt::format("role '{}' may not set column '{}' of '{}' in an {}",
                               m_writer.role_name, column, m_table.name, verb));
    };
    if (with_key) {
      for (const auto& [column, value] : mutation.pk) {
        if (auto error = refused(column)) return *error;
      }
    }
    for (const auto& [column, value] : mutation.values) {
      if (!with_key && m_table.is_primary_key(column)) continue;
      if (auto error = refused(column)) return *error;
    }
    return ok_status();
  }

  // Sets every preset column to its value for the writer, whatever was sent. All presets
  // are resolved before any is written: a refused write leaves `mutation` as it was.
  Status apply_presets(const Presets& presets, sync::Mutation& mutation) const {
    std::vector<std::pair<std::string, Value>> resolved;
    for (const auto& [column, operand] : presets) {
      const auto* spec = m_table.column(column);
      if (!spec) {
        return Error(ErrorCode::forbidden,
                     fmt::format("a rule of table '{}' cannot be applied: it has no column '{}'",
                                 m_table.name, column));
      }
      auto value = resolve_operand(operand, m_writer, spec->type);
      if (m_table.is_primary_key(column)) {
        // The key names the row the push addresses (the applier has looked it up): it is
        // checked, never rewritten.
        auto given = mutation.pk.find(column);
        if (given == mutation.pk.end() || value.is_null() || !(given->second == value)) {
          return Error(ErrorCode::forbidden,
                       fmt::format("key column '{}' of '{}' is preset for role '{}': the key "
                                   "must hold the preset value",
                                   column, m_table.name, m_writer.role_name));
        }
        continue;
      }
      resolved.emplace_back(column, std::move(value));
    }
    for (auto& [column, value] : resolved)
      mutation.values.insert_or_assign(column, std::move(value));
    return ok_status();
  }

 private:
  const RuleSet& m_rules;
  const auth::Claims& m_writer;
  const TableSchema& m_table;
  const SchemaLookup& m_schema_of;
  const MembershipLookup* m_memberships;
};

}  // namespace

std::string_view write_action_name(WriteAction action) noexcept {
  switch (action) {
    case WriteAction::insert:
      return "insert";
    case WriteAction::update:
      return "update";
    case WriteAction::upsert:
      return "upsert";
    case WriteAction::remove:
      return "delete";
  }
  return "write";
}

WriteAction Permissions::write_action(const Row* existing, const sync::Mutation& mutation) {
  switch (mutation.op) {
    case sync::Op::insert:
      return existing ? WriteAction::upsert : WriteAction::insert;
    case sync::Op::update:
      return WriteAction::update;
    case sync::Op::remove:
      return WriteAction::remove;
  }
  return WriteAction::update;
}

const RolePermissions* Permissions::role_permissions(const auth::Claims& writer,
                                                     const TableSchema& table) const {
  auto roles = m_rules->tables.find(table.name);
  if (roles == m_rules->tables.end()) return nullptr;
  auto role = roles->second.find(writer.role_name);
  return role == roles->second.end() ? nullptr : &role->second;
}

Status Permissions::authorize_write(const auth::Claims& writer, const TableSchema& table,
                                    const Row* existing, sync::Mutation& mutation,
                                    const SchemaLookup& schema_of,
                                    const MembershipLookup* memberships) const {
  if (is_admin(writer)) return ok_status();
  if (!m_rules) return default_authorize_write(writer, table, existing, mutation);
  const auto* role = role_permissions(writer, table);
  RuleWrite write(*m_rules, writer, table, schema_of, memberships);
  // Refusals that depend on the role alone come first: they tell nothing about the rows.
  switch (mutation.op) {
    case sync::Op::insert:
      if (!role || !role->insert) return write.not_permitted("insert");
      break;
    case sync::Op::update:
      if (!role || !role->update) return write.not_permitted("update");
      break;
    case sync::Op::remove:
      if (!role || !role->remove) return write.not_permitted("delete");
      break;
  }
  if (existing) {
    auto readable = read_access(writer, table, schema_of).rows;
    if (!passes_or_denies(readable, *existing, memberships)) return not_yours(table);
  } else if (mutation.op != sync::Op::insert) {
    // An update or delete of no visible row, refused as AccessRules refuses it (the merge
    // would hold an update of a deleted row until an insert revives it).
    return not_yours(table);
  }
  switch (write_action(existing, mutation)) {
    case WriteAction::insert: {
      const auto& insert = *role->insert;
      if (auto columns =
              write.check_columns(insert.columns, insert.presets, mutation, true, "insert");
          !columns) {
        return columns;
      }
      return write.apply_presets(insert.presets, mutation);
    }
    case WriteAction::update: {
      const auto& update = *role->update;
      if (auto allowed = write.require_filter(update.filter, *existing, "update"); !allowed)
        return allowed;
      if (auto columns =
              write.check_columns(update.columns, update.presets, mutation, false, "update");
          !columns) {
        return columns;
      }
      return write.apply_presets(update.presets, mutation);
    }
    case WriteAction::upsert: {
      if (!role->update) {
        return write.not_permitted("update",
                                   " (an insert of a key that has a row writes over that row)");
      }
      const auto& insert = *role->insert;
      const auto& update = *role->update;
      if (auto allowed = write.require_filter(update.filter, *existing, "update"); !allowed)
        return allowed;
      if (auto columns =
              write.check_columns(insert.columns, insert.presets, mutation, true, "insert");
          !columns) {
        return columns;
      }
      if (auto columns =
              write.check_columns(update.columns, update.presets, mutation, false, "update");
          !columns) {
        return columns;
      }
      return write.apply_presets(update.presets, mutation);
    }
    case WriteAction::remove:
      return write.require_filter(role->remove->filter, *existing, "delete");
  }
  return ok_status();
}

Status Permissions::authorize_result(const auth::Claims& writer, const TableSchema& table,
                                     WriteAction action, const Row& merged,
                                     bool inherits_others_values, const SchemaLookup& schema_of,
                                     const MembershipLookup* memberships) const {
  if (is_admin(writer)) return ok_status();
  if (!m_rules) return default_authorize_result(writer, table, merged, inherits_others_values);
  // Values others wrote to a deleted row were never in anyone's view, and no rule decided to
  // show them to this writer.
  if (inherits_others_values) return not_yours(table);
  if (action == WriteAction::remove) return ok_status();
  const auto* role = role_permissions(writer, table);
  RuleWrite write(*m_rules, writer, table, schema_of, memberships);
  if (action != WriteAction::update) {
    if (!role || !role->insert) return write.not_permitted("insert");
    if (auto passed = write.require_check(role->insert->check, merged, action, "insert"); !passed)
      return passed;
  }
  if (action != WriteAction::insert) {
    if (!role || !role->update) return write.not_permitted("update");
    if (auto passed = write.require_check(role->update->check, merged, action, "update"); !passed)
      return passed;
  }
  return ok_status();
}

// The owner-column default is AccessRules' (one implementation of it).
Status Permissions::default_authorize_write(const auth::Claims& writer, const TableSchema& table,
                                            const Row* existing, sync::Mutation& mutation) const {
  return m_owner_rules.authorize_write(writer, table, existing, mutation);
}

Status Permissions::default_authorize_result(const auth::Claims& writer, const TableSchema& table,
                                             const Row& merged, bool inherits_others_values) const {
  return m_owner_rules.authorize_result(writer, table, merged, inherits_others_values);
}

}  // namespace tandem::rules
