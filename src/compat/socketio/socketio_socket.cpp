#include "compat/socketio/socketio_socket.h"

#include <exception>

#include "common/logging.h"
#include "compat/socketio/random_id.h"

namespace tandem::compat::socketio {
namespace {

const std::shared_ptr<const std::string>& disconnect_packet() {
  static const auto packet = std::make_shared<const std::string>(encode_disconnect());
  return packet;
}

}  // namespace

SocketIoSocket::SocketIoSocket(std::shared_ptr<SocketContext> context,
                               std::shared_ptr<EngineIoSession> session, Handshake handshake,
                               Clock::time_point connect_deadline)
    : m_context(std::move(context)),
      m_session(std::move(session)),
      m_id(random_id()),
      m_connect_deadline(connect_deadline),
      m_handshake(std::move(handshake)) {}

void SocketIoSocket::send(std::shared_ptr<const std::string> packet) {
  if (m_state.load() != State::connected) return;
  m_session->send(std::move(packet));
}

std::size_t SocketIoSocket::queued_bytes() const {
  return m_session->queued_bytes();
}

void SocketIoSocket::disconnect() {
  if (!leave_connected()) return;
  m_session->send(disconnect_packet());
  m_session->close("server namespace disconnect", CloseMode::flush);
  report_disconnect("server namespace disconnect");
}

void SocketIoSocket::shutdown() {
  if (leave_connected()) report_disconnect("server shutting down");
  m_state.store(State::closed);
  m_session->close("server shutting down", CloseMode::drop);
}

bool SocketIoSocket::leave_connected() {
  auto expected = State::connected;
  if (!m_state.compare_exchange_strong(expected, State::closed)) return false;
  --m_context->connected;
  return true;
}

void SocketIoSocket::report_disconnect(const std::string& reason) {
  auto self = shared_from_this();
  const bool idle = m_callbacks.enqueue([self, reason] {
    self->call_handler("on_disconnect",
                       [&] { self->m_context->handler->on_disconnect(*self, reason); });
  });
  if (!idle) return;
  if (m_context->schedule_drain) {
    m_context->schedule_drain(std::move(self));
  } else {
    m_callbacks.drain();
  }
}

void SocketIoSocket::on_engine_message(std::string_view data, bool binary) {
  if (m_state.load() == State::closed) return;
  m_callbacks.post([self = shared_from_this(), text = std::string(data), binary] {
    self->handle_message(text, binary);
  });
}

void SocketIoSocket::on_engine_close(std::string_view reason) {
  if (leave_connected()) {
    report_disconnect(std::string(reason));
  } else {
    auto expected = State::awaiting_connect;
    m_state.compare_exchange_strong(expected, State::closed);
  }
}

SocketIoSocket::Clock::time_point SocketIoSocket::on_timer(Clock::time_point now) {
  auto next = m_session->on_timer(now);
  if (m_state.load() == State::awaiting_connect) {
    if (now >= m_connect_deadline) {
      m_state.store(State::closed);
      m_session->close("connect timeout", CloseMode::drop);
    } else {
      next = std::min(next, m_connect_deadline);
    }
  }
  return next;
}

void SocketIoSocket::handle_message(const std::string& text, bool binary) {
  if (m_state.load() == State::closed) return;
  // Binary attachments (BINARY_EVENT, BINARY_ACK) are not supported.
  if (binary) return fail("parse error");
  auto parsed = parse_socket_packet(text);
  if (!parsed) return fail("parse error");
  SocketPacket& packet = *parsed;

  if (m_state.load() == State::awaiting_connect) {
    // The protocol requires a CONNECT first.
    if (packet.type != SocketPacketType::connect) return fail("parse error");
    return handle_connect(packet);
  }

  switch (packet.type) {
    case SocketPacketType::connect:
      if (packet.nsp != "/") handle_connect(packet);
      return;
    case SocketPacketType::event: {
      if (packet.nsp != "/") return;
      auto& args = *packet.data;
      const std::string event = args.front().get<std::string>();
      args.erase(args.begin());
      auto self = shared_from_this();
      std::shared_ptr<Socket> socket = self;
      call_handler("on_event",
                   [&] { m_context->handler->on_event(socket, event, args, packet.id); });
      return;
    }
    case SocketPacketType::ack:
      // The server never asks for acknowledgements.
      return;
    case SocketPacketType::disconnect:
      if (packet.nsp != "/") return;
      if (leave_connected()) {
        call_handler("on_disconnect", [&] {
          m_context->handler->on_disconnect(*this, "client namespace disconnect");
        });
      }
      return m_session->close("client namespace disconnect", CloseMode::by_client);
    case SocketPacketType::connect_error:
    case SocketPacketType::binary_event:
    case SocketPacketType::binary_ack:
      return fail("parse error");
  }
}

void SocketIoSocket::handle_connect(SocketPacket& packet) {
  if (packet.nsp != "/") {
    m_session->send(
        std::make_shared<const std::string>(encode_connect_error(packet.nsp, "Invalid namespace")));
    return;
  }
  m_handshake.auth = packet.data ? std::move(*packet.data) : nlohmann::json::object();
  auto expected = State::awaiting_connect;
  if (!m_state.compare_exchange_strong(expected, State::connected)) return;
  ++m_context->connected;
  m_session->send(std::make_shared<const std::string>(encode_connect_reply(m_id)));
  std::shared_ptr<Socket> socket = shared_from_this();
  call_handler("on_connect", [&] { m_context->handler->on_connect(socket); });
}

void SocketIoSocket::fail(std::string_view reason) {
  if (leave_connected()) {
    call_handler("on_disconnect", [&] { m_context->handler->on_disconnect(*this, reason); });
  }
  m_state.store(State::closed);
  m_session->close(reason, CloseMode::drop);
}

template <class Callback>
void SocketIoSocket::call_handler(std::string_view what, Callback&& callback) {
  try {
    callback();
    return;
  } catch (const std::exception& e) {
    log::error("Socket.IO handler threw", {{"callback", what}, {"error", e.what()}});
  } catch (...) {
    log::error("Socket.IO handler threw", {{"callback", what}, {"error", "unknown"}});
  }
  disconnect();
}

}  // namespace tandem::compat::socketio
