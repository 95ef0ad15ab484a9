// Text for error messages. Tokens are attacker-controlled: what they contain is quoted and cut
// short before it reaches a message, so that it can neither forge log lines nor flood them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tandem::auth::detail {

// `text` as a JSON string literal (control characters and non-ASCII escaped), cut short.
std::string quote_text(std::string_view text);

// `value` as compact JSON (non-ASCII escaped), cut short.
std::string quote_json(const nlohmann::json& value);

// An algorithm or type name as sent: bare when it is a plain short name (HS256), so that
// the common messages read naturally, quoted otherwise.
std::string name_as_sent(std::string_view name);

// Seconds since the epoch as an RFC 3339 UTC time, e.g. "2026-11-23T10:00:00Z".
std::string utc_time(std::int64_t seconds);

}  // namespace tandem::auth::detail
