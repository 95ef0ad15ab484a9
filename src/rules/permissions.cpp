#include "rules/permissions.h"

#include <algorithm>

#include "rules/access_rules.h"
#include "rules/view_digest.h"

namespace tandem::rules {
namespace {

bool is_admin(const auth::Claims& reader) {
  return reader.role == auth::Role::admin;
}

ReadAccess everything() {
  return ReadAccess{RowFilter::always(), std::nullopt};
}

}  // namespace

bool ReadAccess::sees_column(std::string_view column, const TableSchema& table) const {
  if (sees_nothing()) return false;
  return !columns || columns->contains(column) || table.is_primary_key(column);
}

Permissions::Permissions(RulesOptions options) : m_options(std::move(options)) {}

Permissions::Permissions(RulesOptions options, RuleSet rules)
    : m_options(std::move(options)), m_rules(std::move(rules)) {}

std::string Permissions::view_digest(const auth::Claims& reader) const {
  if (!m_rules || is_admin(reader)) return {};
  return rules::view_digest(*m_rules, reader);
}

std::string Permissions::rules_version() const {
  return m_rules ? rules_digest(*m_rules) : std::string();
}

ReadAccess Permissions::default_read_access(const auth::Claims& reader,
                                            const TableSchema& table) const {
  const auto* owner = table.column(m_options.owner_column);
  if (!owner) return everything();  // public
  return ReadAccess{RowFilter::compare(m_options.owner_column, RowFilter::Op::eq,
                                       owner_value(reader.subject, owner->type)),
                    std::nullopt};
}

ReadAccess Permissions::read_access(const auth::Claims& reader, const TableSchema& table,
                                    const SchemaLookup& schema_of, std::string* problem) const {
  if (is_admin(reader)) return everything();
  if (!m_rules) return default_read_access(reader, table);
  auto roles = m_rules->tables.find(table.name);
  if (roles == m_rules->tables.end()) return ReadAccess{};
  auto role = roles->second.find(reader.role_name);
  if (role == roles->second.end() || !role->second.select) return ReadAccess{};
  const auto& select = *role->second.select;
  auto rows = resolve_filter(select.filter, *m_rules, reader, table, schema_of);
  if (!rows) {
    if (problem) *problem = std::string(rows.error().message());
    return ReadAccess{};
  }
  return ReadAccess{std::move(*rows), select.columns};
}

bool Permissions::may_write(const auth::Claims& writer, const TableSchema& table) const {
  if (is_admin(writer)) return true;
  if (!m_rules) return table.column(m_options.owner_column) != nullptr;
  auto roles = m_rules->tables.find(table.name);
  if (roles == m_rules->tables.end()) return false;
  auto role = roles->second.find(writer.role_name);
  if (role == roles->second.end()) return false;
  return role->second.insert || role->second.update || role->second.remove;
}

std::vector<std::string> Permissions::roles_for(std::string_view table) const {
  std::vector<std::string> roles;
  if (!m_rules) return roles;
  auto found = m_rules->tables.find(table);
  if (found == m_rules->tables.end()) return roles;
  for (const auto& [role, permissions] : found->second)
    roles.push_back(role);
  return roles;
}

std::vector<RowFilter::Membership> Permissions::membership_tables() const {
  std::vector<RowFilter::Membership> tables;
  if (!m_rules) return tables;
  for (const auto& [name, declared] : m_rules->memberships) {
    RowFilter::Membership membership{declared.table, declared.key_column, declared.member_column,
                                     Value{}};
    if (std::find(tables.begin(), tables.end(), membership) == tables.end())
      tables.push_back(std::move(membership));
  }
  return tables;
}

Row Permissions::visible_part(const Row& row, const ReadAccess& access, const TableSchema& table) {
  if (!access.columns) return row;
  Row visible;
  for (const auto& [column, value] : row) {
    if (access.sees_column(column, table)) visible.emplace(column, value);
  }
  return visible;
}

}  // namespace tandem::rules
