// What the server needs from any connection to stop gracefully; internal to the net subsystem.
#pragma once

namespace tandem::net {

// One accepted connection (HTTP or WebSocket). Both calls are thread-safe: they post to the
// connection's strand.
class Session {
 public:
  virtual ~Session() = default;

  // The server is stopping: finish the request in flight, ask the WebSocket handler to wrap
  // up, close idle keep-alive connections.
  virtual void shutdown() = 0;
  // The grace period is over: close now (a WebSocket still gets a 1001 close frame when the
  // socket allows it).
  virtual void force_close() = 0;
};

}  // namespace tandem::net
