#include "compat/esink/esink_permissions.h"

#include "compat/esink/esink_json.h"
#include "rules/change_visibility.h"

namespace tandem::compat::esink {
namespace {

using FilterExpr = rules::FilterExpr;

FilterExpr equals_subject(const std::string& column) {
  FilterExpr compare;
  compare.kind = FilterExpr::Kind::compare;
  compare.column = column;
  compare.op = RowFilter::Op::eq;
  compare.operand = rules::ClaimRef{"sub"};
  return compare;
}

// Esink sends a change to the users its routing columns name; a column the table does not
// have names nobody (and must not make the engine refuse the whole filter).
FilterExpr routed_rows(const config::EsinkRoute& route, const TableSchema& table) {
  FilterExpr any;
  if (route.everyone) return any;  // always
  any.kind = FilterExpr::Kind::any_of;
  for (const auto& column : route.columns) {
    if (table.has_column(column)) any.operands.push_back(equals_subject(column));
  }
  return any;
}

rules::ColumnList readable_columns(const TableSchema& table,
                                   const std::map<std::string, std::vector<std::string>>& filters) {
  const auto hidden = filters.find(table.name);
  if (hidden == filters.end()) return std::nullopt;
  std::set<std::string, std::less<>> columns;
  for (const auto& column : table.columns)
    columns.insert(column.name);
  for (const auto& column : hidden->second)
    columns.erase(column);
  return columns;
}

// The columns `filter` requires to equal the reader's sub, in order (see candidate_routes);
// nullopt when it does not require that.
std::optional<std::vector<std::string>> subject_columns(const FilterExpr& filter) {
  switch (filter.kind) {
    case FilterExpr::Kind::compare: {
      const auto* claim = std::get_if<rules::ClaimRef>(&filter.operand);
      if (filter.op != RowFilter::Op::eq || !claim || claim->name != "sub") return std::nullopt;
      return std::vector<std::string>{filter.column};
    }
    case FilterExpr::Kind::any_of: {
      // A row passes through one of the operands: each must name its users.
      std::vector<std::string> columns;
      for (const auto& operand : filter.operands) {
        auto named = subject_columns(operand);
        if (!named) return std::nullopt;
        columns.insert(columns.end(), named->begin(), named->end());
      }
      return columns;
    }
    case FilterExpr::Kind::all_of:
      // A row passes every operand: one that names its users is enough.
      for (const auto& operand : filter.operands) {
        if (auto named = subject_columns(operand)) return named;
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<auth::ClaimValue> claim_of(const Value& value) {
  if (value.is_null() || value.kind() == Value::Kind::blob) return std::nullopt;
  return auth::ClaimValue{{value}, false};
}

std::map<std::string, std::set<std::string>, std::less<>> filtered_key_columns(
    const std::map<std::string, std::vector<std::string>>& filters, const Catalog& tables) {
  std::map<std::string, std::set<std::string>, std::less<>> keys;
  for (const auto& [name, columns] : filters) {
    const auto table = tables.find(name);
    if (table == tables.end()) continue;
    for (const auto& column : columns) {
      if (table->second.is_primary_key(column)) keys[name].insert(column);
    }
  }
  return keys;
}

}  // namespace

rules::RuleSet esink_rule_set(const std::map<std::string, config::EsinkRoute>& routing,
                              const std::map<std::string, std::vector<std::string>>& filters,
                              const Catalog& tables) {
  rules::RuleSet rules;
  for (const auto& [name, route] : routing) {
    const auto table = tables.find(name);
    if (table == tables.end()) continue;
    rules::SelectPermission select{routed_rows(route, table->second),
                                   readable_columns(table->second, filters)};
    rules.tables[name][std::string(kEsinkRole)].select = std::move(select);
  }
  return rules;
}

std::map<std::string, config::EsinkRoute> candidate_routes(const rules::RuleSet& rules) {
  std::map<std::string, config::EsinkRoute> routes;
  for (const auto& [table, roles] : rules.tables) {
    const auto role = roles.find(kEsinkRole);
    if (role == roles.end() || !role->second.select) continue;
    auto columns = subject_columns(role->second.select->filter);
    routes[table] =
        columns ? config::EsinkRoute{false, std::move(*columns)} : config::EsinkRoute{true, {}};
  }
  return routes;
}

auth::Claims esink_claims(const std::string& user_key, const Row& user) {
  auth::Claims claims;
  claims.subject = user_key;
  claims.role = auth::Role::user;
  claims.role_name = std::string(kEsinkRole);
  claims.values["sub"] = auth::ClaimValue{{Value(user_key)}, false};
  claims.values["role"] = auth::ClaimValue{{Value(std::string(kEsinkRole))}, false};
  for (const auto& [column, value] : user) {
    if (column == "id" || column == "sub" || column == "role") continue;
    if (auto claim = claim_of(value)) claims.values[column] = std::move(*claim);
  }
  return claims;
}

EsinkPermissions::EsinkPermissions(
    Catalog tables, rules::Permissions permissions, EsinkRules routes,
    const MembershipLookup* memberships,
    std::map<std::string, std::set<std::string>, std::less<>> filtered_keys)
    : m_tables(std::move(tables)),
      m_permissions(std::move(permissions)),
      m_routes(std::move(routes)),
      m_memberships(memberships),
      m_filtered_keys(std::move(filtered_keys)) {}

std::shared_ptr<const EsinkPermissions> EsinkPermissions::translated(
    const config::EsinkOptions& options, Catalog tables) {
  auto rules = esink_rule_set(options.routing, options.filters, tables);
  EsinkRules routes(candidate_routes(rules), options.filters);
  auto filtered_keys = filtered_key_columns(options.filters, tables);
  return std::shared_ptr<const EsinkPermissions>(
      new EsinkPermissions(std::move(tables), rules::Permissions({}, std::move(rules)),
                           std::move(routes), nullptr, std::move(filtered_keys)));
}

std::shared_ptr<const EsinkPermissions> EsinkPermissions::from_rules_file(
    rules::RuleSet rules, rules::RulesOptions options, const MembershipLookup* memberships,
    Catalog tables) {
  EsinkRules routes(candidate_routes(rules), {});
  return std::shared_ptr<const EsinkPermissions>(new EsinkPermissions(
      std::move(tables), rules::Permissions(std::move(options), std::move(rules)),
      std::move(routes), memberships, {}));
}

const TableSchema* EsinkPermissions::table(std::string_view name) const {
  const auto found = m_tables.find(name);
  return found == m_tables.end() ? nullptr : &found->second;
}

Recipients EsinkPermissions::candidates(const TableSchema& table, const Row& row) const {
  if (!m_routes.routed(table.name)) return {};
  return m_routes.recipients(table.name, esink_row(&table, row));
}

rules::ReadAccess EsinkPermissions::read_access(const auth::Claims& reader,
                                                const TableSchema& table) const {
  return m_permissions.read_access(reader, table,
                                   [this](std::string_view name) { return this->table(name); });
}

bool EsinkPermissions::sees_column(const rules::ReadAccess& access, const TableSchema& table,
                                   std::string_view column) const {
  if (!access.sees_column(column, table)) return false;
  const auto keys = m_filtered_keys.find(table.name);
  return keys == m_filtered_keys.end() || !keys->second.contains(std::string(column));
}

bool EsinkPermissions::may_see(const rules::ReadAccess& access, const Row& row) const {
  return rules::may_see(access, row, m_memberships);
}

Row EsinkPermissions::visible_part(const rules::ReadAccess& access, const TableSchema& table,
                                   const Row& row) const {
  auto visible = rules::Permissions::visible_part(row, access, table);
  const auto keys = m_filtered_keys.find(table.name);
  if (keys != m_filtered_keys.end()) {
    for (const auto& column : keys->second)
      visible.erase(column);
  }
  return visible;
}

void EsinkPermissions::remove_hidden_columns(const auth::Claims& reader,
                                             std::string_view table_name,
                                             nlohmann::json& data) const {
  if (!data.is_object()) return;
  const auto* table = this->table(table_name);
  if (!table) {
    m_routes.filter(table_name, data);
    return;
  }
  const auto access = read_access(reader, *table);
  for (auto field = data.begin(); field != data.end();) {
    if (table->has_column(field.key()) && !sees_column(access, *table, field.key())) {
      field = data.erase(field);
    } else {
      ++field;
    }
  }
}

}  // namespace tandem::compat::esink
