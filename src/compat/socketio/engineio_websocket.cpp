#include "compat/socketio/engineio_websocket.h"

namespace tandem::compat::socketio {

EngineIoWebSocket::EngineIoWebSocket(SessionFactory factory,
                                     std::shared_ptr<EngineIoSession> session)
    : m_factory(std::move(factory)), m_session(std::move(session)) {}

std::shared_ptr<EngineIoWebSocket> EngineIoWebSocket::for_new_session(SessionFactory factory) {
  return std::shared_ptr<EngineIoWebSocket>(new EngineIoWebSocket(std::move(factory), nullptr));
}

std::shared_ptr<EngineIoWebSocket> EngineIoWebSocket::for_upgrade(
    std::shared_ptr<EngineIoSession> session) {
  return std::shared_ptr<EngineIoWebSocket>(new EngineIoWebSocket(nullptr, std::move(session)));
}

void EngineIoWebSocket::on_open(std::shared_ptr<net::WebSocketConnection> connection) {
  m_connection = connection.get();
  if (m_factory) {
    m_session = m_factory();
    m_factory = nullptr;
    if (!m_session) return connection->close(1001, "server shutting down");
    m_session->attach_websocket(std::move(connection));
  } else {
    m_session->attach_probe(std::move(connection));
  }
}

void EngineIoWebSocket::on_message(std::string_view payload, bool binary) {
  if (m_session) m_session->on_websocket_message(*m_connection, payload, binary);
}

void EngineIoWebSocket::on_message_too_big(std::size_t /*limit*/) {
  if (m_session) m_session->on_websocket_too_big(*m_connection);
}

void EngineIoWebSocket::on_shutdown() {
  if (m_session) m_session->close("server shutting down", CloseMode::drop);
}

void EngineIoWebSocket::on_close(const net::CloseInfo& /*info*/) {
  if (m_session) m_session->on_websocket_closed(*m_connection);
  m_session.reset();
}

}  // namespace tandem::compat::socketio
