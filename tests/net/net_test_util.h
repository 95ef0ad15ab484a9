// Helpers shared by the net tests: options suited to tests, a polling wait, and a
// WebSocket handler whose behaviour each test scripts.
#pragma once

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

// A WebSocketHandler that records what happens and runs the test's hooks. Thread-safe: the
// test thread inspects it while the server calls it.
class ScriptedHandler : public WebSocketHandler {
 public:
  std::function<void(ScriptedHandler&)> on_open_hook;
  std::function<void(ScriptedHandler&, std::string_view)> on_message_hook;
  std::function<void(ScriptedHandler&, std::size_t)> on_too_big_hook;
  std::function<void(ScriptedHandler&)> on_shutdown_hook;

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
