#include "storage/postgres/pg_filter_sql.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "common/base64.h"
#include "common/identifier.h"
#include "storage/filter_sql.h"
#include "storage/postgres/pg_types.h"

namespace tandem::storage::postgres {
namespace {

// How the value read back from a column is written in SQL (pg_types.h, value_from_pg_text).
enum class Form {
  integer,      // int2, int4, int8: integer
  boolean,      // integer 0 or 1
  float4,       // real, or text for NaN and the infinities
  float8,       // the same
  bytea,        // blob
  date,         // text: the wire form
  timestamp,    // text: the wire form
  timestamptz,  // text: the wire form, in UTC
  array,        // text: a JSON array (not computed in SQL)
  text,         // text: the column's ::text (text types, numeric, uuid, json, enums, others)
};

Form form_of(const PgType& type) {
  if (type.is_array()) return Form::array;
  switch (type.oid) {
    case pg_oid::int2:
    case pg_oid::int4:
    case pg_oid::int8:
      return Form::integer;
    case pg_oid::boolean:
      return Form::boolean;
    case pg_oid::float4:
      return Form::float4;
    case pg_oid::float8:
      return Form::float8;
    case pg_oid::bytea:
      return Form::bytea;
    case pg_oid::date:
      return Form::date;
    case pg_oid::timestamp:
      return Form::timestamp;
    case pg_oid::timestamptz:
      return Form::timestamptz;
    default:
      return Form::text;
  }
}

constexpr const char* kFloatWords = "('NaN', 'Infinity', '-Infinity')";

// The wire year (pg_datetime.h): astronomical numbering (PostgreSQL's extract gives -44 for
// 44 BC, which is -43), four digits within 0..9999, else a sign and at least six digits.
std::string wire_year_sql(const std::string& moment) {
  auto year = fmt::format(
      "(CASE WHEN extract(year FROM {0}) < 0 THEN extract(year FROM {0}) + 1 "
      "ELSE extract(year FROM {0}) END)::bigint",
      moment);
  return fmt::format(
      "(CASE WHEN {0} BETWEEN 0 AND 9999 THEN lpad({0}::text, 4, '0') "
      "ELSE (CASE WHEN {0} < 0 THEN '-' ELSE '+' END) || "
      "lpad(abs({0})::text, greatest(6, length(abs({0})::text)), '0') END)",
      year);
}

// `date`: YYYY-MM-DD; `infinity` and `-infinity` stay words. Outside years 1..9999 the
// month and day come from extract(), which (unlike to_char) takes every date.
std::string wire_date_sql(const std::string& date) {
  return fmt::format(
      "(CASE WHEN NOT isfinite({0}) THEN {0}::text "
      "WHEN {0} >= '0001-01-01' AND {0} < '10000-01-01' THEN to_char({0}, 'YYYY-MM-DD') "
      "ELSE {1} || '-' || lpad(extract(month FROM {0})::int::text, 2, '0') || '-' || "
      "lpad(extract(day FROM {0})::int::text, 2, '0') END)",
      date, wire_year_sql(date));
}

// `timestamp` (without zone): YYYY-MM-DDTHH:MM:SS[.ffffff], the fraction without trailing
// zeros and absent when zero; `suffix` follows finite values.
std::string wire_timestamp_sql(const std::string& moment, std::string_view suffix) {
  return fmt::format(
      "(CASE WHEN NOT isfinite({0}) THEN {0}::text ELSE "
      "(CASE WHEN {0} >= '0001-01-01' AND {0} < '10000-01-01' THEN to_char({0}, 'YYYY') "
      "ELSE {1} END) || to_char({0}, '-MM-DD\"T\"HH24:MI:SS') || "
      "rtrim('.' || rtrim(to_char({0}, 'US'), '0'), '.') || '{2}' END)",
      moment, wire_year_sql(moment), suffix);
}

std::string float_text(double value) {
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", value);
}

class PgFilterDialect final : public FilterDialect {
 public:
  PgFilterDialect(const PgTable& table, const PgMembershipLookup& membership_table, Params& params)
      : m_table(table), m_membership_table(membership_table), m_params(params) {}

  bool has_column(FilterTable table, const std::string& column) const override {
    return pg_table(table).schema.has_column(column);
  }

  std::string column(FilterTable table, const std::string& column) const override {
    return fmt::format("{}.{}", table == FilterTable::row ? "t" : "m", quote_identifier(column));
  }

  std::optional<std::string> column_as(FilterTable table, const std::string& name,
                                       Value::Kind kind) override {
    auto ref = column(table, name);
    switch (form_of(pg_table(table).type_of(name))) {
      case Form::integer:
        if (kind == Value::Kind::integer) return ref;
        return std::nullopt;
      case Form::boolean:
        if (kind == Value::Kind::integer) return fmt::format("{}::int", ref);
        return std::nullopt;
      case Form::float4:
      case Form::float8: {
        // float4 through its text: the double a snapshot reads is the one its shortest text
        // spells (0.1), not the float4 widened (0.100000001490116).
        bool narrow = form_of(pg_table(table).type_of(name)) == Form::float4;
        if (kind == Value::Kind::real) {
          return fmt::format("(CASE WHEN {0} NOT IN {1} THEN {0}{2}::float8 END)", ref, kFloatWords,
                             narrow ? "::text" : "");
        }
        if (kind == Value::Kind::text)
          return fmt::format("(CASE WHEN {0} IN {1} THEN {0}::text END)", ref, kFloatWords);
        return std::nullopt;
      }
      case Form::bytea:
        if (kind == Value::Kind::blob) return fmt::format("{}::bytea", ref);
        return std::nullopt;
      case Form::date:
        if (kind == Value::Kind::text) return wire_date_sql(ref);
        return std::nullopt;
      case Form::timestamp:
        if (kind == Value::Kind::text) return wire_timestamp_sql(ref, "");
        return std::nullopt;
      case Form::timestamptz:
        if (kind == Value::Kind::text)
          return wire_timestamp_sql(fmt::format("({} AT TIME ZONE 'UTC')", ref), "Z");
        return std::nullopt;
      case Form::array:
        return std::nullopt;
      case Form::text:
        if (kind == Value::Kind::text) return fmt::format("{}::text", ref);
        return std::nullopt;
    }
    return std::nullopt;
  }

  std::string compare(const std::string& left, RowFilter::Op op, const Value& value) override {
    switch (value.kind()) {
      case Value::Kind::integer:
        return fmt::format("({} {} {}::bigint)", left, sql_operator(op),
                           bind(std::to_string(value.as_integer())));
      case Value::Kind::real:
        return fmt::format("({} {} {}::float8)", left, sql_operator(op),
                           bind(float_text(value.as_real())));
      case Value::Kind::text: {
        const auto& text = value.as_text();
        // A text parameter ends at a NUL (libpq takes C strings): such a value compares as
        // bytes. PostgreSQL text holds no NUL, so it equals no column's text.
        if (text.find('\0') != std::string::npos) {
          return fmt::format("(convert_to({}, 'UTF8') {} {}::bytea)", left, sql_operator(op),
                             bind(bytea_text(text)));
        }
        return fmt::format("({} {} {}::text COLLATE \"C\")", left, sql_operator(op), bind(text));
      }
      case Value::Kind::blob: {
        const auto& blob = value.as_blob();
        return fmt::format("({} {} {}::bytea)", left, sql_operator(op),
                           bind("\\x" + hex_encode(blob.data(), blob.size())));
      }
      case Value::Kind::null:
        break;
    }
    return "(NULL)";
  }

  std::string equal(const std::string& left, const std::string& right, Value::Kind kind) override {
    if (kind == Value::Kind::text) return fmt::format("({} = {} COLLATE \"C\")", left, right);
    return fmt::format("({} = {})", left, right);
  }

  std::string to_real(const std::string& integer) override {
    return fmt::format("({})::float8", integer);
  }

  // The column's own equality (its type's, in its collation: case-insensitive perhaps, so
  // only a hint) against the value cast to the column's base type without modifier.
  std::optional<std::string> equality_hint(FilterTable table, const std::string& name,
                                           const Value& value) override {
    if (value.kind() != Value::Kind::text) return std::nullopt;
    const auto& type = pg_table(table).type_of(name);
    switch (type.oid) {
      case pg_oid::text:
      case pg_oid::varchar:
      case pg_oid::bpchar:
      case pg_oid::name:
      case pg_oid::uuid:
        break;
      default:
        return std::nullopt;
    }
    auto base = builtin_pg_type(type.oid);
    auto text = value_to_pg_text(*base, value);
    if (!text || !*text || value.as_text().find('\0') != std::string::npos) return std::nullopt;
    return fmt::format("{} = {}::{}", column(table, name), bind(**text), base->name);
  }

  std::string open_membership(const std::string& table) override {
    auto described = m_membership_table(table);
    if (!described) throw described.error();
    m_membership = std::move(*described);
    return quote_identifier(table) + " AS m";
  }

 private:
  const PgTable& pg_table(FilterTable table) const {
    return table == FilterTable::row ? m_table : m_membership;
  }

  std::string bind(std::string text) {
    m_params.emplace_back(std::move(text));
    return fmt::format("${}", m_params.size());
  }

  static std::string bytea_text(const std::string& text) {
    return "\\x" + hex_encode(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  }

  const PgTable& m_table;
  const PgMembershipLookup& m_membership_table;
  Params& m_params;
  PgTable m_membership;
};

}  // namespace

std::string pg_filter_sql(const RowFilter& filter, const PgTable& table,
                          const PgMembershipLookup& membership_table, Params& params) {
  PgFilterDialect dialect(table, membership_table, params);
  return filter_sql(filter, dialect);
}

}  // namespace tandem::storage::postgres
