#include "storage/postgres/pg_types.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/base64.h"
#include "storage/postgres/json_text.h"
#include "storage/postgres/pg_array.h"
#include "storage/postgres/pg_datetime.h"

namespace tandem::storage::postgres {

namespace {

enum class Family {
  int2,
  int4,
  int8,
  float4,
  float8,
  numeric,
  boolean,
  text,
  timestamptz,
  timestamp,
  date,
  uuid,
  json,
  jsonb,
  bytea,
  array,
  other,
};

struct Builtin {
  std::uint32_t oid;
  const char* name;
  char category;
  std::uint32_t array_oid;
  Family family;
};

constexpr Builtin kBuiltins[] = {
    {pg_oid::boolean, "boolean", 'B', 1000, Family::boolean},
    {pg_oid::bytea, "bytea", 'U', 1001, Family::bytea},
    {pg_oid::name, "name", 'S', 1003, Family::text},
    {pg_oid::int8, "bigint", 'N', 1016, Family::int8},
    {pg_oid::int2, "smallint", 'N', 1005, Family::int2},
    {pg_oid::int4, "integer", 'N', 1007, Family::int4},
    {pg_oid::text, "text", 'S', 1009, Family::text},
    {pg_oid::json, "json", 'U', 199, Family::json},
    {pg_oid::float4, "real", 'N', 1021, Family::float4},
    {pg_oid::float8, "double precision", 'N', 1022, Family::float8},
    {pg_oid::bpchar, "bpchar", 'S', 1014, Family::text},
    {pg_oid::varchar, "character varying", 'S', 1015, Family::text},
    {pg_oid::date, "date", 'D', 1182, Family::date},
    {pg_oid::timestamp, "timestamp without time zone", 'D', 1115, Family::timestamp},
    {pg_oid::timestamptz, "timestamp with time zone", 'D', 1185, Family::timestamptz},
    {pg_oid::numeric, "numeric", 'N', 1231, Family::numeric},
    {pg_oid::uuid, "uuid", 'U', 2951, Family::uuid},
    {pg_oid::jsonb, "jsonb", 'U', 3807, Family::jsonb},
};

Family family_of(std::uint32_t oid, char category) {
  for (const auto& builtin : kBuiltins) {
    if (builtin.oid == oid) return builtin.family;
    if (builtin.array_oid == oid) return Family::array;
  }
  switch (category) {
    case 'A':
      return Family::array;
    case 'E':  // enums
    case 'S':  // strings: citext and other extension string types
      return Family::text;
    default:
      return Family::other;
  }
}

Family family_of(const PgType& type) {
  if (type.element_oid != 0) return Family::array;
  return family_of(type.oid, type.category);
}

array::ElementKind element_kind(const PgType& type) {
  std::uint32_t element_oid = type.element_oid;
  char element_category = type.element_category;
  if (element_oid == 0) {
    for (const auto& builtin : kBuiltins) {
      if (builtin.array_oid == type.oid) {
        element_oid = builtin.oid;
        element_category = builtin.category;
      }
    }
  }
  switch (family_of(element_oid, element_category)) {
    case Family::int2:
    case Family::int4:
    case Family::int8:
    case Family::float4:
    case Family::float8:
    case Family::numeric:
      return array::ElementKind::number;
    case Family::boolean:
      return array::ElementKind::boolean;
    case Family::json:
    case Family::jsonb:
      return array::ElementKind::json;
    case Family::date:
      return array::ElementKind::date;
    case Family::timestamp:
      return array::ElementKind::timestamp;
    case Family::timestamptz:
      return array::ElementKind::timestamptz;
    default:
      return array::ElementKind::string;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// What numeric_in and float8in accept (without surrounding spaces, PostgreSQL 15).
bool is_number_text(std::string_view s) {
  for (auto special : {"nan", "infinity", "+infinity", "-infinity", "inf", "+inf", "-inf"})
    if (iequals(s, special)) return true;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i]))
    ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i]))
      ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i == s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i]))
      ++i;
  }
  return i == s.size();
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty() || s[0] == '+') return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// Shortest text that reads back as the same double; PostgreSQL's spelling of the others.
std::string float_text(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", value);
}

std::string_view kind_name(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::null:
      return "null";
    case Value::Kind::integer:
      return "an integer";
    case Value::Kind::real:
      return "a real";
    case Value::Kind::text:
      return "text";
    case Value::Kind::blob:
      return "a blob";
  }
  return "?";
}

Error internal(const std::string& message) {
  return Error(ErrorCode::internal, message);
}

Error refused(const PgType& type, const Value& value, std::string_view why = {}) {
  return Error(ErrorCode::invalid_mutation,
               fmt::format("{} cannot be stored in a column of type {}{}{}", kind_name(value),
                           type.name, why.empty() ? "" : ": ", why));
}

// ---- reading ---------------------------------------------------------------------------

Result<Blob> bytea_from_pg(std::string_view text) {
  if (text.starts_with("\\x")) {
    if (auto blob = hex_decode(text.substr(2))) return *blob;
    return internal("cannot read PostgreSQL bytea: bad hex digits");
  }
  // Escape format: `\\` is a backslash, `\ooo` an octal byte, anything else itself.
  Blob blob;
  blob.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      blob.push_back(static_cast<std::uint8_t>(text[i]));
    } else if (i + 1 < text.size() && text[i + 1] == '\\') {
      blob.push_back('\\');
      ++i;
    } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' &&
               text[i + 2] >= '0' && text[i + 2] <= '7' && text[i + 3] >= '0' &&
               text[i + 3] <= '7') {
      blob.push_back(static_cast<std::uint8_t>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                               (text[i + 3] - '0')));
      i += 3;
    } else {
      return internal("cannot read PostgreSQL bytea: bad escape sequence");
    }
  }
  return blob;
}

Result<Value> integer_from_pg(std::string_view text) {
  if (auto value = parse_integer(text)) return Value{*value};
  return internal(fmt::format("cannot read PostgreSQL integer '{}'", text));
}

Result<Value> float_from_pg(std::string_view text) {
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") return Value{text};
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return internal(fmt::format("cannot read PostgreSQL float '{}'", text));
  return Value{value};
}

template <typename T>
Result<Value> as_value(Result<T> result) {
  if (!result) return result.error();
  return Value{std::move(*result)};
}

// ---- writing ---------------------------------------------------------------------------

using PgText = Result<std::optional<std::string>>;

PgText integer_to_pg(const PgType& type, Family family, const Value& value) {
  std::int64_t number = 0;
  switch (value.kind()) {
    case Value::Kind::integer:
      number = value.as_integer();
      break;
    case Value::Kind::real: {
      double real = value.as_real();
      // 2^63 is exact in a double; the range is [-2^63, 2^63).
      if (!std::isfinite(real) || real != std::trunc(real) || real < -9223372036854775808.0 ||
          real >= 9223372036854775808.0)
        return refused(type, value, fmt::format("{} is not an integer", float_text(real)));
      number = static_cast<std::int64_t>(real);
      break;
    }
    case Value::Kind::text: {
      auto parsed = parse_integer(value.as_text());
      if (!parsed)
        return refused(type, value, fmt::format("'{}' is not a 64-bit integer", value.as_text()));
      number = *parsed;
      break;
    }
    default:
      return refused(type, value);
  }
  std::int64_t low = family == Family::int2   ? std::numeric_limits<std::int16_t>::min()
                     : family == Family::int4 ? std::numeric_limits<std::int32_t>::min()
                                              : std::numeric_limits<std::int64_t>::min();
  std::int64_t high = family == Family::int2   ? std::numeric_limits<std::int16_t>::max()
                      : family == Family::int4 ? std::numeric_limits<std::int32_t>::max()
                                               : std::numeric_limits<std::int64_t>::max();
  if (number < low || number > high)
    return refused(type, value, fmt::format("{} is out of range", number));
  return std::optional<std::string>(std::to_string(number));
}

// float4, float8 and numeric.
PgText number_to_pg(const PgType& type, const Value& value) {
  switch (value.kind()) {
    case Value::Kind::integer:
      return std::optional<std::string>(std::to_string(value.as_integer()));
    case Value::Kind::real:
      return std::optional<std::string>(float_text(value.as_real()));
    case Value::Kind::text:
      if (!is_number_text(value.as_text()))
        return refused(type, value, fmt::format("'{}' is not a number", value.as_text()));
      return std::optional<std::string>(value.as_text());
    default:
      return refused(type, value);
  }
}

PgText boolean_to_pg(const PgType& type, const Value& value) {
  std::optional<bool> flag;
  switch (value.kind()) {
    case Value::Kind::integer:
      if (value.as_integer() == 0 || value.as_integer() == 1) flag = value.as_integer() == 1;
      break;
    case Value::Kind::real:
      if (value.as_real() == 0 || value.as_real() == 1) flag = value.as_real() == 1;
      break;
    case Value::Kind::text: {
      const auto& text = value.as_text();
      if (iequals(text, "true") || iequals(text, "t") || text == "1") flag = true;
      if (iequals(text, "false") || iequals(text, "f") || text == "0") flag = false;
      break;
    }
    default:
      break;
  }
  if (!flag) return refused(type, value, "a boolean is 0, 1, true or false");
  return std::optional<std::string>(*flag ? "true" : "false");
}

// Integer and real values print as numbers; text must be text PostgreSQL can hold.
Result<std::string> text_of(const PgType& type, const Value& value) {
  switch (value.kind()) {
    case Value::Kind::integer:
      return std::to_string(value.as_integer());
    case Value::Kind::real:
      return float_text(value.as_real());
    case Value::Kind::text:
      if (value.as_text().find('\0') != std::string::npos)
        return refused(type, value, "PostgreSQL text cannot hold a NUL character");
      return value.as_text();
    default:
      return refused(type, value);
  }
}

PgText text_to_pg(const PgType& type, const Value& value) {
  auto text = text_of(type, value);
  if (!text) return text.error();
  return std::optional<std::string>(std::move(*text));
}

bool is_uuid_text(std::string_view s) {
  if (s.starts_with('{')) {
    if (!s.ends_with('}')) return false;
    s = s.substr(1, s.size() - 2);
  }
  int digits = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '-') {
      // A hyphen may follow any group of four digits, never start or end the value.
      if (digits == 0 || digits % 4 != 0 || i + 1 == s.size() || s[i + 1] == '-') return false;
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    ++digits;
  }
  return digits == 32;
}

PgText uuid_to_pg(const PgType& type, const Value& value) {
  if (value.kind() != Value::Kind::text) return refused(type, value);
  if (!is_uuid_text(value.as_text()))
    return refused(type, value, fmt::format("'{}' is not a UUID", value.as_text()));
  return std::optional<std::string>(value.as_text());
}

PgText json_to_pg(const PgType& type, const Value& value) {
  if (value.kind() == Value::Kind::real && !std::isfinite(value.as_real()))
    return refused(type, value, "JSON has no NaN or Infinity");
  auto text = text_of(type, value);
  if (!text) return text.error();
  if (!is_json_text(*text)) return refused(type, value, fmt::format("'{}' is not JSON", *text));
  return std::optional<std::string>(std::move(*text));
}

PgText bytea_to_pg(const PgType& type, const Value& value) {
  if (value.kind() == Value::Kind::blob) {
    const auto& blob = value.as_blob();
    return std::optional<std::string>("\\x" + hex_encode(blob.data(), blob.size()));
  }
  if (value.kind() == Value::Kind::text) {
    const auto& text = value.as_text();
    return std::optional<std::string>(
        "\\x" + hex_encode(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  return refused(type, value);
}

PgText datetime_to_pg(const PgType& type, datetime::Kind kind, const Value& value) {
  if (value.kind() != Value::Kind::text) return refused(type, value);
  auto text = datetime::to_pg(kind, value.as_text());
  if (!text) return refused(type, value, text.error().message());
  return std::optional<std::string>(std::move(*text));
}

PgText array_to_pg(const PgType& type, const Value& value) {
  if (value.kind() != Value::Kind::text) return refused(type, value, "arrays are JSON arrays");
  auto literal = array::from_json(value.as_text(), element_kind(type), type.delimiter);
  if (!literal) return refused(type, value, literal.error().message());
  return std::optional<std::string>(std::move(*literal));
}

}  // namespace

std::optional<PgType> builtin_pg_type(std::uint32_t oid) {
  for (const auto& builtin : kBuiltins) {
    if (builtin.oid == oid) return PgType{oid, builtin.name, builtin.category, 0, {}, 0, ','};
    if (builtin.array_oid == oid) {
      return PgType{
          oid, std::string(builtin.name) + "[]", 'A', builtin.oid, builtin.name, builtin.category,
          ','};
    }
  }
  return std::nullopt;
}

ColumnType portable_type(const PgType& type) {
  switch (family_of(type)) {
    case Family::int2:
    case Family::int4:
    case Family::int8:
      return ColumnType::integer;
    case Family::float4:
    case Family::float8:
      return ColumnType::real;
    case Family::numeric:
      return ColumnType::numeric;
    case Family::boolean:
      return ColumnType::boolean;
    case Family::timestamptz:
    case Family::timestamp:
      return ColumnType::timestamp;
    case Family::date:
      return ColumnType::date;
    case Family::uuid:
      return ColumnType::uuid;
    case Family::json:
    case Family::jsonb:
    case Family::array:
      return ColumnType::json;
    case Family::bytea:
      return ColumnType::blob;
    case Family::text:
    case Family::other:
      return ColumnType::text;
  }
  return ColumnType::text;
}

Result<Value> value_from_pg_text(const PgType& type, std::string_view text) {
  switch (family_of(type)) {
    case Family::int2:
    case Family::int4:
    case Family::int8:
      return integer_from_pg(text);
    case Family::float4:
    case Family::float8:
      return float_from_pg(text);
    case Family::boolean:
      // `t`/`f` is the output function's; `true`/`false` is what a `::text` cast prints.
      if (text == "t" || text == "true") return Value{std::int64_t{1}};
      if (text == "f" || text == "false") return Value{std::int64_t{0}};
      return internal(fmt::format("cannot read PostgreSQL boolean '{}'", text));
    case Family::timestamptz:
      return as_value(datetime::from_pg(datetime::Kind::timestamptz, text));
    case Family::timestamp:
      return as_value(datetime::from_pg(datetime::Kind::timestamp, text));
    case Family::date:
      return as_value(datetime::from_pg(datetime::Kind::date, text));
    case Family::bytea:
      return as_value(bytea_from_pg(text));
    case Family::array:
      return as_value(array::to_json(text, element_kind(type), type.delimiter));
    case Family::numeric:
    case Family::text:
    case Family::uuid:
    case Family::json:
    case Family::jsonb:
    case Family::other:
      return Value{text};
  }
  return Value{text};
}

Result<std::optional<std::string>> value_to_pg_text(const PgType& type, const Value& value) {
  if (value.is_null()) return std::optional<std::string>();
  switch (auto family = family_of(type)) {
    case Family::int2:
    case Family::int4:
    case Family::int8:
      return integer_to_pg(type, family, value);
    case Family::float4:
    case Family::float8:
    case Family::numeric:
      return number_to_pg(type, value);
    case Family::boolean:
      return boolean_to_pg(type, value);
    case Family::timestamptz:
      return datetime_to_pg(type, datetime::Kind::timestamptz, value);
    case Family::timestamp:
      return datetime_to_pg(type, datetime::Kind::timestamp, value);
    case Family::date:
      return datetime_to_pg(type, datetime::Kind::date, value);
    case Family::uuid:
      return uuid_to_pg(type, value);
    case Family::json:
    case Family::jsonb:
      return json_to_pg(type, value);
    case Family::bytea:
      return bytea_to_pg(type, value);
    case Family::array:
      return array_to_pg(type, value);
    case Family::text:
    case Family::other:
      return text_to_pg(type, value);
  }
  return text_to_pg(type, value);
}

}  // namespace tandem::storage::postgres
