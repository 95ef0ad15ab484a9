#include "storage/filter_sql.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <vector>

#include "common/error.h"
#include "common/identifier.h"

namespace tandem::storage {
namespace {

using Op = RowFilter::Op;

// Below 2^53 in magnitude every integer is a double, and an integer and a double compare the
// same exactly or as doubles (evaluate() compares them as doubles).
constexpr double kExactDoubleIntegers = 9007199254740992.0;

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string joined;
  for (const auto& part : parts) {
    if (!joined.empty()) joined += separator;
    joined += part;
  }
  return joined;
}

// Parenthesized: a dialect's NOT may bind tighter or looser than its comparisons.
std::string connect(const std::vector<std::string>& parts, std::string_view connective,
                    std::string_view empty) {
  if (parts.empty()) return std::string(empty);
  if (parts.size() == 1) return parts.front();
  // fmt rather than "(" + std::string: GCC 12 at -O3 warns (-Wrestrict) about the latter.
  return fmt::format("({})", join(parts, connective));
}

bool small_number(const Value& value) {
  if (value.kind() == Value::Kind::integer) {
    auto number = value.as_integer();
    return number > -(1LL << 53) && number < (1LL << 53);
  }
  return value.kind() == Value::Kind::real && std::fabs(value.as_real()) < kExactDoubleIntegers;
}

class Compiler {
 public:
  explicit Compiler(FilterDialect& dialect) : m_dialect(dialect) {}

  // `positive`: no negation (or an even number) above, so that unknown and false lead to the
  // same answer for the whole filter (Kleene's connectives are monotone in truth).
  std::string compile(const RowFilter& filter, bool positive) {
    switch (filter.kind()) {
      case RowFilter::Kind::always:
        return "(TRUE)";
      case RowFilter::Kind::never:
        return "(FALSE)";
      case RowFilter::Kind::all_of:
        return connect(operands(filter, positive), " AND ", "(TRUE)");
      case RowFilter::Kind::any_of:
        return connect(operands(filter, positive), " OR ", "(FALSE)");
      case RowFilter::Kind::negation:
        return "(NOT " + compile(filter.operands().front(), !positive) + ")";
      case RowFilter::Kind::compare:
        return compare(FilterTable::row, filter.column(), filter.op(), filter.value(), positive);
      case RowFilter::Kind::is_null:
        return is_null(filter.column(), filter.expect_null());
      case RowFilter::Kind::in_values: {
        // SQL's IN: true when one element equals, unknown when none does and one is unknown.
        std::vector<std::string> parts;
        parts.reserve(filter.values().size());
        for (const auto& value : filter.values())
          parts.push_back(compare(FilterTable::row, filter.column(), Op::eq, value, positive));
        return connect(parts, " OR ", "(FALSE)");
      }
      case RowFilter::Kind::in_membership:
        return in_membership(filter.column(), filter.membership());
    }
    throw Error(ErrorCode::internal, "a row filter of an unknown kind");
  }

 private:
  std::vector<std::string> operands(const RowFilter& filter, bool positive) {
    std::vector<std::string> parts;
    parts.reserve(filter.operands().size());
    for (const auto& operand : filter.operands())
      parts.push_back(compile(operand, positive));
    return parts;
  }

  std::string compare(FilterTable table, const std::string& column, Op op, const Value& value,
                      bool positive) {
    if (value.is_null() || !m_dialect.has_column(table, column)) return "(NULL)";
    if (value.kind() == Value::Kind::real && std::isnan(value.as_real())) return "(NULL)";
    // Asked first: parameters are bound in the order of the text (MySQL's `?`). Large numbers
    // are left out: there an exact comparison and one of doubles can differ.
    std::optional<std::string> hint;
    if (positive && op == Op::eq &&
        (value.kind() == Value::Kind::text || value.kind() == Value::Kind::blob ||
         small_number(value))) {
      hint = m_dialect.equality_hint(table, column, value);
    }
    // One part per kind the column's value may have; each is NULL unless the value has
    // that kind, so at most one is not NULL.
    std::vector<std::string> parts;
    switch (value.kind()) {
      case Value::Kind::integer: {
        if (auto left = m_dialect.column_as(table, column, Value::Kind::integer))
          parts.push_back(m_dialect.compare(*left, op, value));
        if (auto left = m_dialect.column_as(table, column, Value::Kind::real)) {
          parts.push_back(
              m_dialect.compare(*left, op, Value(static_cast<double>(value.as_integer()))));
        }
        break;
      }
      case Value::Kind::real: {
        if (auto left = m_dialect.column_as(table, column, Value::Kind::integer))
          parts.push_back(m_dialect.compare(m_dialect.to_real(*left), op, value));
        if (auto left = m_dialect.column_as(table, column, Value::Kind::real))
          parts.push_back(m_dialect.compare(*left, op, value));
        break;
      }
      default:
        if (auto left = m_dialect.column_as(table, column, value.kind()))
          parts.push_back(m_dialect.compare(*left, op, value));
        break;
    }
    std::string condition;
    if (parts.empty()) {
      condition = "(NULL)";
    } else if (parts.size() == 1) {
      condition = parts.front();
    } else {
      condition = fmt::format("COALESCE({})", join(parts, ", "));
    }
    return hint ? "(" + *hint + " AND " + condition + ")" : condition;
  }

  std::string is_null(const std::string& column, bool expect_null) {
    if (!m_dialect.has_column(FilterTable::row, column)) return expect_null ? "(TRUE)" : "(FALSE)";
    return fmt::format("({} IS {}NULL)", m_dialect.column(FilterTable::row, column),
                       expect_null ? "" : "NOT ");
  }

  // The column's value equals the membership table's key exactly: one comparison per pair of
  // kinds that compare (integers with integers, any number as doubles, text, blobs).
  std::string key_matches(const std::string& column, const std::string& key) {
    auto as = [&](FilterTable table, const std::string& name, Value::Kind kind) {
      return m_dialect.column_as(table, name, kind);
    };
    std::vector<std::string> parts;
    auto row_integer = as(FilterTable::row, column, Value::Kind::integer);
    auto row_real = as(FilterTable::row, column, Value::Kind::real);
    auto key_integer = as(FilterTable::membership, key, Value::Kind::integer);
    auto key_real = as(FilterTable::membership, key, Value::Kind::real);
    if (row_integer && key_integer)
      parts.push_back(m_dialect.equal(*row_integer, *key_integer, Value::Kind::integer));
    if (row_integer && key_real) {
      parts.push_back(
          m_dialect.equal(m_dialect.to_real(*row_integer), *key_real, Value::Kind::real));
    }
    if (row_real && key_integer) {
      parts.push_back(
          m_dialect.equal(*row_real, m_dialect.to_real(*key_integer), Value::Kind::real));
    }
    if (row_real && key_real)
      parts.push_back(m_dialect.equal(*row_real, *key_real, Value::Kind::real));
    for (auto kind : {Value::Kind::text, Value::Kind::blob}) {
      auto row_value = as(FilterTable::row, column, kind);
      auto key_value = as(FilterTable::membership, key, kind);
      if (row_value && key_value) parts.push_back(m_dialect.equal(*row_value, *key_value, kind));
    }
    return connect(parts, " OR ", "(FALSE)");
  }

  // `column IS NOT NULL AND column IN (SELECT key FROM table WHERE member = ...)`, written as
  // EXISTS: a NULL key in the table then makes no row unknown (evaluate() never answers
  // unknown here), and the key compares exactly rather than in the column's collation.
  std::string in_membership(const std::string& column, const RowFilter::Membership& membership) {
    auto refuse = [](const Status& status) {
      if (!status.ok()) throw status.error();
    };
    refuse(check_identifier(membership.table, "membership table"));
    refuse(check_identifier(membership.key_column, "membership key column"));
    refuse(check_identifier(membership.member_column, "membership member column"));
    if (!m_dialect.has_column(FilterTable::row, column) || membership.member.is_null())
      return "(FALSE)";
    auto from = m_dialect.open_membership(membership.table);
    // A column the membership table lacks reads as NULL: it matches no row.
    if (!m_dialect.has_column(FilterTable::membership, membership.key_column) ||
        !m_dialect.has_column(FilterTable::membership, membership.member_column)) {
      return "(FALSE)";
    }
    auto member = compare(FilterTable::membership, membership.member_column, Op::eq,
                          membership.member, /*positive=*/true);
    auto key = key_matches(column, membership.key_column);
    return "(EXISTS (SELECT 1 FROM " + from + " WHERE " + member + " AND " + key + "))";
  }

  FilterDialect& m_dialect;
};

}  // namespace

std::string_view sql_operator(RowFilter::Op op) {
  switch (op) {
    case RowFilter::Op::eq:
      return "=";
    case RowFilter::Op::ne:
      return "<>";
    case RowFilter::Op::lt:
      return "<";
    case RowFilter::Op::le:
      return "<=";
    case RowFilter::Op::gt:
      return ">";
    case RowFilter::Op::ge:
      return ">=";
  }
  return "=";
}

std::string filter_sql(const RowFilter& filter, FilterDialect& dialect) {
  return Compiler(dialect).compile(filter, /*positive=*/true);
}

namespace {

std::string join_described(const std::vector<RowFilter>& operands, std::string_view separator) {
  std::string text;
  for (const auto& operand : operands) {
    if (!text.empty()) text += separator;
    text += describe_filter(operand);
  }
  return text;
}

}  // namespace

std::string describe_value(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::null:
      return "NULL";
    case Value::Kind::integer:
      return std::to_string(value.as_integer());
    case Value::Kind::real:
      return fmt::format("{}r", value.as_real());
    case Value::Kind::text: {
      std::string text = "'";
      for (char c : value.as_text()) {
        if (c == '\0') {
          text += "\\0";
        } else {
          text += c;
          if (c == '\'') text += '\'';
        }
      }
      return text + "'";
    }
    case Value::Kind::blob: {
      std::string text = "x'";
      for (auto byte : value.as_blob())
        text += fmt::format("{:02x}", byte);
      return text + "'";
    }
  }
  return "?";
}

std::string describe_filter(const RowFilter& filter) {
  switch (filter.kind()) {
    case RowFilter::Kind::always:
      return "TRUE";
    case RowFilter::Kind::never:
      return "FALSE";
    case RowFilter::Kind::all_of:
      return fmt::format("({})", join_described(filter.operands(), " AND "));
    case RowFilter::Kind::any_of:
      return fmt::format("({})", join_described(filter.operands(), " OR "));
    case RowFilter::Kind::negation:
      return fmt::format("NOT {}", describe_filter(filter.operands().front()));
    case RowFilter::Kind::compare:
      return fmt::format("{} {} {}", filter.column(), sql_operator(filter.op()),
                         describe_value(filter.value()));
    case RowFilter::Kind::is_null:
      return filter.column() + (filter.expect_null() ? " IS NULL" : " IS NOT NULL");
    case RowFilter::Kind::in_values: {
      std::string values;
      for (const auto& value : filter.values()) {
        if (!values.empty()) values += ", ";
        values += describe_value(value);
      }
      return fmt::format("{} IN ({})", filter.column(), values);
    }
    case RowFilter::Kind::in_membership: {
      const auto& membership = filter.membership();
      return fmt::format("{} IN (SELECT {} FROM {} WHERE {} = {})", filter.column(),
                         membership.key_column, membership.table, membership.member_column,
                         describe_value(membership.member));
    }
  }
  return "?";
}

}  // namespace tandem::storage
