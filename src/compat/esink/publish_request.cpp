#include "compat/esink/publish_request.h"

#include <cmath>
#include <cstdlib>

#include "common/json_depth.h"

namespace tandem::compat::esink {
namespace {

constexpr std::size_t kMaxNameLength = 64;

ValidationFailure failure(std::string key, std::string type, std::string message,
                          const nlohmann::json* value) {
  return ValidationFailure{std::move(key), std::move(type), std::move(message),
                           value ? *value : nlohmann::json()};
}

bool absent(const nlohmann::json* value) {
  return value == nullptr;
}

// yup's string(): numbers and booleans are cast with toString(); objects and arrays are not.
std::optional<std::string> cast_string(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (number == std::floor(number) && std::fabs(number) < 1e15) {
      return std::to_string(static_cast<long long>(number));
    }
    return value.dump();
  }
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return std::nullopt;
}

// yup's number(): numeric strings are parsed; NaN is a type error.
std::optional<double> cast_number(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    const double number = std::strtod(text.c_str(), &end);
    if (end == text.c_str() + text.size() && std::isfinite(number)) return number;
  }
  return std::nullopt;
}

const nlohmann::json* field(const nlohmann::json& body, const char* key) {
  auto found = body.find(key);
  return found == body.end() ? nullptr : &*found;
}

std::variant<std::string, ValidationFailure> required_string(const nlohmann::json& body,
                                                             const char* key, bool limited) {
  const auto* value = field(body, key);
  const std::string prefix = std::string("body.") + key + " attribute ";
  if (absent(value) || value->is_null()) {
    return failure(key, "required", prefix + "is required", value);
  }
  auto text = cast_string(*value);
  if (!text) return failure(key, "typeError", prefix + "must be a string", value);
  if (limited && text->size() > kMaxNameLength) {
    return failure(key, "max", prefix + "must be less than 64 characters", value);
  }
  return std::move(*text);
}

}  // namespace

nlohmann::json ValidationFailure::error_json() const {
  return {{"name", "ValidationError"},
          {"value", value},
          {"path", key},
          {"type", type},
          {"errors", {message}},
          {"inner", nlohmann::json::array()},
          {"message", message}};
}

std::variant<PublishRequest, ValidationFailure> validate_publish(const nlohmann::json& body,
                                                                 PublishBody kind) {
  static const nlohmann::json empty_object = nlohmann::json::object();
  const nlohmann::json& object = body.is_object() ? body : empty_object;
  PublishRequest request;

  const auto* data = field(object, "data");
  if (absent(data) || data->is_null()) {
    return failure("data", "required", "body.data attribute is required", data);
  }
  if (!data->is_object()) {
    return failure("data", "typeError", "body.data attribute must be an object", data);
  }
  request.data = *data;

  auto table = required_string(object, "table", true);
  if (auto* bad = std::get_if<ValidationFailure>(&table)) return std::move(*bad);
  request.table = std::get<std::string>(std::move(table));
  auto type = required_string(object, "type", true);
  if (auto* bad = std::get_if<ValidationFailure>(&type)) return std::move(*bad);
  request.type = std::get<std::string>(std::move(type));

  if (const auto* source = field(object, "source"); source && !source->is_null()) {
    auto text = cast_string(*source);
    if (!text)
      return failure("source", "typeError", "body.source attribute must be a string", source);
    request.source = std::move(*text);
  }
  for (const char* key : {"version", "timestamp"}) {
    const auto* value = field(object, key);
    if (!value || value->is_null()) continue;
    auto number = cast_number(*value);
    if (!number) {
      return failure(key, "typeError", std::string("body.") + key + " attribute must be a number",
                     value);
    }
    (std::string_view(key) == "version" ? request.version : request.timestamp) = *number;
  }

  if (kind == PublishBody::api) {
    auto user = required_string(object, "userId", false);
    if (auto* bad = std::get_if<ValidationFailure>(&user)) return std::move(*bad);
    request.user_id = std::get<std::string>(std::move(user));
    auto token = required_string(object, "securityToken", false);
    if (auto* bad = std::get_if<ValidationFailure>(&token)) return std::move(*bad);
    request.security_token = std::get<std::string>(std::move(token));
  }
  return request;
}

std::optional<nlohmann::json> parse_publish_body(std::string_view content_type,
                                                 std::string_view body) {
  if (content_type.find("json") == std::string_view::npos || body.empty()) {
    return nlohmann::json::object();
  }
  if (json_depth(body) > kMaxPublishJsonDepth) return std::nullopt;
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

}  // namespace tandem::compat::esink
