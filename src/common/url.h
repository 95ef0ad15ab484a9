// The server URLs Tandem's own clients take: the SDK's ws:// and wss:// sync URL, the CLI's
// http:// and https:// admin URL. One parser for both.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tandem {

struct Url {
  bool tls = false;
  std::string host;  // without the brackets of an IPv6 address
  std::uint16_t port = 0;
  std::string path;  // as written, "" when the URL has none
};

// `<plain_scheme>://host[:port][/path]` or `<tls_scheme>://...`; the port defaults to 80 or
// 443. bad_request naming the problem otherwise.
Result<Url> parse_url(std::string_view text, std::string_view plain_scheme,
                      std::string_view tls_scheme);

}  // namespace tandem
