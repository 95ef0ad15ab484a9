// Helpers shared by the net tests: options suited to tests, a polling wait, and a
// WebSocket handler whose behaviour each test scripts.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "net/http_server.h"

namespace tandem::net::testing {

using namespace std::chrono_literals;

inline ServerOptions test_options() {
  ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.threads = 2;
  options.http_timeout = std::chrono::seconds(5);
  options.shutdown_grace = std::chrono::milliseconds(2000);
  return options;
}

// Polls `condition` until it holds or `timeout` passes; the server works on its own threads.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A TCP connection to the server on loopback, optionally from another loopback address
// (127.0.0.2, ...: a different client as far as per-address limits go). Closes on destruction.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port, const char* source_address = "127.0.0.1")
      : m_fd(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval timeout{5, 0};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    ::inet_pton(AF_INET, source_address, &source.sin_addr);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m_connected = ::bind(m_fd, reinterpret_cast<sockaddr*>(&source), sizeof source) == 0 &&
                  ::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() { ::close(m_fd); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return m_connected; }

  bool send(const std::string& bytes) {
    return m_connected && ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                              static_cast<ssize_t>(bytes.size());
  }

  // Everything until the server closes the connection (or 5 s pass).
  std::string receive_all() {
    std::string received;
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::recv(m_fd, buffer, sizeof buffer, 0)) > 0)
      received.append(buffer, static_cast<std::size_t>(n));
    return received;
  }

 private:
  int m_fd;
  bool m_connected = false;
};

// Sends raw bytes and reads until the server closes; for what the test client hides
// (several requests on one connection, malformed framing).
inline std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                                const char* source_address = "127.0.0.1") {
  RawConnection connection(port, source_address);
  if (!connection.send(bytes)) return {};
  return connection.receive_all();
}

inline std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// A WebSocketHandler that records what happens and runs the test's hooks. Thread-safe: the
// test thread inspects it while the server calls it.
class ScriptedHandler : public WebSocketHandler {
 public:
  std::function<void(ScriptedHandler&)> on_open_hook;
  std::function<void(ScriptedHandler&, std::string_view)> on_message_hook;
  std::function<void(ScriptedHandler&, std::size_t)> on_too_big_hook;
  std::function<void(ScriptedHandler&)> on_shutdown_hook;
  std::function<void(ScriptedHandler&)> on_deadline_hook;

  void on_open(std::shared_ptr<WebSocketConnection> connection) override {
    {
      std::lock_guard lock(m_mutex);
      m_connection = std::move(connection);
      m_events.push_back("open");
    }
    if (on_open_hook) on_open_hook(*this);
  }

  void on_message(std::string_view payload, bool /*binary*/) override {
    record("message");
    if (on_message_hook) on_message_hook(*this, payload);
  }

  void on_message_too_big(std::size_t limit) override {
    record("too_big");
    if (on_too_big_hook) on_too_big_hook(*this, limit);
  }

  void on_drain() override { record("drain"); }

  void on_shutdown() override {
    record("shutdown");
    if (on_shutdown_hook) on_shutdown_hook(*this);
  }

  void on_deadline() override {
    record("deadline");
    if (on_deadline_hook) on_deadline_hook(*this);
  }

  void on_close(const CloseInfo& info) override {
    std::lock_guard lock(m_mutex);
    m_events.push_back("close");
    m_close = info;
    m_connection.reset();
    m_closed.notify_all();
  }

  std::shared_ptr<WebSocketConnection> connection() const {
    std::lock_guard lock(m_mutex);
    return m_connection;
  }

  // Sends through the connection (valid inside hooks and until on_close).
  void send(std::string message) const {
    if (auto connection = this->connection()) connection->send_text(std::move(message));
  }

  std::optional<CloseInfo> wait_closed(std::chrono::milliseconds timeout = 5s) const {
    std::unique_lock lock(m_mutex);
    m_closed.wait_for(lock, timeout, [&] { return m_close.has_value(); });
    return m_close;
  }

  std::vector<std::string> events() const {
    std::lock_guard lock(m_mutex);
    return m_events;
  }

  std::size_t count(const std::string& event) const {
    std::lock_guard lock(m_mutex);
    return static_cast<std::size_t>(std::count(m_events.begin(), m_events.end(), event));
  }

 private:
  void record(std::string event) {
    std::lock_guard lock(m_mutex);
    m_events.push_back(std::move(event));
  }

  mutable std::mutex m_mutex;
  mutable std::condition_variable m_closed;
  std::shared_ptr<WebSocketConnection> m_connection;
  std::vector<std::string> m_events;
  std::optional<CloseInfo> m_close;
};

// Accepts every upgrade with the given handler.
inline WebSocketAcceptor accept_with(std::shared_ptr<WebSocketHandler> handler) {
  return [handler](
             const HttpRequest&) -> std::variant<std::shared_ptr<WebSocketHandler>, HttpResponse> {
    return handler;
  };
}

inline void echo(ScriptedHandler& handler, std::string_view payload) {
  handler.send(std::string(payload));
}

}  // namespace tandem::net::testing
