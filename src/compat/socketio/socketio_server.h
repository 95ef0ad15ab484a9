// A Socket.IO v5 server over Engine.IO v4 (HTTP long-polling, WebSocket, and the upgrade from
// one to the other), so that the unmodified `socket.io-client` 4.x can connect to Tandem. Only
// the default namespace "/" is served; binary events are not supported. See docs/socketio.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::net {
class Router;
}

namespace tandem::compat::socketio {

struct SocketIoOptions {
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  // A client that has not connected to a namespace this long after the handshake is dropped.
  std::chrono::milliseconds connect_timeout{45000};
  // A WebSocket probe that does not complete the upgrade in this time is closed.
  std::chrono::milliseconds upgrade_timeout{10000};
  // Largest POST body (a polling payload) and WebSocket message accepted, in bytes.
  std::size_t max_payload = 1'000'000;
  // A socket whose unsent packets exceed this is disconnected (slow consumer).
  std::size_t max_queued_bytes = 64u << 20;
  // Origins allowed by CORS ("*" allows every origin); empty: no CORS headers at all.
  std::vector<std::string> cors_origins;
};

struct Handshake {
  nlohmann::json auth = nlohmann::json::object();  // the CONNECT payload; {} if none
  std::string remote_address;                      // "ip:port" of the first request
  std::map<std::string, std::string> query;        // of the first request, percent-decoded
  std::map<std::string, std::string> headers;      // of the first request, names lower-cased
};

// One Socket.IO connection on namespace "/". Every member is thread-safe; calls after the socket
// closed are ignored.
class Socket {
 public:
  virtual ~Socket() = default;

  // The Socket.IO sid sent in the CONNECT reply (not the Engine.IO session id).
  virtual const std::string& id() const = 0;
  // Fixed before on_connect and never changed after.
  virtual const Handshake& handshake() const = 0;

  // Queues one Engine.IO packet text, e.g. from encode_event(). The same packet may be queued on
  // many sockets: it is never copied. Never calls the handler on the caller's thread (a slow
  // consumer's on_disconnect runs elsewhere).
  virtual void send(std::shared_ptr<const std::string> packet) = 0;
  void emit(std::string_view event, const nlohmann::json& data);
  // Answers an event that carried an ack id; `args` is the argument list (a non-array is sent
  // as the only argument).
  void ack(std::uint64_t ack_id, const nlohmann::json& args);

  // Sends a Socket.IO DISCONNECT after the packets already queued, then closes the transport;
  // the client sees "io server disconnect" and does not reconnect. on_disconnect follows with
  // "server namespace disconnect" (never on the caller's thread while it is in this call, so a
  // caller may hold locks that on_disconnect takes). Idempotent.
  virtual void disconnect() = 0;

  // Bytes queued and not yet written to the client.
  virtual std::size_t queued_bytes() const = 0;
};

// The Engine.IO message packet of a Socket.IO EVENT with one argument, e.g.
// `42["event",{"a":1}]`: encode once, send to many. Invalid UTF-8 in strings is replaced.
std::shared_ptr<const std::string> encode_event(std::string_view event, const nlohmann::json& data);

// The application. Callbacks for one socket are never concurrent and arrive in order; they must
// not block (post slow work elsewhere). A callback that throws is logged and its socket
// disconnected.
class SocketIoHandler {
 public:
  virtual ~SocketIoHandler() = default;

  // The client connected to "/" (the CONNECT reply is already queued).
  virtual void on_connect(const std::shared_ptr<Socket>& socket) = 0;
  // An EVENT: `args` is the array of the arguments after the event name; `ack_id` is set when
  // the client waits for an acknowledgement (answer with Socket::ack).
  virtual void on_event(const std::shared_ptr<Socket>& socket, std::string_view event,
                        const nlohmann::json& args, std::optional<std::uint64_t> ack_id) = 0;
  // Once per connected socket, last. Reasons as Socket.IO names them: "client namespace
  // disconnect", "server namespace disconnect", "transport close", "transport error",
  // "ping timeout", "parse error", "server shutting down", and "slow consumer".
  virtual void on_disconnect(const Socket& socket, std::string_view reason) = 0;
};

class SocketIoServer {
 public:
  SocketIoServer(SocketIoOptions options, std::shared_ptr<SocketIoHandler> handler);
  // Stops (see stop()) and joins the housekeeping thread.
  ~SocketIoServer();
  SocketIoServer(const SocketIoServer&) = delete;
  SocketIoServer& operator=(const SocketIoServer&) = delete;

  // Registers the polling handler and the WebSocket endpoint on `path` (both exact matches).
  // Routes left in a router after this object is destroyed answer 503.
  void mount(net::Router& router, const std::string& path = "/socket.io/");

  // Server shutting down: every socket gets on_disconnect("server shutting down"), every
  // transport is closed (clients see "transport close" and will reconnect), pending GETs are
  // released; new sessions are refused with 503. The on_disconnect calls are made before it
  // returns (a socket whose callback runs on another thread at that moment gets it right after).
  // Idempotent. Call it before stopping the HttpServer, holding no lock the handler takes.
  void stop();

  // Sockets connected to "/" (after CONNECT, before on_disconnect).
  std::size_t socket_count() const;
  // Engine.IO sessions, connected to a namespace or not.
  std::size_t session_count() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};

}  // namespace tandem::compat::socketio
