#include "net/request_dispatch.h"

#include <exception>

#include "common/logging.h"
#include "net/route_match.h"

namespace tandem::net {
namespace {

Dispatch accept_websocket(const WebSocketAcceptor& acceptor, const HttpRequest& request) {
  try {
    auto decision = acceptor(request);
    if (auto* response = std::get_if<HttpResponse>(&decision)) return std::move(*response);
    auto handler = std::get<std::shared_ptr<WebSocketHandler>>(std::move(decision));
    if (handler) return handler;
    log::error("WebSocket acceptor returned no handler", {{"path", request.path}});
  } catch (const std::exception& e) {
    log::error("WebSocket acceptor threw", {{"path", request.path}, {"error", e.what()}});
  }
  return error_response(500, ErrorCode::internal, "Internal server error");
}

HttpResponse route_error(const RouteMatch& match) {
  switch (match.kind) {
    case RouteMatch::Kind::method_not_allowed: {
      auto response = error_response(405, ErrorCode::bad_request, "Method not allowed");
      response.headers.emplace_back("Allow", match.allow);
      return response;
    }
    case RouteMatch::Kind::upgrade_required: {
      auto response = error_response(426, ErrorCode::bad_request, "WebSocket upgrade required");
      response.headers.emplace_back("Upgrade", "websocket");
      return response;
    }
    case RouteMatch::Kind::handler:
    case RouteMatch::Kind::not_found:
      break;
  }
  return error_response(404, ErrorCode::not_found, "Route not found");
}

}  // namespace

Dispatch dispatch_request(const Router& router, const HttpRequest& request, bool websocket_upgrade,
                          bool stopping) {
  if (websocket_upgrade) {
    const auto found = router.websockets().find(request.path);
    if (found != router.websockets().end()) {
      if (stopping) {
        return error_response(503, ErrorCode::shutting_down, "Server is shutting down");
      }
      return accept_websocket(found->second, request);
    }
  }
  const RouteMatch match = match_route(router, request.method, request.path);
  if (match.kind == RouteMatch::Kind::handler) return match.handler;
  return route_error(match);
}

HttpResponse error_response(int status, ErrorCode code, std::string_view message) {
  return HttpResponse::json_error(status, error_code_name(code), message);
}

}  // namespace tandem::net
