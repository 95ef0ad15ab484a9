// State shared by the listener and every session of one server; internal.
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <optional>

#include "net/connection_limiter.h"
#include "net/http_server.h"
#include "net/session_registry.h"

namespace tandem::net {

// Owned by HttpServer::Impl and declared before its io_context, so it outlives every
// session (sessions still pending when the io_context is destroyed refer to it).
struct ServerContext {
  ServerContext(ServerOptions server_options, Router server_router)
      : options(std::move(server_options)),
        router(std::move(server_router)),
        connections(options.max_connections, options.max_connections_per_address) {}

  const ServerOptions options;
  const Router router;
  std::optional<boost::asio::ssl::context> tls;  // set by start() when options.tls is
  SessionRegistry sessions;
  ConnectionLimiter connections;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> open_websockets{0};

  std::uint64_t next_connection_id() { return m_next_id.fetch_add(1) + 1; }

 private:
  std::atomic<std::uint64_t> m_next_id{0};
};

}  // namespace tandem::net
