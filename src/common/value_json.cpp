#include "common/value_json.h"

#include <fmt/format.h>

#include "common/base64.h"

namespace tandem {

nlohmann::json to_json(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::null:
      return nullptr;
    case Value::Kind::integer:
      return value.as_integer();
    case Value::Kind::real:
      return value.as_real();
    case Value::Kind::text:
      return value.as_text();
    case Value::Kind::blob:
      return {{"$b64", base64_encode(value.as_blob())}};
  }
  return nullptr;
}

Result<Value> value_from_json(const nlohmann::json& json) {
  using Type = nlohmann::json::value_t;
  switch (json.type()) {
    case Type::null:
      return Value{};
    case Type::boolean:
      return Value{std::int64_t{json.get<bool>() ? 1 : 0}};
    case Type::number_integer:
      return Value{json.get<std::int64_t>()};
    case Type::number_unsigned: {
      auto u = json.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) {
        return Error(ErrorCode::malformed_message, "integer value out of the 64-bit range");
      }
      return Value{static_cast<std::int64_t>(u)};
    }
    case Type::number_float:
      return Value{json.get<double>()};
    case Type::string:
      return Value{json.get<std::string>()};
    case Type::object: {
      if (json.size() == 1) {
        if (auto it = json.find("$b64"); it != json.end() && it->is_string()) {
          if (auto blob = base64_decode(it->get_ref<const std::string&>())) return Value{*blob};
          return Error(ErrorCode::malformed_message, "invalid base64 in a $b64 value");
        }
        if (auto it = json.find("$hex"); it != json.end() && it->is_string()) {
          if (auto blob = hex_decode(it->get_ref<const std::string&>())) return Value{*blob};
          return Error(ErrorCode::malformed_message, "invalid hex in a $hex value");
        }
      }
      return Error(ErrorCode::malformed_message,
                   "an object value must be {\"$b64\": \"...\"} (a blob)");
    }
    default:
      return Error(ErrorCode::malformed_message,
                   fmt::format("unsupported JSON value type '{}'", json.type_name()));
  }
}

nlohmann::json to_json(const Row& row) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, value] : row)
    object[name] = to_json(value);
  return object;
}

Result<Row> row_from_json(const nlohmann::json& json) {
  if (!json.is_object()) return Error(ErrorCode::malformed_message, "a row must be a JSON object");
  Row row;
  for (const auto& [name, item] : json.items()) {
    auto value = value_from_json(item);
    if (!value) {
      return Error(ErrorCode::malformed_message,
                   fmt::format("column '{}': {}", name, value.error().message()));
    }
    row.emplace(name, std::move(*value));
  }
  return row;
}

}  // namespace tandem
