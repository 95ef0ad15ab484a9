// Route resolution for one request; internal to the net subsystem.
#pragma once

#include <string>
#include <string_view>

#include "net/http_server.h"

namespace tandem::net {

struct RouteMatch {
  enum class Kind { handler, method_not_allowed, upgrade_required, not_found };
  Kind kind = Kind::not_found;
  const HttpHandler* handler = nullptr;  // set for Kind::handler; owned by the Router
  std::string allow;                     // for method_not_allowed: the methods the path accepts
};

// Exact routes first, then the longest matching prefix route; only routes whose method
// matches can handle the request. A path that matches only under other methods gets 405; a
// WebSocket path requested without an upgrade gets 426.
RouteMatch match_route(const Router& router, std::string_view method, std::string_view path);

}  // namespace tandem::net
