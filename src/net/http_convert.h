// Conversions between Beast messages and the server's own request/response types; internal.
#pragma once

#include <optional>
#include <string>

#include "net/beast_types.h"
#include "net/http_server.h"

namespace tandem::net {

HttpRequest to_request(const http::request_header<>& header, std::string body,
                       std::string remote_address);

// Why the request's body framing is ambiguous, or nullopt when it is not. Accepted: no
// framing field, one Content-Length holding one number, or one `Transfer-Encoding: chunked`
// (RFC 9112 section 6: chunked must be the final coding; no other coding is supported). Any
// other combination is how a request is smuggled past a proxy that frames it differently.
std::optional<std::string> ambiguous_framing(const http::request_header<>& header);

// `head_request`: the response answers a HEAD request, so it carries the headers the GET
// would have (Content-Length included) but no body (RFC 9110 section 9.3.2).
BeastResponse to_beast_response(HttpResponse response, unsigned version, bool keep_alive,
                                bool head_request);

}  // namespace tandem::net
