#include "storage/mysql/mysql_filter_sql.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "common/identifier.h"
#include "storage/filter_sql.h"

namespace tandem::storage::mysql {
namespace {

// Whether `a op b` holds for a finite a and b = +infinity (or -infinity): MySQL stores no
// infinity and takes none as a parameter.
bool holds_against_infinity(RowFilter::Op op, bool positive) {
  switch (op) {
    case RowFilter::Op::ne:
      return true;
    case RowFilter::Op::lt:
    case RowFilter::Op::le:
      return positive;
    case RowFilter::Op::gt:
    case RowFilter::Op::ge:
      return !positive;
    case RowFilter::Op::eq:
      return false;
  }
  return false;
}

bool starts_with_any(std::string_view text, std::initializer_list<std::string_view> prefixes) {
  for (auto prefix : prefixes) {
    if (text.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// mysql_rows.cpp's datetime_text in SQL: 'YYYY-MM-DD HH:MM:SS[.ffffff]' -> a T for the space,
// the fraction without trailing zeros (and without its point when nothing is left).
std::string wire_datetime_sql(const std::string& text) {
  return fmt::format(
      "INSERT(IF(LOCATE('.', {0}) > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {0})), {0}), "
      "11, 1, 'T')",
      text);
}

constexpr const char* kInt64Max = "9223372036854775807";

class MysqlFilterDialect final : public FilterDialect {
 public:
  MysqlFilterDialect(const MysqlTable& table, const MysqlMembershipLookup& membership_table,
                     Params& params)
      : m_table(table), m_membership_table(membership_table), m_params(params) {}

  bool has_column(FilterTable table, const std::string& column) const override {
    return mysql_table(table).schema.has_column(column);
  }

  // Dates as text: `date_column IS NULL` also matches '0000-00-00' in a NOT NULL column.
  std::string column(FilterTable table, const std::string& name) const override {
    auto ref = reference(table, name);
    switch (mysql_table(table).kind_of(name)) {
      case MysqlKind::date:
      case MysqlKind::datetime:
      case MysqlKind::timestamp:
        return fmt::format("CAST({} AS CHAR)", ref);
      default:
        return ref;
    }
  }

  std::optional<std::string> column_as(FilterTable table, const std::string& name,
                                       Value::Kind kind) override {
    auto ref = reference(table, name);
    auto text = kind == Value::Kind::text;
    switch (mysql_table(table).kind_of(name)) {
      case MysqlKind::integer:
      case MysqlKind::boolean:
        if (kind == Value::Kind::integer) return ref;
        return std::nullopt;
      case MysqlKind::year:
        // As a number: compared with a YEAR, 24 would be read as the year 2024.
        if (kind == Value::Kind::integer) return fmt::format("CAST({} AS SIGNED)", ref);
        return std::nullopt;
      case MysqlKind::big_unsigned:
      case MysqlKind::bit: {
        // An integer within int64's range, the exact digits beyond it (mysql_rows.cpp).
        auto number = fmt::format("CAST({} AS UNSIGNED)", ref);
        if (kind == Value::Kind::integer)
          return fmt::format("(CASE WHEN {0} <= {1} THEN CAST({0} AS SIGNED) END)", number,
                             kInt64Max);
        if (text)
          return fmt::format("(CASE WHEN {0} > {1} THEN CAST({0} AS CHAR) END)", number, kInt64Max);
        return std::nullopt;
      }
      case MysqlKind::real:
        if (kind != Value::Kind::real) return std::nullopt;
        // A FLOAT reads back as the double its shortest text spells (0.1), not widened.
        if (starts_with_any(declared_type(table, name), {"float"}))
          return fmt::format("CAST(CAST({} AS CHAR) AS DOUBLE)", ref);
        return ref;
      case MysqlKind::decimal:
      case MysqlKind::json:
      case MysqlKind::date:
        if (text) return fmt::format("CAST({} AS CHAR)", ref);
        return std::nullopt;
      case MysqlKind::text:
        if (text) return fmt::format("CONVERT({} USING utf8mb4)", ref);
        return std::nullopt;
      case MysqlKind::geometry:
        if (text) return fmt::format("ST_AsText({})", ref);
        return std::nullopt;
      case MysqlKind::datetime:
        if (text) return wire_datetime_sql(fmt::format("CAST({} AS CHAR)", ref));
        return std::nullopt;
      case MysqlKind::timestamp:
        // As mysql_rows.cpp reads it: through UNIX_TIMESTAMP, in UTC (the session's zone).
        if (text) {
          return fmt::format("CONCAT({}, 'Z')",
                             wire_datetime_sql(fmt::format(
                                 "CAST(FROM_UNIXTIME(UNIX_TIMESTAMP({})) AS CHAR)", ref)));
        }
        return std::nullopt;
      case MysqlKind::blob:
        if (kind == Value::Kind::blob) return ref;
        return std::nullopt;
    }
    return std::nullopt;
  }

  std::string compare(const std::string& left, RowFilter::Op op, const Value& value) override {
    switch (value.kind()) {
      case Value::Kind::integer:
        return fmt::format("({} {} {})", left, sql_operator(op), bind(value));
      case Value::Kind::real:
        if (std::isinf(value.as_real())) {
          return fmt::format("(CASE WHEN {} IS NOT NULL THEN {} END)", left,
                             holds_against_infinity(op, value.as_real() > 0) ? "TRUE" : "FALSE");
        }
        return fmt::format("({} {} {})", left, sql_operator(op), bind(value));
      case Value::Kind::text:
      case Value::Kind::blob:
        return fmt::format("(CAST({} AS BINARY) {} CAST({} AS BINARY))", left, sql_operator(op),
                           bind(value));
      case Value::Kind::null:
        break;
    }
    return "(NULL)";
  }

  std::string equal(const std::string& left, const std::string& right, Value::Kind kind) override {
    if (kind == Value::Kind::text || kind == Value::Kind::blob)
      return fmt::format("(CAST({} AS BINARY) = CAST({} AS BINARY))", left, right);
    return fmt::format("({} = {})", left, right);
  }

  std::string to_real(const std::string& integer) override {
    return fmt::format("CAST({} AS DOUBLE)", integer);
  }

  // The column's own equality, in its collation (which may ignore case and trailing spaces,
  // so only a hint): text columns compared with text.
  std::optional<std::string> equality_hint(FilterTable table, const std::string& name,
                                           const Value& value) override {
    if (value.kind() != Value::Kind::text) return std::nullopt;
    if (mysql_table(table).kind_of(name) != MysqlKind::text) return std::nullopt;
    if (!starts_with_any(declared_type(table, name),
                         {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"})) {
      return std::nullopt;
    }
    return fmt::format("{} = {}", reference(table, name), bind(value));
  }

  std::string open_membership(const std::string& table) override {
    auto described = m_membership_table(table);
    if (!described)
      throw Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", table));
    m_membership = std::move(*described);
    return quote_name(table) + " AS m";
  }

 private:
  const MysqlTable& mysql_table(FilterTable table) const {
    return table == FilterTable::row ? m_table : m_membership;
  }

  static std::string reference(FilterTable table, const std::string& name) {
    return fmt::format("{}.{}", table == FilterTable::row ? "t" : "m", quote_name(name));
  }

  std::string declared_type(FilterTable table, const std::string& name) const {
    const auto* column = mysql_table(table).schema.column(name);
    return column ? column->declared_type : std::string();
  }

  std::string bind(const Value& value) {
    m_params.push_back(value);
    return "?";
  }

  const MysqlTable& m_table;
  const MysqlMembershipLookup& m_membership_table;
  Params& m_params;
  MysqlTable m_membership;
};

}  // namespace

std::string mysql_filter_sql(const RowFilter& filter, const MysqlTable& table,
                             const MysqlMembershipLookup& membership_table, Params& params) {
  MysqlFilterDialect dialect(table, membership_table, params);
  return filter_sql(filter, dialect);
}

}  // namespace tandem::storage::mysql
