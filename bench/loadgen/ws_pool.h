// Many WebSocket client connections on a few threads (Boost.Beast underneath, hidden here:
// this header keeps Beast out of the scenario code). Each thread runs its own io_context
// (epoll) and owns the connections assigned to it round-robin; a connection's callbacks run
// on its thread, one at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::bench {

class WsConnection {
 public:
  virtual ~WsConnection() = default;
  // Queues a text message; any thread.
  virtual void send(std::string text) = 0;
  virtual std::size_t index() const = 0;
};

class WsHandler {
 public:
  virtual ~WsHandler() = default;
  virtual void on_open(WsConnection& connection) = 0;
  // `received_us`: now_us() when the read of this message completed.
  virtual void on_message(WsConnection& connection, std::string_view text,
                          std::int64_t received_us) = 0;
  // The connection failed or ended (error text from Asio/Beast).
  virtual void on_close(WsConnection& connection, const std::string& error) = 0;
};

class WsPool {
 public:
  explicit WsPool(int threads);
  ~WsPool();  // closes every connection and joins the threads
  WsPool(const WsPool&) = delete;
  WsPool& operator=(const WsPool&) = delete;

  // Connects connection `index` from `source_address` (a 127.x.y.z address: each one has its
  // own range of ephemeral ports) to 127.0.0.1:`port`/sync and runs the handshake.
  void connect(std::size_t index, const std::string& source_address, std::uint16_t port,
               WsHandler& handler);

  // Cuts every connection (no closing handshake) and stops the threads; idempotent.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

// Raises RLIMIT_NOFILE (soft and, as root, hard) to at least `wanted`; returns the new
// soft limit. Children started afterwards inherit it.
std::uint64_t raise_fd_limit(std::uint64_t wanted);

}  // namespace tandem::bench
