// One HTTP(S) connection: keep-alive requests, routing, hand-off to WebSocket; internal.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "net/server_context.h"

namespace tandem::net {

// Serves HTTP on an accepted socket (HTTPS when the server has TLS). The session owns
// itself through its pending operations.
void launch_http_session(ServerContext& context, boost::asio::ip::tcp::socket socket);

}  // namespace tandem::net
