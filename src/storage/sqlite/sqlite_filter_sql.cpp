#include "storage/sqlite/sqlite_filter_sql.h"

#include <fmt/format.h>

#include <optional>

#include "common/identifier.h"
#include "storage/filter_sql.h"
#include "storage/sqlite/sqlite_schema.h"

namespace tandem::storage::sqlite {
namespace {

std::string_view type_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::integer:
      return "integer";
    case Value::Kind::real:
      return "real";
    case Value::Kind::text:
      return "text";
    case Value::Kind::blob:
      return "blob";
    case Value::Kind::null:
      break;
  }
  return "null";
}

class SqliteFilterDialect final : public FilterDialect {
 public:
  SqliteFilterDialect(const TableSchema& table, SqliteConnection& connection, int first_param)
      : m_table(table), m_connection(connection), m_first_param(first_param) {}

  bool has_column(FilterTable table, const std::string& column) const override {
    return schema(table).has_column(column);
  }

  std::string column(FilterTable table, const std::string& column) const override {
    return fmt::format("{}.{}", table == FilterTable::row ? "t" : "m", quote_identifier(column));
  }

  // Unary plus: an expression, not a column, so it has no affinity; SQLite then converts
  // neither operand of a comparison.
  std::optional<std::string> column_as(FilterTable table, const std::string& name,
                                       Value::Kind kind) override {
    auto ref = column(table, name);
    return fmt::format("(CASE WHEN typeof({0}) = '{1}' THEN +{0} END)", ref, type_name(kind));
  }

  std::string compare(const std::string& left, RowFilter::Op op, const Value& value) override {
    auto placeholder = bind(value);
    if (value.kind() == Value::Kind::text)
      return fmt::format("({} {} {} COLLATE BINARY)", left, sql_operator(op), placeholder);
    return fmt::format("({} {} {})", left, sql_operator(op), placeholder);
  }

  std::string equal(const std::string& left, const std::string& right, Value::Kind kind) override {
    if (kind == Value::Kind::text) return fmt::format("({} = {} COLLATE BINARY)", left, right);
    return fmt::format("({} = {})", left, right);
  }

  std::string to_real(const std::string& integer) override {
    return fmt::format("CAST({} AS REAL)", integer);
  }

  // The plain comparison keeps an index on the column usable. Exact equality implies it:
  // affinity converts text that reads as a number, and a column with numeric affinity stores
  // no such text (it converted it when it stored it); a TEXT column stores no numbers.
  std::optional<std::string> equality_hint(FilterTable table, const std::string& name,
                                           const Value& value) override {
    auto placeholder = bind(value);
    return fmt::format("{} = {} COLLATE BINARY", column(table, name), placeholder);
  }

  std::string open_membership(const std::string& table) override {
    auto described = introspect_columns(m_connection, table);
    if (!described) throw described.error();
    m_membership = std::move(*described);
    return quote_identifier(table) + " AS m";
  }

  std::vector<Value> take_params() { return std::move(m_params); }

 private:
  const TableSchema& schema(FilterTable table) const {
    return table == FilterTable::row ? m_table : m_membership;
  }

  std::string bind(const Value& value) {
    m_params.push_back(value);
    return fmt::format("?{}", m_first_param + static_cast<int>(m_params.size()) - 1);
  }

  const TableSchema& m_table;
  SqliteConnection& m_connection;
  int m_first_param;
  TableSchema m_membership;
  std::vector<Value> m_params;
};

}  // namespace

SqliteFilterSql sqlite_filter_sql(const RowFilter& filter, const TableSchema& table,
                                  SqliteConnection& connection, int first_param) {
  SqliteFilterDialect dialect(table, connection, first_param);
  auto condition = filter_sql(filter, dialect);
  return SqliteFilterSql{std::move(condition), dialect.take_params()};
}

}  // namespace tandem::storage::sqlite
