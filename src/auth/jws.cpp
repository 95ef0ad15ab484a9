#include "auth/jws.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>
#include <vector>

#include "auth/describe.h"
#include "common/base64.h"
#include "common/json_depth.h"

namespace tandem::auth::detail {
namespace {

using nlohmann::json;

// Far above any real token (an RS256 token with a few claims is under 1 KiB), and low enough
// that libjwt 1.10, which copies every part onto the stack with alloca, stays safe.
constexpr std::size_t kMaxTokenBytes = std::size_t{16} * 1024;
// Far above any real header or claim set. Deeper JSON is refused before it is parsed: the
// messages that quote a member print it recursively, once per level (and a 16 KiB token can
// nest 6,000 levels deep).
constexpr std::size_t kMaxTokenJsonDepth = 32;

Error unauthenticated(const std::string& message) {
  return Error(ErrorCode::unauthenticated, message);
}

std::vector<std::string_view> split_on_dots(std::string_view token) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// RFC 7515 section 4 lets a recipient either reject duplicate member names or take the last
// one. libjwt (jansson) and nlohmann::json both take the last today, but a token whose
// meaning depends on which parser reads it is refused rather than trusted.
struct DuplicateMemberFinder {
  std::vector<std::set<std::string, std::less<>>> open_objects;
  std::optional<std::string> duplicate;

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && !duplicate) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  }
};

Result<json> decode_json_part(std::string_view encoded, std::string_view part) {
  auto text = base64url_decode(encoded);
  if (!text) return unauthenticated(fmt::format("token {} is not valid base64url", part));
  if (json_depth(*text) > kMaxTokenJsonDepth) {
    return unauthenticated(
        fmt::format("token {} is nested more than {} levels deep", part, kMaxTokenJsonDepth));
  }
  DuplicateMemberFinder finder;
  json value = json::parse(*text, std::ref(finder), false);
  if (value.is_discarded()) return unauthenticated(fmt::format("token {} is not valid JSON", part));
  if (!value.is_object()) {
    return unauthenticated(fmt::format("token {} is not a JSON object", part));
  }
  if (finder.duplicate) {
    return unauthenticated(
        fmt::format("token {} has member {} more than once", part, quote_text(*finder.duplicate)));
  }
  return value;
}

}  // namespace

Result<DecodedToken> decode_token(std::string_view token) {
  if (token.empty()) return unauthenticated("token is empty");
  if (token.size() > kMaxTokenBytes) {
    return unauthenticated(
        fmt::format("token is {} bytes; the limit is {}", token.size(), kMaxTokenBytes));
  }
  const auto parts = split_on_dots(token);
  if (parts.size() != 3) {
    return unauthenticated(fmt::format(
        "token must have 3 dot-separated parts (header.payload.signature), not {}", parts.size()));
  }
  auto header = decode_json_part(parts[0], "header");
  if (!header) return header.error();
  auto payload = decode_json_part(parts[1], "payload");
  if (!payload) return payload.error();
  auto signature = base64url_decode(parts[2]);
  if (!signature) return unauthenticated("token signature is not valid base64url");
  return DecodedToken{std::move(*header), std::move(*payload),
                      token.substr(0, parts[0].size() + 1 + parts[1].size()),
                      std::move(*signature)};
}

Result<std::string> checked_header_algorithm(const json& header) {
  auto alg = header.find("alg");
  if (alg == header.end()) return unauthenticated("token header has no alg");
  if (!alg->is_string()) return unauthenticated("token header alg must be a string");
  const auto& name = alg->get_ref<const std::string&>();
  if (iequals(name, "none")) {
    return unauthenticated(fmt::format(
        "token algorithm {} not accepted: the server refuses unsigned tokens", name_as_sent(name)));
  }
  if (header.contains("crit")) {
    return unauthenticated(
        "token header has crit, but the server supports no critical header extensions");
  }
  auto typ = header.find("typ");
  // libjwt 1.10 refuses any other typ itself; saying so here gives a clearer message.
  if (typ != header.end() &&
      (!typ->is_string() || !iequals(typ->get_ref<const std::string&>(), "JWT"))) {
    return unauthenticated(fmt::format(
        "token type {} not accepted: expected JWT",
        typ->is_string() ? name_as_sent(typ->get_ref<const std::string&>()) : quote_json(*typ)));
  }
  auto kid = header.find("kid");
  if (kid != header.end() && !kid->is_string()) {
    return unauthenticated("token header kid must be a string");
  }
  return name;
}

std::optional<std::string> header_kid(const json& header) {
  auto kid = header.find("kid");
  if (kid == header.end() || !kid->is_string()) return std::nullopt;
  return kid->get<std::string>();
}

}  // namespace tandem::auth::detail
