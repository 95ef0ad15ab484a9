#include "rules/rules_file.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/identifier.h"

namespace tandem::rules {
namespace {

// Thrown inside the parser only; parse_rules turns it into a config_invalid Error.
struct Refusal {
  std::string path;
  std::string message;
};

[[noreturn]] void refuse(const std::string& path, std::string message) {
  throw Refusal{path, std::move(message)};
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

const toml::table& as_table(const toml::node& node, const std::string& path) {
  const auto* table = node.as_table();
  if (!table) refuse(path, "expected a table ({ ... })");
  return *table;
}

std::string as_name(const toml::node& node, const std::string& path, std::string_view what) {
  auto text = node.value<std::string>();
  if (!text) refuse(path, fmt::format("expected a {} name (a string)", what));
  if (!is_valid_identifier(*text))
    refuse(path, fmt::format("'{}' is not a valid {} name", *text, what));
  return *text;
}

void check_keys(const toml::table& table, const std::string& path,
                std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : table) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
      refuse(join(path, key.str()),
             fmt::format("unknown key (expected one of: {})", fmt::join(allowed, ", ")));
    }
  }
}

Operand parse_operand(const toml::node& node, const std::string& path) {
  if (const auto* table = node.as_table()) {
    check_keys(*table, path, {"_claim"});
    const auto* claim = table->get("_claim");
    if (!claim) refuse(path, "expected a value or { _claim = \"name\" }");
    auto name = claim->value<std::string>();
    if (!name || name->empty()) refuse(join(path, "_claim"), "expected a claim name");
    return ClaimRef{*name};
  }
  if (auto text = node.value_exact<std::string>()) return Value(*text);
  if (auto number = node.value_exact<std::int64_t>()) return Value(*number);
  if (auto real = node.value_exact<double>()) return Value(*real);
  // Booleans are stored as integers on every datasource (SQLite has no other form).
  if (auto flag = node.value_exact<bool>()) return Value(std::int64_t{*flag ? 1 : 0});
  refuse(path, "expected a string, a number, a boolean or { _claim = \"name\" }");
}

std::vector<Operand> parse_list(const toml::node& node, const std::string& path) {
  const auto* array = node.as_array();
  if (!array) refuse(path, "expected a list [ ... ] or { _claim = \"name\" }");
  std::vector<Operand> list;
  for (std::size_t i = 0; i < array->size(); ++i)
    list.push_back(parse_operand(*array->get(i), fmt::format("{}[{}]", path, i)));
  return list;
}

std::optional<RowFilter::Op> comparison(std::string_view name) {
  if (name == "_eq") return RowFilter::Op::eq;
  if (name == "_neq") return RowFilter::Op::ne;
  if (name == "_lt") return RowFilter::Op::lt;
  if (name == "_lte") return RowFilter::Op::le;
  if (name == "_gt") return RowFilter::Op::gt;
  if (name == "_gte") return RowFilter::Op::ge;
  return std::nullopt;
}

FilterExpr in_list(const std::string& column, const toml::node& node, const std::string& path) {
  FilterExpr expr;
  expr.kind = FilterExpr::Kind::in_list;
  expr.column = column;
  if (node.is_table()) {
    auto operand = parse_operand(node, path);
    expr.operand = operand;
    expr.list_from_claim = true;
  } else {
    expr.list = parse_list(node, path);
  }
  return expr;
}

FilterExpr negation(FilterExpr operand) {
  FilterExpr expr;
  expr.kind = FilterExpr::Kind::negation;
  expr.operands.push_back(std::move(operand));
  return expr;
}

FilterExpr all_of(std::vector<FilterExpr> operands) {
  if (operands.size() == 1) return std::move(operands.front());
  FilterExpr expr;
  if (!operands.empty()) expr.kind = FilterExpr::Kind::all_of;
  expr.operands = std::move(operands);
  return expr;
}

class FilterParser {
 public:
  explicit FilterParser(const RuleSet& rules) : m_rules(rules) {}

  FilterExpr parse(const toml::node& node, const std::string& path) const {
    const auto& table = as_table(node, path);
    std::vector<FilterExpr> conditions;
    for (const auto& [key, value] : table) {
      auto here = join(path, key.str());
      if (key.str() == "_and" || key.str() == "_or") {
        conditions.push_back(combine(key.str(), value, here));
      } else if (key.str() == "_not") {
        conditions.push_back(negation(parse(value, here)));
      } else {
        if (!is_valid_identifier(key.str())) refuse(here, "not a column name or _and, _or, _not");
        conditions.push_back(column_condition(std::string(key.str()), value, here));
      }
    }
    return all_of(std::move(conditions));  // {} passes every row; several keys: all of them
  }

 private:
  FilterExpr combine(std::string_view op, const toml::node& node, const std::string& path) const {
    const auto* array = node.as_array();
    if (!array) refuse(path, "expected a list of filters [ { ... }, ... ]");
    FilterExpr expr;
    expr.kind = op == "_and" ? FilterExpr::Kind::all_of : FilterExpr::Kind::any_of;
    for (std::size_t i = 0; i < array->size(); ++i)
      expr.operands.push_back(parse(*array->get(i), fmt::format("{}[{}]", path, i)));
    return expr;
  }

  FilterExpr column_condition(const std::string& column, const toml::node& node,
                              const std::string& path) const {
    const auto& operators = as_table(node, path);
    if (operators.empty()) refuse(path, "expected operators such as { _eq = ... }");
    std::vector<FilterExpr> conditions;
    for (const auto& [name, operand] : operators) {
      conditions.push_back(one_operator(column, name.str(), operand, join(path, name.str())));
    }
    return all_of(std::move(conditions));
  }

  FilterExpr one_operator(const std::string& column, std::string_view name,
                          const toml::node& operand, const std::string& path) const {
    FilterExpr expr;
    expr.column = column;
    if (auto op = comparison(name)) {
      expr.kind = FilterExpr::Kind::compare;
      expr.op = *op;
      expr.operand = parse_operand(operand, path);
      return expr;
    }
    if (name == "_in") return in_list(column, operand, path);
    if (name == "_nin") return negation(in_list(column, operand, path));
    if (name == "_is_null") {
      auto flag = operand.value_exact<bool>();
      if (!flag) refuse(path, "expected true or false");
      expr.kind = FilterExpr::Kind::is_null;
      expr.expect_null = *flag;
      return expr;
    }
    if (name == "_in_membership") {
      auto membership = operand.value<std::string>();
      if (!membership) refuse(path, "expected the name of a membership declared in [memberships]");
      if (!m_rules.memberships.contains(*membership))
        refuse(path, fmt::format("no membership named '{}' in [memberships]", *membership));
      expr.kind = FilterExpr::Kind::in_membership;
      expr.membership = *membership;
      return expr;
    }
    refuse(path, fmt::format("unknown operator {} (expected _eq, _neq, _lt, _lte, _gt, _gte, _in, "
                             "_nin, _is_null or _in_membership)",
                             name));
  }

  const RuleSet& m_rules;
};

ColumnList parse_columns(const toml::node* node, const std::string& path) {
  if (!node) return std::nullopt;
  if (node->value<std::string>() == "*") return std::nullopt;
  const auto* array = node->as_array();
  if (!array) refuse(path, "expected \"*\" or a list of column names");
  std::set<std::string, std::less<>> columns;
  for (std::size_t i = 0; i < array->size(); ++i)
    columns.insert(as_name(*array->get(i), fmt::format("{}[{}]", path, i), "column"));
  return columns;
}

std::map<std::string, Operand, std::less<>> parse_presets(const toml::node* node,
                                                          const std::string& path) {
  std::map<std::string, Operand, std::less<>> presets;
  if (!node) return presets;
  for (const auto& [column, value] : as_table(*node, path)) {
    auto here = join(path, column.str());
    if (!is_valid_identifier(column.str())) refuse(here, "not a valid column name");
    presets.emplace(std::string(column.str()), parse_operand(value, here));
  }
  return presets;
}

FilterExpr optional_filter(const FilterParser& parser, const toml::table& table,
                           std::string_view key, const std::string& path) {
  const auto* node = table.get(key);
  return node ? parser.parse(*node, join(path, key)) : FilterExpr{};
}

RolePermissions parse_role(const FilterParser& parser, const toml::table& table,
                           const std::string& path) {
  check_keys(table, path, {"select", "insert", "update", "delete"});
  RolePermissions role;
  if (const auto* node = table.get("select")) {
    auto here = join(path, "select");
    const auto& select = as_table(*node, here);
    check_keys(select, here, {"filter", "columns"});
    role.select = SelectPermission{optional_filter(parser, select, "filter", here),
                                   parse_columns(select.get("columns"), join(here, "columns"))};
  }
  if (const auto* node = table.get("insert")) {
    auto here = join(path, "insert");
    const auto& insert = as_table(*node, here);
    check_keys(insert, here, {"check", "columns", "presets"});
    role.insert = InsertPermission{optional_filter(parser, insert, "check", here),
                                   parse_columns(insert.get("columns"), join(here, "columns")),
                                   parse_presets(insert.get("presets"), join(here, "presets"))};
  }
  if (const auto* node = table.get("update")) {
    auto here = join(path, "update");
    const auto& update = as_table(*node, here);
    check_keys(update, here, {"filter", "check", "columns", "presets"});
    role.update = UpdatePermission{optional_filter(parser, update, "filter", here),
                                   optional_filter(parser, update, "check", here),
                                   parse_columns(update.get("columns"), join(here, "columns")),
                                   parse_presets(update.get("presets"), join(here, "presets"))};
  }
  if (const auto* node = table.get("delete")) {
    auto here = join(path, "delete");
    const auto& remove = as_table(*node, here);
    check_keys(remove, here, {"filter"});
    role.remove = DeletePermission{optional_filter(parser, remove, "filter", here)};
  }
  return role;
}

MembershipDecl parse_membership(std::string_view name, const toml::table& table,
                                const std::string& path) {
  check_keys(table, path, {"table", "key", "member", "claim"});
  MembershipDecl membership;
  membership.table = table.get("table") ? as_name(*table.get("table"), join(path, "table"), "table")
                                        : std::string(name);
  if (!is_valid_identifier(membership.table))
    refuse(path, fmt::format("'{}' is not a valid table name; give table = \"...\"", name));
  if (!table.get("key")) refuse(path, "missing key = \"<column holding the group's id>\"");
  if (!table.get("member")) refuse(path, "missing member = \"<column holding the member>\"");
  membership.key_column = as_name(*table.get("key"), join(path, "key"), "column");
  membership.member_column = as_name(*table.get("member"), join(path, "member"), "column");
  if (const auto* claim = table.get("claim")) {
    auto text = claim->value<std::string>();
    if (!text || text->empty()) refuse(join(path, "claim"), "expected a claim name");
    membership.claim = *text;
  }
  return membership;
}

RuleSet parse_document(const toml::table& document) {
  check_keys(document, "", {"version", "memberships", "tables"});
  RuleSet rules;
  if (const auto* version = document.get("version")) {
    auto number = version->value_exact<std::int64_t>();
    if (number != RuleSet::kFormatVersion) {
      refuse("version",
             fmt::format("this server reads rules format version {}", RuleSet::kFormatVersion));
    }
  }
  if (const auto* memberships = document.get("memberships")) {
    for (const auto& [name, node] : as_table(*memberships, "memberships")) {
      auto path = join("memberships", name.str());
      rules.memberships.emplace(std::string(name.str()),
                                parse_membership(name.str(), as_table(node, path), path));
    }
  }
  FilterParser parser(rules);
  if (const auto* tables = document.get("tables")) {
    for (const auto& [table_name, roles] : as_table(*tables, "tables")) {
      auto table_path = join("tables", table_name.str());
      if (!is_valid_identifier(table_name.str())) refuse(table_path, "not a valid table name");
      auto& table = rules.tables[std::string(table_name.str())];
      for (const auto& [role_name, role] : as_table(roles, table_path)) {
        auto role_path = join(table_path, role_name.str());
        if (role_name.str() == "admin") {
          refuse(role_path, "admins read and write every table; rules are for other roles");
        }
        if (!is_valid_identifier(role_name.str())) refuse(role_path, "not a valid role name");
        table.emplace(std::string(role_name.str()),
                      parse_role(parser, as_table(role, role_path), role_path));
      }
    }
  }
  return rules;
}

}  // namespace

Result<RuleSet> parse_rules(std::string_view toml_text, std::string_view source) {
  toml::table document;
  try {
    document = toml::parse(toml_text, source);
  } catch (const toml::parse_error& error) {
    return Error(ErrorCode::config_invalid,
                 fmt::format("{}:{}:{}: {}", source, error.source().begin.line,
                             error.source().begin.column, error.description()));
  }
  try {
    return parse_document(document);
  } catch (const Refusal& refusal) {
    return Error(ErrorCode::config_invalid,
                 fmt::format("{}: {}: {}", source, refusal.path.empty() ? "(top)" : refusal.path,
                             refusal.message));
  }
}

Result<RuleSet> read_rules_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return Error(ErrorCode::config_invalid, fmt::format("cannot read rules file '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  return parse_rules(text.str(), path);
}

}  // namespace tandem::rules
