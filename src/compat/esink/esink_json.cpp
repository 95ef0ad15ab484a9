#include "compat/esink/esink_json.h"

#include <cmath>

namespace tandem::compat::esink {
namespace {

nlohmann::json hex_string(const Blob& blob) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text = "\\x";
  text.reserve(2 + blob.size() * 2);
  for (auto byte : blob) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 0x0f];
  }
  return text;
}

nlohmann::json parsed_or_text(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return text;
  return parsed;
}

nlohmann::json number_or_text(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_number()) return parsed;
  return text;  // NaN, Infinity: PostgreSQL's numeric allows them, JSON does not
}

}  // namespace

nlohmann::json esink_value(const ColumnSchema* column, const Value& value) {
  const auto type = column ? column->type : ColumnType::any;
  switch (value.kind()) {
    case Value::Kind::null:
      return nullptr;
    case Value::Kind::integer:
      if (type == ColumnType::boolean) return value.as_integer() != 0;
      return value.as_integer();
    case Value::Kind::real:
      if (!std::isfinite(value.as_real())) return nullptr;
      return value.as_real();
    case Value::Kind::text:
      if (type == ColumnType::json) return parsed_or_text(value.as_text());
      if (type == ColumnType::numeric) return number_or_text(value.as_text());
      return value.as_text();
    case Value::Kind::blob:
      return hex_string(value.as_blob());
  }
  return nullptr;
}

nlohmann::json esink_row(const TableSchema* schema, const Row& row) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, value] : row) {
    object[name] = esink_value(schema ? schema->column(name) : nullptr, value);
  }
  return object;
}

std::string routing_key(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (std::isfinite(number) && number == std::floor(number) && std::fabs(number) < 1e15) {
      return std::to_string(static_cast<long long>(number));
    }
    return value.dump();
  }
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return {};  // null, objects and arrays route to nobody
}

}  // namespace tandem::compat::esink
