// What to do with one parsed request: Beast-free so that routing stays cheap to compile and
// easy to test; internal.
#pragma once

#include <memory>
#include <string_view>
#include <variant>

#include "common/error.h"
#include "net/http_server.h"

namespace tandem::net {

// An immediate response, a handler to call (owned by the Router), or an accepted upgrade.
using Dispatch = std::variant<HttpResponse, const HttpHandler*, std::shared_ptr<WebSocketHandler>>;

Dispatch dispatch_request(const Router& router, const HttpRequest& request, bool websocket_upgrade,
                          bool stopping);

// A JSON error whose `error` is the protocol name of `code`.
HttpResponse error_response(int status, ErrorCode code, std::string_view message);

}  // namespace tandem::net
