#include "rules/filter_resolution.h"

#include <fmt/format.h>

#include "rules/access_rules.h"

namespace tandem::rules {
namespace {

bool numeric(const Value& value) {
  return value.kind() == Value::Kind::integer || value.kind() == Value::Kind::real;
}

Error unusable(const TableSchema& table, const std::string& what) {
  return Error(ErrorCode::invalid_identifier,
               fmt::format("a rule of table '{}' cannot be applied: {}", table.name, what));
}

class Resolver {
 public:
  Resolver(const RuleSet& rules, const auth::Claims& reader, const TableSchema& table,
           const SchemaLookup& schema_of)
      : m_rules(rules), m_reader(reader), m_table(table), m_schema_of(schema_of) {}

  Result<RowFilter> resolve(const FilterExpr& filter) const {
    switch (filter.kind) {
      case FilterExpr::Kind::always:
        return RowFilter::always();
      case FilterExpr::Kind::all_of:
      case FilterExpr::Kind::any_of:
      case FilterExpr::Kind::negation:
        return combine(filter);
      case FilterExpr::Kind::compare:
      case FilterExpr::Kind::is_null:
      case FilterExpr::Kind::in_list:
      case FilterExpr::Kind::in_membership:
        return leaf(filter);
    }
    return unusable(m_table, "an unknown kind of filter");
  }

 private:
  Result<RowFilter> combine(const FilterExpr& filter) const {
    std::vector<RowFilter> operands;
    for (const auto& operand : filter.operands) {
      auto resolved = resolve(operand);
      if (!resolved) return resolved.error();
      operands.push_back(std::move(*resolved));
    }
    if (filter.kind == FilterExpr::Kind::negation)
      return RowFilter::negation(std::move(operands.at(0)));
    if (filter.kind == FilterExpr::Kind::all_of) return RowFilter::all_of(std::move(operands));
    return RowFilter::any_of(std::move(operands));
  }

  Result<RowFilter> leaf(const FilterExpr& filter) const {
    const auto* column = m_table.column(filter.column);
    if (!column) return unusable(m_table, fmt::format("it has no column '{}'", filter.column));
    switch (filter.kind) {
      case FilterExpr::Kind::compare:
        return RowFilter::compare(filter.column, filter.op,
                                  resolve_operand(filter.operand, m_reader, column->type));
      case FilterExpr::Kind::is_null:
        return RowFilter::is_null(filter.column, filter.expect_null);
      case FilterExpr::Kind::in_list:
        return RowFilter::in_values(filter.column, list(filter, column->type));
      default:
        return membership(filter);
    }
  }

  std::vector<Value> list(const FilterExpr& filter, ColumnType type) const {
    std::vector<Value> values;
    if (filter.list_from_claim) {
      auto claim = find_claim(m_reader, std::get<ClaimRef>(filter.operand).name);
      if (claim) {
        for (const auto& item : claim->items)
          values.push_back(value_for_column(item, type));
      }
      return values;
    }
    for (const auto& operand : filter.list)
      values.push_back(resolve_operand(operand, m_reader, type));
    return values;
  }

  Result<RowFilter> membership(const FilterExpr& filter) const {
    const auto& declared = m_rules.memberships.at(filter.membership);
    const auto* members = m_schema_of(declared.table);
    if (!members) {
      return unusable(m_table, fmt::format("membership table '{}' is not tracked", declared.table));
    }
    const auto* key = members->column(declared.key_column);
    const auto* member = members->column(declared.member_column);
    if (!key || !member) {
      return unusable(m_table,
                      fmt::format("membership table '{}' has no column '{}'", declared.table,
                                  key ? declared.member_column : declared.key_column));
    }
    auto value = resolve_operand(ClaimRef{declared.claim}, m_reader, member->type);
    return RowFilter::in_membership(
        filter.column,
        RowFilter::Membership{declared.table, declared.key_column, declared.member_column, value});
  }

  const RuleSet& m_rules;
  const auth::Claims& m_reader;
  const TableSchema& m_table;
  const SchemaLookup& m_schema_of;
};

}  // namespace

Value value_for_column(const Value& value, ColumnType type) {
  if (value.is_null()) return Value{};
  switch (type) {
    case ColumnType::integer:
      if (value.kind() == Value::Kind::text) return owner_value(value.as_text(), type);
      return numeric(value) ? value : Value{};
    case ColumnType::real:
      return numeric(value) ? value : Value{};
    case ColumnType::numeric:
      // Decimals read back as their exact text ("7.50"): a rule compares them as that text.
      return value.kind() == Value::Kind::text ? value : Value{};
    case ColumnType::boolean:
      return value.kind() == Value::Kind::integer ? value : Value{};
    case ColumnType::text:
      if (value.kind() == Value::Kind::integer) return Value(fmt::format("{}", value.as_integer()));
      return value.kind() == Value::Kind::text ? value : Value{};
    case ColumnType::uuid:
      return value.kind() == Value::Kind::text ? owner_value(value.as_text(), type) : Value{};
    case ColumnType::blob:
      return value.kind() == Value::Kind::blob ? value : Value{};
    case ColumnType::json:
    case ColumnType::timestamp:
    case ColumnType::date:
      return value.kind() == Value::Kind::text ? value : Value{};
    case ColumnType::any:
      return value;
  }
  return Value{};
}

std::optional<auth::ClaimValue> find_claim(const auth::Claims& reader, std::string_view name) {
  if (name == "sub") return auth::ClaimValue{{reader.subject}, false};
  auto it = reader.values.find(name);
  if (it == reader.values.end()) return std::nullopt;
  return it->second;
}

Value resolve_operand(const Operand& operand, const auth::Claims& reader, ColumnType type) {
  if (const auto* constant = std::get_if<Value>(&operand)) return value_for_column(*constant, type);
  auto claim = find_claim(reader, std::get<ClaimRef>(operand).name);
  if (!claim || claim->is_list || claim->items.size() != 1) return Value{};
  return value_for_column(claim->items.front(), type);
}

Result<RowFilter> resolve_filter(const FilterExpr& filter, const RuleSet& rules,
                                 const auth::Claims& reader, const TableSchema& table,
                                 const SchemaLookup& schema_of) {
  return Resolver(rules, reader, table, schema_of).resolve(filter);
}

}  // namespace tandem::rules
