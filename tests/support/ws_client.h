// A synchronous WebSocket client for tests (Beast underneath, hidden behind a pimpl). Every
// call has a timeout, so a broken server fails a test instead of hanging it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace tandem::testing {

struct CloseInfo {
  std::uint16_t code = 1006;  // 1006: the connection ended without a close frame
  std::string reason;
};

// The server's answer to the upgrade request: 101 when upgraded, otherwise the refusal.
struct WsHandshake {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  bool upgraded() const { return status == 101; }
};

// Control frames the client has received (it answers pings itself).
struct ControlFrameCounts {
  std::size_t pings = 0;
  std::size_t pongs = 0;
};

class WsClient {
 public:
  // `io_timeout` bounds connect(), send_text() and close().
  explicit WsClient(std::chrono::milliseconds io_timeout = std::chrono::seconds(5));
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Connects and sends the upgrade request. A refused upgrade is a normal outcome (see
  // WsHandshake::status); a failed connection, TLS handshake or a timeout throws
  // std::runtime_error. With `tls_no_verify`, speaks WSS without checking the certificate.
  WsHandshake connect(const std::string& host, std::uint16_t port, const std::string& path,
                      const std::map<std::string, std::string>& headers = {},
                      bool tls_no_verify = false);

  // Throws std::runtime_error when the message cannot be written in time.
  void send_text(const std::string& message);

  // The next message, or nullopt after `timeout` or once the connection is closed.
  std::optional<std::string> receive(std::chrono::milliseconds timeout);

  // Discards messages until the connection closes; nullopt if it is still open at `timeout`.
  std::optional<CloseInfo> wait_for_close(std::chrono::milliseconds timeout);

  // Sends a close frame and waits (up to the I/O timeout) for the server's answer.
  void close(std::uint16_t code = 1000, const std::string& reason = {});

  // How the connection ended, once it has (nullopt while open).
  std::optional<CloseInfo> close_info() const;

  // Sends a ping (payload at most 125 bytes); its pong is counted when a later call reads it.
  void ping(const std::string& payload = {});
  ControlFrameCounts control_frames() const;

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace tandem::testing
