#include "storage/mysql/mysql_rows.h"

#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace tandem::storage::mysql {
namespace {

std::string column_sql(MysqlKind kind, const std::string& ref) {
  switch (kind) {
    case MysqlKind::big_unsigned:
    case MysqlKind::decimal:
    case MysqlKind::json:
      // Text, so that no double or JSON re-rendering comes in between.
      return fmt::format("CAST({} AS CHAR)", ref);
    case MysqlKind::blob:
      // JSON_OBJECT would paste raw bytes into the JSON text.
      return fmt::format("TO_BASE64({})", ref);
    case MysqlKind::bit:
      // JSON_OBJECT renders BIT as raw bytes, which is not even valid JSON.
      return fmt::format("CAST({} AS UNSIGNED)", ref);
    case MysqlKind::timestamp:
      // Independent of the writing session's time zone.
      return fmt::format("CAST(UNIX_TIMESTAMP({}) AS CHAR)", ref);
    case MysqlKind::geometry:
      // JSON_OBJECT would paste the binary WKB.
      return fmt::format("ST_AsText({})", ref);
    default:
      return ref;
  }
}

[[noreturn]] void bad_value(const MysqlTable& table, std::string_view column,
                            const nlohmann::json& value) {
  throw Error(ErrorCode::internal, fmt::format("unexpected value {} for column '{}' of '{}'",
                                               value.dump(), column, table.schema.name));
}

std::optional<std::int64_t> parse_int64(std::string_view text) {
  std::int64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return number;
}

Value integer_value(const MysqlTable& table, std::string_view column, const nlohmann::json& json) {
  if (json.is_number_integer() && !json.is_number_unsigned())
    return Value(json.get<std::int64_t>());
  if (json.is_number_unsigned()) {
    auto number = json.get<std::uint64_t>();
    if (number <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return Value(static_cast<std::int64_t>(number));
    return Value(std::to_string(number));
  }
  if (json.is_string()) {
    const auto& text = json.get_ref<const std::string&>();
    if (auto number = parse_int64(text)) return Value(*number);
    return Value(text);  // above the int64 range: exact digits
  }
  bad_value(table, column, json);
}

std::string datetime_text(std::string text) {
  if (text.size() > 10 && text[10] == ' ') text[10] = 'T';
  auto dot = text.find('.');
  if (dot != std::string::npos) {
    while (text.back() == '0')
      text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

Value column_value(const MysqlTable& table, std::size_t index, const nlohmann::json& json) {
  const auto& column = table.schema.columns[index].name;
  if (json.is_null()) return Value{};
  switch (table.kinds[index]) {
    case MysqlKind::integer:
    case MysqlKind::boolean:
    case MysqlKind::bit:
    case MysqlKind::year:
    case MysqlKind::big_unsigned:
      return integer_value(table, column, json);
    case MysqlKind::real:
      if (!json.is_number()) bad_value(table, column, json);
      return Value(json.get<double>());
    case MysqlKind::blob: {
      if (!json.is_string()) bad_value(table, column, json);
      // TO_BASE64 breaks lines every 76 characters.
      std::string text;
      for (char c : json.get_ref<const std::string&>()) {
        if (c != '\n' && c != '\r') text += c;
      }
      auto bytes = base64_decode(text);
      if (!bytes) bad_value(table, column, json);
      return Value(std::move(*bytes));
    }
    case MysqlKind::datetime:
      if (!json.is_string()) bad_value(table, column, json);
      return Value(datetime_text(json.get<std::string>()));
    case MysqlKind::timestamp:
      if (!json.is_string()) bad_value(table, column, json);
      return Value(utc_text_from_epoch(json.get_ref<const std::string&>()));
    case MysqlKind::decimal:
    case MysqlKind::json:
    case MysqlKind::text:
    case MysqlKind::geometry:
    case MysqlKind::date:
      if (json.is_string()) return Value(json.get<std::string>());
      return Value(json.dump());
  }
  bad_value(table, column, json);
}

}  // namespace

std::string row_json_sql(const MysqlTable& table, std::string_view prefix) {
  std::string sql = "JSON_OBJECT(";
  for (std::size_t i = 0; i < table.schema.columns.size(); ++i) {
    if (i > 0) sql += ", ";
    const auto& name = table.schema.columns[i].name;
    sql += quote_string(name);
    sql += ", ";
    sql += column_sql(table.kinds[i], std::string(prefix) + quote_name(name));
  }
  sql += ')';
  return sql;
}

Row row_from_json_object(const MysqlTable& table, std::string_view json) {
  auto parsed = nlohmann::json::parse(json, nullptr, false);
  if (!parsed.is_object()) {
    throw Error(ErrorCode::internal, fmt::format("a row of '{}' is not a JSON object: {}",
                                                 table.schema.name, json.substr(0, 200)));
  }
  Row row;
  for (std::size_t i = 0; i < table.schema.columns.size(); ++i) {
    const auto& name = table.schema.columns[i].name;
    auto it = parsed.find(name);
    row.emplace(name, it == parsed.end() ? Value{} : column_value(table, i, *it));
  }
  return row;
}

Value param_for(MysqlKind kind, const Value& value) {
  if (value.kind() != Value::Kind::text) return value;
  if (kind == MysqlKind::datetime || kind == MysqlKind::timestamp) {
    std::string text = value.as_text();
    if (text.size() > 10 && text[10] == 'T') text[10] = ' ';
    if (!text.empty() && text.back() == 'Z') text.pop_back();
    return Value(std::move(text));
  }
  if (kind == MysqlKind::blob) {
    const auto& text = value.as_text();
    return Value(Blob(text.begin(), text.end()));
  }
  return value;
}

std::string utc_text_from_epoch(std::string_view seconds) {
  auto dot = seconds.find('.');
  auto whole = parse_int64(seconds.substr(0, dot));
  if (!whole) throw Error(ErrorCode::internal, fmt::format("not a UNIX timestamp: '{}'", seconds));
  std::time_t time = static_cast<std::time_t>(*whole);
  std::tm parts{};
  gmtime_r(&time, &parts);
  auto text =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", parts.tm_year + 1900, parts.tm_mon + 1,
                  parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
  if (dot != std::string_view::npos) {
    auto fraction = std::string(seconds.substr(dot + 1));
    while (!fraction.empty() && fraction.back() == '0')
      fraction.pop_back();
    if (!fraction.empty()) text += "." + fraction;
  }
  return text + "Z";
}

}  // namespace tandem::storage::mysql
