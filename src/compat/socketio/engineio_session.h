// One Engine.IO v4 session: its transport (polling, WebSocket, or polling being upgraded to a
// WebSocket), the packets queued for a polling client, the heartbeat, and closing. Knows nothing
// of Socket.IO: client messages go to an EngineIoListener.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "compat/socketio/engineio_packet.h"
#include "net/http_server.h"

namespace tandem::compat::socketio {

struct EngineIoOptions {
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  std::chrono::milliseconds upgrade_timeout{10000};
  std::size_t max_payload = 1'000'000;
  std::size_t max_queued_bytes = 64u << 20;
};

// Receives what the client sends. Calls may come from several threads (HTTP requests, the
// WebSocket's strand, the housekeeping thread) but, per transport, in arrival order.
class EngineIoListener {
 public:
  virtual ~EngineIoListener() = default;
  virtual void on_engine_message(std::string_view data, bool binary) = 0;
  // Once; messages still in flight on other threads may follow and must be ignored.
  virtual void on_engine_close(std::string_view reason) = 0;
};

enum class CloseMode {
  flush,      // server close after the queued packets (polling: the client collects them)
  drop,       // server close now; queued polling packets are dropped
  by_client,  // the client closed or its transport is gone
};

// Every member is thread-safe. The listener and the finished callback are never called with the
// session's lock held.
class EngineIoSession : public std::enable_shared_from_this<EngineIoSession> {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Transport { polling, websocket };

  EngineIoSession(std::string sid, Transport transport, EngineIoOptions options);

  // Set once, before any client traffic. `on_finished` is called once when the session is over
  // (closed and nothing left for the client to collect): unregister it then.
  void set_listener(std::weak_ptr<EngineIoListener> listener, std::function<void()> on_finished);

  const std::string& sid() const { return m_sid; }

  // The open packet of this session (the handshake response of either transport).
  std::string open_packet() const;

  // --- HTTP long-polling --------------------------------------------------------------------
  // A GET: answered now if packets are queued, else held until there are (one GET at a time).
  void handle_poll(net::HttpResponder responder);
  // A POST: its payload is processed, then answered "ok".
  void handle_post(std::string_view body, const net::HttpResponder& responder);

  // --- WebSocket ----------------------------------------------------------------------------
  // The WebSocket of a WebSocket-only session opened: the open packet is sent on it.
  void attach_websocket(std::shared_ptr<net::WebSocketConnection> connection);
  // Whether a WebSocket may start upgrading this polling session now.
  bool can_upgrade() const;
  // The WebSocket of an upgrade opened (the probe); closed at once if the session cannot take it.
  void attach_probe(std::shared_ptr<net::WebSocketConnection> connection);
  void on_websocket_message(const net::WebSocketConnection& connection, std::string_view payload,
                            bool binary);
  void on_websocket_too_big(const net::WebSocketConnection& connection);
  void on_websocket_closed(const net::WebSocketConnection& connection);

  // --- Server side ----------------------------------------------------------------------------
  // Queues one packet text (WebSocket: one message; polling: part of the next response). Ignored
  // once closed. Exceeding max_queued_bytes closes the session ("slow consumer").
  void send(std::shared_ptr<const std::string> packet);
  std::size_t queued_bytes() const;
  void close(std::string_view reason, CloseMode mode);

  // Heartbeat and deadlines; returns when it next wants to run.
  Clock::time_point on_timer(Clock::time_point now);

 private:
  // What must happen once the lock is released.
  struct Deferred {
    std::optional<std::string> close_reason;
    bool finished = false;
    bool process_message = false;  // a WebSocket message to parse and deliver
  };

  void probe_message_locked(std::string_view payload, bool binary, Deferred& deferred);

  void process_client_packet(const EnginePacket& packet);
  void send_locked(std::shared_ptr<const std::string> packet, Deferred& deferred);
  void close_locked(std::string_view reason, CloseMode mode, Deferred& deferred);
  void finish_locked(Deferred& deferred);
  void answer_poll_locked(const std::string& body);
  std::string take_queue_locked();
  void complete(Deferred& deferred);
  std::shared_ptr<EngineIoListener> listener() const;

  const std::string m_sid;
  const EngineIoOptions m_options;
  const Transport m_initial_transport;

  mutable std::mutex m_mutex;
  std::weak_ptr<EngineIoListener> m_listener;
  std::function<void()> m_on_finished;
  Transport m_transport;
  bool m_closed = false;    // no client traffic accepted; the listener was told
  bool m_finished = false;  // nothing left to deliver; unregistered
  std::shared_ptr<net::WebSocketConnection> m_websocket;
  std::shared_ptr<net::WebSocketConnection> m_probe;
  bool m_probe_answered = false;  // "3probe" sent: GETs are answered at once until "5"
  Clock::time_point m_upgrade_deadline;
  std::optional<net::HttpResponder> m_poll;  // the GET being held
  std::deque<std::shared_ptr<const std::string>> m_queue;
  std::size_t m_queued_bytes = 0;
  Clock::time_point m_finish_deadline;  // polling, closed with packets for the client to collect
  Clock::time_point m_next_ping;
  bool m_awaiting_pong = false;
  Clock::time_point m_pong_deadline;
};

}  // namespace tandem::compat::socketio
