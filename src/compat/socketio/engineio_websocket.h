// The net::WebSocketHandler of an Engine.IO WebSocket: either a WebSocket-only session, created
// when the connection opens, or the probe of an upgrade of a polling session.
#pragma once

#include <functional>
#include <memory>

#include "compat/socketio/engineio_session.h"
#include "net/http_server.h"

namespace tandem::compat::socketio {

class EngineIoWebSocket final : public net::WebSocketHandler {
 public:
  // Makes and registers a WebSocket-only session; null when the server is stopping.
  using SessionFactory = std::function<std::shared_ptr<EngineIoSession>()>;

  static std::shared_ptr<EngineIoWebSocket> for_new_session(SessionFactory factory);
  static std::shared_ptr<EngineIoWebSocket> for_upgrade(std::shared_ptr<EngineIoSession> session);

  void on_open(std::shared_ptr<net::WebSocketConnection> connection) override;
  void on_message(std::string_view payload, bool binary) override;
  void on_message_too_big(std::size_t limit) override;
  void on_shutdown() override;
  void on_close(const net::CloseInfo& info) override;

 private:
  EngineIoWebSocket(SessionFactory factory, std::shared_ptr<EngineIoSession> session);

  SessionFactory m_factory;
  std::shared_ptr<EngineIoSession> m_session;
  // Identity only: the session holds the connection while it uses it (a reference here would
  // keep the connection and its handler alive in a cycle).
  const net::WebSocketConnection* m_connection = nullptr;
};

}  // namespace tandem::compat::socketio
