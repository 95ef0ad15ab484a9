#include "common/url.h"

#include <fmt/format.h>

#include <charconv>

namespace tandem {

Result<Url> parse_url(std::string_view text, std::string_view plain_scheme,
                      std::string_view tls_scheme) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::bad_request,
                 fmt::format("URL '{}' {} (expected {}://host[:port][/path] or {}://...)", text,
                             why, plain_scheme, tls_scheme));
  };
  Url url;
  std::string_view rest = text;
  auto scheme_end = rest.find("://");
  auto scheme = rest.substr(0, scheme_end);
  if (scheme_end == std::string_view::npos || (scheme != plain_scheme && scheme != tls_scheme))
    return bad(fmt::format("must start with {}:// or {}://", plain_scheme, tls_scheme));
  url.tls = scheme == tls_scheme;
  rest.remove_prefix(scheme_end + 3);
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) url.path = std::string(rest.substr(slash));
  url.port = url.tls ? 443 : 80;
  auto colon = authority.rfind(':');
  bool bracketed = authority.starts_with('[');
  if (colon != std::string_view::npos && (!bracketed || authority[colon - 1] == ']')) {
    auto digits = authority.substr(colon + 1);
    unsigned port = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (error != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535)
      return bad("has a bad port (1 to 65535)");
    url.port = static_cast<std::uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (bracketed) {
    if (authority.size() < 2 || !authority.ends_with(']')) return bad("has a bad IPv6 address");
    authority = authority.substr(1, authority.size() - 2);
  }
  if (authority.empty()) return bad("has no host");
  url.host = std::string(authority);
  return url;
}

}  // namespace tandem
