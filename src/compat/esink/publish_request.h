// The body of POST /publish and of a Socket.IO `event` message, validated as Esink validates
// it (yup: same checks, same order, same messages, the same lenient casts of numbers to
// strings and numeric strings to numbers).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

namespace tandem::compat::esink {

struct PublishRequest {
  nlohmann::json data;  // an object
  std::string table;
  std::string type;
  std::optional<std::string> source;  // absent or null: the caller's default
  std::optional<double> version;
  std::optional<double> timestamp;
  std::string user_id;         // /publish only; "*" = every socket
  std::string security_token;  // /publish only
};

// What Esink answers for an invalid body: the first failing field.
struct ValidationFailure {
  std::string key;      // "table"
  std::string type;     // yup's test name: "required", "typeError", "max"
  std::string message;  // "body.table attribute is required"
  nlohmann::json value;

  // yup's ValidationError as Esink serialises it into `error`.
  nlohmann::json error_json() const;
};

enum class PublishBody { api, socket };

// `api`: userId and securityToken are required too (POST /publish). `socket`: they are not
// (Esink demands them of a socket publish and then ignores them; docs/esink-migration.md).
std::variant<PublishRequest, ValidationFailure> validate_publish(const nlohmann::json& body,
                                                                 PublishBody kind);

}  // namespace tandem::compat::esink
