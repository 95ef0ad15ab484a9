#include "auth/describe.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace tandem::auth::detail {
namespace {

constexpr std::size_t kMaxQuotedBytes = 64;
constexpr std::size_t kMaxPlainNameBytes = 16;

std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

std::string cut_short(std::string text) {
  if (text.size() <= kMaxQuotedBytes) return text;
  text.resize(kMaxQuotedBytes);
  return text + "...";
}

bool is_plain_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxPlainNameBytes &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '+';
         });
}

}  // namespace

std::string quote_text(std::string_view text) {
  // Cut before quoting: cutting the quoted form could split an escape sequence.
  const bool cut = text.size() > kMaxQuotedBytes;
  std::string result = json_text(nlohmann::json(std::string(text.substr(0, kMaxQuotedBytes))));
  return cut ? result + "..." : result;
}

std::string quote_json(const nlohmann::json& value) {
  return cut_short(json_text(value));
}

std::string name_as_sent(std::string_view name) {
  return is_plain_name(name) ? std::string(name) : quote_text(name);
}

std::string utc_time(std::int64_t seconds) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(seconds)));
}

}  // namespace tandem::auth::detail
