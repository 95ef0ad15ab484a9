// Conversions between Beast messages and the server's own request/response types; internal.
#pragma once

#include <string>

#include "net/beast_types.h"
#include "net/http_server.h"

namespace tandem::net {

HttpRequest to_request(const http::request_header<>& header, std::string body,
                       std::string remote_address);

BeastResponse to_beast_response(HttpResponse response, unsigned version, bool keep_alive);

}  // namespace tandem::net
