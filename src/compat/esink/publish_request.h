// The body of POST /publish and of a Socket.IO `event` message, validated as Esink validates
// it (yup: same checks, same order, same messages, the same lenient casts of numbers to
// strings and numeric strings to numbers).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
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

// Nesting deeper than this is refused (as the Socket.IO transport does): copying or printing
// such a document would recurse once per level.
inline constexpr std::size_t kMaxPublishJsonDepth = 64;

// The body of POST /publish as Esink (express.json()) reads it: parsed when the content type
// names JSON and the body is not empty, an empty object otherwise; nullopt when it is not JSON
// or nested deeper than kMaxPublishJsonDepth (a 400 SyntaxError).
std::optional<nlohmann::json> parse_publish_body(std::string_view content_type,
                                                 std::string_view body);

// `api`: userId and securityToken are required too (POST /publish). `socket`: they are not
// (Esink demands them of a socket publish and then ignores them; docs/esink-migration.md).
std::variant<PublishRequest, ValidationFailure> validate_publish(const nlohmann::json& body,
                                                                 PublishBody kind);

}  // namespace tandem::compat::esink
