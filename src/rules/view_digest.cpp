#include "rules/view_digest.h"

#include <openssl/sha.h>

#include <array>
#include <nlohmann/json.hpp>
#include <set>

#include "common/value_json.h"
#include "rules/filter_resolution.h"

namespace tandem::rules {
namespace {

using nlohmann::json;

// The claim's value as the reader's token carries it (null when absent).
json claim_json(const auth::Claims& reader, const std::string& name) {
  auto claim = find_claim(reader, name);
  if (!claim) return nullptr;
  json items = json::array();
  for (const auto& item : claim->items)
    items.push_back(to_json(item));
  return json{{"list", claim->is_list}, {"items", std::move(items)}};
}

// A canonical form of rule parts. With a reader, claims become their values; without one
// (the whole rule set), they stay names.
class Canonical {
 public:
  explicit Canonical(const auth::Claims* reader) : m_reader(reader) {}

  json operand(const Operand& operand) const {
    if (const auto* value = std::get_if<Value>(&operand)) return json{{"value", to_json(*value)}};
    const auto& name = std::get<ClaimRef>(operand).name;
    if (!m_reader) return json{{"claim", name}};
    return json{{"claim_value", claim_json(*m_reader, name)}};
  }

  json filter(const FilterExpr& expr) const {
    json object = {{"kind", static_cast<int>(expr.kind)}};
    json operands = json::array();
    for (const auto& nested : expr.operands)
      operands.push_back(filter(nested));
    object["operands"] = std::move(operands);
    object["column"] = expr.column;
    object["op"] = static_cast<int>(expr.op);
    object["operand"] = operand(expr.operand);
    json list = json::array();
    for (const auto& item : expr.list)
      list.push_back(operand(item));
    object["list"] = std::move(list);
    object["list_from_claim"] = expr.list_from_claim;
    object["expect_null"] = expr.expect_null;
    object["membership"] = expr.membership;
    return object;
  }

  static json columns(const ColumnList& columns) {
    if (!columns) return "*";
    return json(std::vector<std::string>(columns->begin(), columns->end()));
  }

  json presets(const std::map<std::string, Operand, std::less<>>& presets) const {
    json object = json::object();
    for (const auto& [column, value] : presets)
      object[column] = operand(value);
    return object;
  }

  json role(const RolePermissions& role) const {
    json object = json::object();
    if (role.select) {
      object["select"] = {{"filter", filter(role.select->filter)},
                          {"columns", columns(role.select->columns)}};
    }
    if (role.insert) {
      object["insert"] = {{"check", filter(role.insert->check)},
                          {"columns", columns(role.insert->columns)},
                          {"presets", presets(role.insert->presets)}};
    }
    if (role.update) {
      object["update"] = {{"filter", filter(role.update->filter)},
                          {"check", filter(role.update->check)},
                          {"columns", columns(role.update->columns)},
                          {"presets", presets(role.update->presets)}};
    }
    if (role.remove) object["delete"] = {{"filter", filter(role.remove->filter)}};
    return object;
  }

 private:
  const auth::Claims* m_reader;
};

json membership_json(const MembershipDecl& declared, const auth::Claims* reader) {
  json object = {
      {"table", declared.table}, {"key", declared.key_column}, {"member", declared.member_column}};
  object["claim"] = reader ? claim_json(*reader, declared.claim) : json(declared.claim);
  return object;
}

// The memberships `expr` reads, by name.
void collect_memberships(const FilterExpr& expr, std::set<std::string>& names) {
  if (expr.kind == FilterExpr::Kind::in_membership) names.insert(expr.membership);
  for (const auto& nested : expr.operands)
    collect_memberships(nested, names);
}

std::string short_sha256(const std::string& text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < 8; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace

std::string view_digest(const RuleSet& rules, const auth::Claims& reader) {
  Canonical canonical(&reader);
  json tables = json::object();
  std::set<std::string> named;
  for (const auto& [table, roles] : rules.tables) {
    auto role = roles.find(reader.role_name);
    if (role == roles.end() || !role->second.select) continue;
    const auto& select = *role->second.select;
    tables[table] = {{"filter", canonical.filter(select.filter)},
                     {"columns", Canonical::columns(select.columns)}};
    collect_memberships(select.filter, named);
  }
  // The memberships the reader's filters name, with their member value: a change to another
  // declaration leaves this reader's view as it was.
  json memberships = json::object();
  for (const auto& name : named) {
    auto declared = rules.memberships.find(name);
    memberships[name] = declared == rules.memberships.end()
                            ? json(nullptr)
                            : membership_json(declared->second, &reader);
  }
  json view = {{"version", rules.version},
               {"tables", std::move(tables)},
               {"memberships", std::move(memberships)}};
  return short_sha256(view.dump());
}

std::string rules_digest(const RuleSet& rules) {
  Canonical canonical(nullptr);
  json tables = json::object();
  for (const auto& [table, roles] : rules.tables) {
    json by_role = json::object();
    for (const auto& [role, permissions] : roles)
      by_role[role] = canonical.role(permissions);
    tables[table] = std::move(by_role);
  }
  json memberships = json::object();
  for (const auto& [name, declared] : rules.memberships)
    memberships[name] = membership_json(declared, nullptr);
  json all = {{"version", rules.version},
              {"tables", std::move(tables)},
              {"memberships", std::move(memberships)}};
  return short_sha256(all.dump());
}

}  // namespace tandem::rules
