// One WebSocket connection after a successful upgrade request; internal.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net/beast_types.h"
#include "net/connection_limiter.h"
#include "net/server_context.h"

namespace tandem::net {

// Completes the upgrade on `stream` (which has already read `request`) and runs the session
// until the connection closes. `id` is the connection id the HTTP session registered;
// `ticket` its place in the connection count, released when the session ends.
template <class Stream>
void launch_websocket_session(ServerContext& context, Stream stream, BeastRequest request,
                              std::shared_ptr<WebSocketHandler> handler, std::uint64_t id,
                              std::string remote_address, ConnectionTicket ticket);

extern template void launch_websocket_session<PlainStream>(ServerContext&, PlainStream,
                                                           BeastRequest,
                                                           std::shared_ptr<WebSocketHandler>,
                                                           std::uint64_t, std::string,
                                                           ConnectionTicket);
extern template void launch_websocket_session<TlsStream>(ServerContext&, TlsStream, BeastRequest,
                                                         std::shared_ptr<WebSocketHandler>,
                                                         std::uint64_t, std::string,
                                                         ConnectionTicket);

}  // namespace tandem::net
