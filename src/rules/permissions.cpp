#include "rules/permissions.h"

#include "rules/access_rules.h"

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

Row Permissions::visible_part(const Row& row, const ReadAccess& access, const TableSchema& table) {
  if (!access.columns) return row;
  Row visible;
  for (const auto& [column, value] : row) {
    if (access.sees_column(column, table)) visible.emplace(column, value);
  }
  return visible;
}

}  // namespace tandem::rules
