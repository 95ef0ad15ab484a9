// The HTTP + WebSocket transport: Boost.Beast on Asio, N I/O threads, optional TLS.
// It knows nothing of sync: handlers registered on a Router do the work. Beast and Asio
// headers stay inside src/net/*.cpp (they are slow to compile).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tandem::net {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // target without the query, percent-decoding not applied
  std::string query;   // after '?', without it
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote_address;  // "ip:port"

  // Value of a query parameter (percent-decoded), if present.
  std::optional<std::string> query_param(std::string_view name) const;
  std::optional<std::string> header(std::string_view lower_case_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse text(int status, std::string body);
  // {"code": status, "error": error, "message": message}
  static HttpResponse json_error(int status, std::string_view error, std::string_view message);
};

// Completes one HTTP request. Call exactly once, from any thread, possibly later (long
// polling); calling it after the connection is gone is harmless, and later calls are ignored.
// If every copy is destroyed without a call, the client gets a 500.
using HttpResponder = std::function<void(HttpResponse)>;
// The request is valid only during the call: copy what an asynchronous answer needs. An
// exception thrown by the handler becomes a 500.
using HttpHandler = std::function<void(const HttpRequest&, HttpResponder)>;

struct CloseInfo {
  std::uint16_t code = 1006;  // RFC 6455 close code; 1006 when no close frame arrived
  std::string reason;
};

// A live WebSocket connection. Every member function is thread-safe. Calls after the
// connection closed are ignored; but release every reference before the HttpServer is
// destroyed (the connection owns a socket of the server's io_context).
class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;

  // Queues one text message. Messages are written in the order queued. The shared form lets
  // one encoded message be queued on many connections without copying.
  virtual void send_text(std::shared_ptr<const std::string> message) = 0;
  void send_text(std::string message) {
    send_text(std::make_shared<const std::string>(std::move(message)));
  }

  // Bytes queued and not yet written; used for backpressure.
  virtual std::size_t queued_bytes() const = 0;

  // Sends a close frame after the messages already queued, then closes. Idempotent.
  virtual void close(std::uint16_t code, std::string reason) = 0;

  virtual std::uint64_t id() const = 0;
  virtual const std::string& remote_address() const = 0;

  // Who the peer is, once known (e.g. "alice"); included in the session's log lines.
  virtual void set_log_identity(std::string identity) = 0;

  // The connection's one deadline: at `when` the handler's on_deadline() is called (unless
  // the connection closed first). A later call replaces the deadline; cancel_deadline()
  // removes it. For what a peer must do in time (authenticate) or may do until a time (its
  // credentials expire).
  virtual void set_deadline(std::chrono::steady_clock::time_point when) = 0;
  virtual void cancel_deadline() = 0;
};

// Implemented by the application, one per connection. Callbacks for one connection are never
// concurrent with each other (they run on the connection's strand); they must not block. An
// exception thrown by a callback is logged and closes the connection with 1011 (on_close
// still follows). If the opening handshake fails, no callback is made at all.
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;

  virtual void on_open(std::shared_ptr<WebSocketConnection> connection) = 0;
  virtual void on_message(std::string_view payload, bool binary) = 0;

  // A message above `ServerOptions::max_websocket_message` arrived (it is not delivered). The
  // handler may send one last message (an error); the transport then closes with 1009 after
  // the queue drains.
  virtual void on_message_too_big(std::size_t limit) = 0;

  // The queue fell to or below `ServerOptions::drain_low_water` bytes after being above it.
  virtual void on_drain() {}

  // The deadline set with WebSocketConnection::set_deadline() has come.
  virtual void on_deadline() {}

  // The server is shutting down gracefully: finish in-flight work (e.g. send pending acks),
  // then call connection->close(1001, ...). Connections still open after the grace period
  // are closed by the transport.
  virtual void on_shutdown() = 0;

  // The connection is gone; no callback follows. Release resources here.
  virtual void on_close(const CloseInfo& info) = 0;
};

// Decides, from the upgrade request, whether to accept a WebSocket: a handler, or a response
// to send instead of upgrading (e.g. 401).
using WebSocketAcceptor =
    std::function<std::variant<std::shared_ptr<WebSocketHandler>, HttpResponse>(
        const HttpRequest&)>;

class Router {
 public:
  // Exact path match, e.g. ("GET", "/ping"). method "*" matches any method.
  void add(std::string method, std::string path, HttpHandler handler);
  // Matches every path that starts with `prefix` (e.g. "/admin/api/").
  void add_prefix(std::string method, std::string prefix, HttpHandler handler);
  // A WebSocket endpoint; a plain GET on the path without upgrade gets 426.
  void add_websocket(std::string path, WebSocketAcceptor acceptor);

  struct Route {
    std::string method;
    std::string path;
    bool prefix = false;
    HttpHandler handler;
  };
  const std::vector<Route>& routes() const { return m_routes; }
  const std::map<std::string, WebSocketAcceptor>& websockets() const { return m_websockets; }

 private:
  std::vector<Route> m_routes;
  std::map<std::string, WebSocketAcceptor> m_websockets;
};

struct TlsOptions {
  std::string certificate_file;  // PEM chain
  std::string private_key_file;  // PEM
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: pick a free port (see HttpServer::port())
  int threads = 2;
  std::size_t max_http_body = 1 << 20;
  std::size_t max_websocket_message = 4 << 20;
  std::size_t drain_low_water = 256 << 10;
  // A peer that lets more than this pile up unread is too slow: its connection is closed
  // with 1008 so that it cannot exhaust the server's memory.
  std::size_t max_queued_bytes = 64 << 20;
  std::chrono::seconds idle_timeout{60};  // WebSocket pings are sent at half of it
  // Open connections at most (HTTP, WebSocket and Socket.IO alike, from accept to close),
  // overall and per client IP address; 0: no cap. The overall cap is lowered to what the
  // file descriptor limit allows (so that 0 means "as many as it allows"). A connection over
  // a cap gets its first request answered with 503 (server full) or 429 (its address has too
  // many) and is closed; an upgrade is refused before the WebSocket handshake.
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_address = 256;
  std::chrono::seconds http_timeout{30};
  std::chrono::milliseconds shutdown_grace{5000};
  std::optional<TlsOptions> tls;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, Router router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting on `options.threads` threads. Throws tandem::Error
  // (config_invalid) when the address cannot be bound or the TLS files cannot be loaded.
  void start();
  // The bound port (useful when options.port was 0). Valid after start().
  std::uint16_t port() const;

  // Graceful stop, callable from any thread (e.g. a signal handler thread) and idempotent:
  // stop accepting, let in-flight HTTP requests finish, call on_shutdown on every WebSocket
  // handler, wait up to shutdown_grace for them to close, then close the rest.
  void stop();
  // Blocks until the server has stopped and its threads have exited. Not from an I/O thread
  // (i.e. not from a handler): that throws tandem::Error (internal).
  void wait();

  // WebSocket sessions from the accepted upgrade until their on_close.
  std::size_t open_websockets() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace tandem::net
