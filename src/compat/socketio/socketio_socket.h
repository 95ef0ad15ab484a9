// The Socket.IO layer of one Engine.IO session: namespace connection, events, acks and
// disconnection on "/", and the application's callbacks, run one at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "compat/socketio/callback_queue.h"
#include "compat/socketio/engineio_session.h"
#include "compat/socketio/socketio_packet.h"
#include "compat/socketio/socketio_server.h"

namespace tandem::compat::socketio {

class SocketIoSocket;

// Shared by a server and its sockets.
struct SocketContext {
  std::shared_ptr<SocketIoHandler> handler;
  std::atomic<std::size_t> connected{0};
  // Gives a socket whose callback queue needs draining to another thread (the housekeeping
  // thread): for callbacks that an application's own call (send, disconnect) brings about, which
  // must not run on the application's thread, where it may hold the locks the callback takes.
  // Set once, before the first socket.
  std::function<void(std::shared_ptr<SocketIoSocket>)> schedule_drain;
};

class SocketIoSocket final : public Socket,
                             public EngineIoListener,
                             public std::enable_shared_from_this<SocketIoSocket> {
 public:
  using Clock = std::chrono::steady_clock;

  // `handshake.auth` is filled from the CONNECT packet. A client that has not connected to "/"
  // by `connect_deadline` is dropped.
  SocketIoSocket(std::shared_ptr<SocketContext> context, std::shared_ptr<EngineIoSession> session,
                 Handshake handshake, Clock::time_point connect_deadline);

  // Socket
  const std::string& id() const override { return m_id; }
  const Handshake& handshake() const override { return m_handshake; }
  void send(std::shared_ptr<const std::string> packet) override;
  void disconnect() override;
  std::size_t queued_bytes() const override;

  // EngineIoListener
  void on_engine_message(std::string_view data, bool binary) override;
  void on_engine_close(std::string_view reason) override;

  EngineIoSession& session() const { return *m_session; }
  // The session's heartbeat and the connect timeout; returns when it next wants to run.
  Clock::time_point on_timer(Clock::time_point now);
  // The server is stopping: on_disconnect("server shutting down"), the transport closes without
  // a DISCONNECT packet (so that clients reconnect).
  void shutdown();
  // Runs the callbacks scheduled through SocketContext::schedule_drain.
  void drain_callbacks() { m_callbacks.drain(); }

 private:
  enum class State { awaiting_connect, connected, closed };

  // Run on m_callbacks.
  void handle_message(const std::string& text, bool binary);
  void handle_connect(SocketPacket& packet);
  void fail(std::string_view reason);
  // on_disconnect, never run on the calling thread (see SocketContext::schedule_drain).
  void report_disconnect(const std::string& reason);

  // connected -> closed, exactly once; the caller then reports the disconnection.
  bool leave_connected();
  template <class Callback>
  void call_handler(std::string_view what, Callback&& callback);

  const std::shared_ptr<SocketContext> m_context;
  const std::shared_ptr<EngineIoSession> m_session;
  const std::string m_id;
  const Clock::time_point m_connect_deadline;
  Handshake m_handshake;  // written once, before on_connect
  std::atomic<State> m_state{State::awaiting_connect};
  CallbackQueue m_callbacks;
};

}  // namespace tandem::compat::socketio
