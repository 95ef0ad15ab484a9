#include <algorithm>
#include <vector>

#include "net/route_match.h"

namespace tandem::net {
namespace {

bool method_matches(const Router::Route& route, std::string_view method) {
  return route.method == "*" || route.method == method;
}

bool path_matches(const Router::Route& route, std::string_view path) {
  return route.prefix ? path.starts_with(route.path) : path == route.path;
}

// The Allow header of a 405: every method some route accepts on the path.
std::string allowed_methods(const Router& router, std::string_view path) {
  std::vector<std::string_view> methods;
  for (const auto& route : router.routes()) {
    if (!path_matches(route, path) || route.method == "*") continue;
    if (std::find(methods.begin(), methods.end(), route.method) == methods.end()) {
      methods.push_back(route.method);
    }
  }
  std::string allow;
  for (const auto method : methods) {
    if (!allow.empty()) allow += ", ";
    allow += method;
  }
  return allow;
}

const Router::Route* best_route(const Router& router, std::string_view method,
                                std::string_view path) {
  const Router::Route* best = nullptr;
  for (const auto& route : router.routes()) {
    if (!path_matches(route, path) || !method_matches(route, method)) continue;
    if (!route.prefix) return &route;
    if (best == nullptr || (best->prefix && route.path.size() > best->path.size())) best = &route;
  }
  return best;
}

}  // namespace

void Router::add(std::string method, std::string path, HttpHandler handler) {
  m_routes.push_back({std::move(method), std::move(path), false, std::move(handler)});
}

void Router::add_prefix(std::string method, std::string prefix, HttpHandler handler) {
  m_routes.push_back({std::move(method), std::move(prefix), true, std::move(handler)});
}

void Router::add_websocket(std::string path, WebSocketAcceptor acceptor) {
  m_websockets.insert_or_assign(std::move(path), std::move(acceptor));
}

RouteMatch match_route(const Router& router, std::string_view method, std::string_view path) {
  RouteMatch match;
  if (const auto* route = best_route(router, method, path)) {
    match.kind = RouteMatch::Kind::handler;
    match.handler = &route->handler;
    return match;
  }
  if (router.websockets().contains(std::string(path))) {
    match.kind =
        method == "GET" ? RouteMatch::Kind::upgrade_required : RouteMatch::Kind::method_not_allowed;
    match.allow = "GET";
    return match;
  }
  const bool path_known = std::any_of(router.routes().begin(), router.routes().end(),
                                      [&](const auto& route) { return path_matches(route, path); });
  if (path_known) {
    match.kind = RouteMatch::Kind::method_not_allowed;
    match.allow = allowed_methods(router, path);
  }
  return match;
}

}  // namespace tandem::net
