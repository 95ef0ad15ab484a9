#include "common/row_filter.h"

#include <algorithm>
#include <compare>

#include "common/error.h"

namespace tandem {
namespace {

Truth from_bool(bool value) {
  return value ? Truth::yes : Truth::no;
}

// Kleene logic: no dominates an and, yes dominates an or, unknown otherwise propagates.
Truth all_of(const std::vector<RowFilter>& operands, const Row& row,
             const MembershipLookup* memberships) {
  Truth result = Truth::yes;
  for (const auto& operand : operands) {
    auto truth = evaluate(operand, row, memberships);
    if (truth == Truth::no) return Truth::no;
    if (truth == Truth::unknown) result = Truth::unknown;
  }
  return result;
}

Truth any_of(const std::vector<RowFilter>& operands, const Row& row,
             const MembershipLookup* memberships) {
  Truth result = Truth::no;
  for (const auto& operand : operands) {
    auto truth = evaluate(operand, row, memberships);
    if (truth == Truth::yes) return Truth::yes;
    if (truth == Truth::unknown) result = Truth::unknown;
  }
  return result;
}

Truth negate(Truth truth) {
  if (truth == Truth::unknown) return Truth::unknown;
  return truth == Truth::yes ? Truth::no : Truth::yes;
}

const Value kAbsent;  // what a column missing from a row reads as: NULL

const Value& column_value(const Row& row, const std::string& column) {
  auto it = row.find(column);
  return it == row.end() ? kAbsent : it->second;
}

bool numeric(const Value& value) {
  return value.kind() == Value::Kind::integer || value.kind() == Value::Kind::real;
}

Truth in_values(const Value& value, const std::vector<Value>& values) {
  // SQL: true if any element equals, else unknown if any comparison was unknown, else false.
  Truth result = Truth::no;
  for (const auto& candidate : values) {
    auto equal = compare_values(value, RowFilter::Op::eq, candidate);
    if (equal == Truth::yes) return Truth::yes;
    if (equal == Truth::unknown) result = Truth::unknown;
  }
  return result;
}

void collect_columns(const RowFilter& filter, std::vector<std::string>& columns) {
  if (!filter.column().empty() &&
      std::find(columns.begin(), columns.end(), filter.column()) == columns.end()) {
    columns.push_back(filter.column());
  }
  for (const auto& operand : filter.operands())
    collect_columns(operand, columns);
}

void collect_memberships(const RowFilter& filter, std::vector<RowFilter::Membership>& found) {
  if (filter.kind() == RowFilter::Kind::in_membership &&
      std::find(found.begin(), found.end(), filter.membership()) == found.end()) {
    found.push_back(filter.membership());
  }
  for (const auto& operand : filter.operands())
    collect_memberships(operand, found);
}

}  // namespace

RowFilter RowFilter::always() {
  return RowFilter{};
}

RowFilter RowFilter::never() {
  RowFilter filter;
  filter.m_kind = Kind::never;
  return filter;
}

RowFilter RowFilter::all_of(std::vector<RowFilter> operands) {
  if (operands.size() == 1) return std::move(operands.front());
  if (operands.empty()) return always();
  RowFilter filter;
  filter.m_kind = Kind::all_of;
  filter.m_operands = std::move(operands);
  return filter;
}

RowFilter RowFilter::any_of(std::vector<RowFilter> operands) {
  if (operands.size() == 1) return std::move(operands.front());
  if (operands.empty()) return never();
  RowFilter filter;
  filter.m_kind = Kind::any_of;
  filter.m_operands = std::move(operands);
  return filter;
}

RowFilter RowFilter::negation(RowFilter operand) {
  RowFilter filter;
  filter.m_kind = Kind::negation;
  filter.m_operands.push_back(std::move(operand));
  return filter;
}

RowFilter RowFilter::compare(std::string column, Op op, Value value) {
  RowFilter filter;
  filter.m_kind = Kind::compare;
  filter.m_column = std::move(column);
  filter.m_op = op;
  filter.m_value = std::move(value);
  return filter;
}

RowFilter RowFilter::is_null(std::string column, bool expect_null) {
  RowFilter filter;
  filter.m_kind = Kind::is_null;
  filter.m_column = std::move(column);
  filter.m_expect_null = expect_null;
  return filter;
}

RowFilter RowFilter::in_values(std::string column, std::vector<Value> values) {
  RowFilter filter;
  filter.m_kind = Kind::in_values;
  filter.m_column = std::move(column);
  filter.m_values = std::move(values);
  return filter;
}

RowFilter RowFilter::in_membership(std::string column, Membership membership) {
  RowFilter filter;
  filter.m_kind = Kind::in_membership;
  filter.m_column = std::move(column);
  filter.m_membership = std::move(membership);
  return filter;
}

std::vector<std::string> RowFilter::columns() const {
  std::vector<std::string> found;
  collect_columns(*this, found);
  return found;
}

std::vector<RowFilter::Membership> RowFilter::memberships() const {
  std::vector<Membership> found;
  collect_memberships(*this, found);
  return found;
}

Truth compare_values(const Value& a, RowFilter::Op op, const Value& b) {
  if (a.is_null() || b.is_null()) return Truth::unknown;
  if (a.kind() != b.kind() && !(numeric(a) && numeric(b))) return Truth::unknown;
  auto order = a <=> b;
  if (order == std::partial_ordering::unordered) return Truth::unknown;  // NaN
  switch (op) {
    case RowFilter::Op::eq:
      return from_bool(std::is_eq(order));
    case RowFilter::Op::ne:
      return from_bool(std::is_neq(order));
    case RowFilter::Op::lt:
      return from_bool(std::is_lt(order));
    case RowFilter::Op::le:
      return from_bool(std::is_lteq(order));
    case RowFilter::Op::gt:
      return from_bool(std::is_gt(order));
    case RowFilter::Op::ge:
      return from_bool(std::is_gteq(order));
  }
  return Truth::unknown;
}

Truth evaluate(const RowFilter& filter, const Row& row, const MembershipLookup* memberships) {
  switch (filter.kind()) {
    case RowFilter::Kind::always:
      return Truth::yes;
    case RowFilter::Kind::never:
      return Truth::no;
    case RowFilter::Kind::all_of:
      return all_of(filter.operands(), row, memberships);
    case RowFilter::Kind::any_of:
      return any_of(filter.operands(), row, memberships);
    case RowFilter::Kind::negation:
      return negate(evaluate(filter.operands().front(), row, memberships));
    case RowFilter::Kind::compare:
      return compare_values(column_value(row, filter.column()), filter.op(), filter.value());
    case RowFilter::Kind::is_null:
      return from_bool(column_value(row, filter.column()).is_null() == filter.expect_null());
    case RowFilter::Kind::in_values:
      return in_values(column_value(row, filter.column()), filter.values());
    case RowFilter::Kind::in_membership: {
      if (!memberships) throw Error(ErrorCode::internal, "a membership filter without a lookup");
      const auto& key = column_value(row, filter.column());
      // Compiled as `column IS NOT NULL AND column IN (subquery)`: a NULL key is plainly
      // false (SQL's NULL IN (...) would be unknown, and its negation would differ).
      // A NULL member matches no membership row.
      if (key.is_null()) return Truth::no;
      if (filter.membership().member.is_null()) return Truth::no;
      return from_bool(memberships->contains(filter.membership(), key));
    }
  }
  return Truth::unknown;
}

std::string_view row_filter_op_name(RowFilter::Op op) {
  switch (op) {
    case RowFilter::Op::eq:
      return "_eq";
    case RowFilter::Op::ne:
      return "_neq";
    case RowFilter::Op::lt:
      return "_lt";
    case RowFilter::Op::le:
      return "_lte";
    case RowFilter::Op::gt:
      return "_gt";
    case RowFilter::Op::ge:
      return "_gte";
  }
  return "?";
}

}  // namespace tandem
