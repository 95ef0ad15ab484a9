#include "compat/socketio/engineio_session.h"

#include <algorithm>

#include "common/logging.h"
#include "compat/socketio/engineio_http.h"

namespace tandem::compat::socketio {
namespace {

// Constant packets, shared by every session.
const std::shared_ptr<const std::string>& ping_packet() {
  static const auto packet = std::make_shared<const std::string>("2");
  return packet;
}
const std::shared_ptr<const std::string>& probe_pong_packet() {
  static const auto packet = std::make_shared<const std::string>("3probe");
  return packet;
}
constexpr std::string_view kNoop = "6";
constexpr std::string_view kClose = "1";

// WebSocket close codes of the transport's own closes.
constexpr std::uint16_t kNormalClosure = 1000;
constexpr std::uint16_t kProtocolError = 1002;
constexpr std::uint16_t kMessageTooBig = 1009;

}  // namespace

EngineIoSession::EngineIoSession(std::string sid, Transport transport, EngineIoOptions options)
    : m_sid(std::move(sid)),
      m_options(options),
      m_initial_transport(transport),
      m_transport(transport),
      m_next_ping(Clock::now() + options.ping_interval) {}

void EngineIoSession::set_listener(std::weak_ptr<EngineIoListener> listener,
                                   std::function<void()> on_finished) {
  std::lock_guard lock(m_mutex);
  m_listener = std::move(listener);
  m_on_finished = std::move(on_finished);
}

std::string EngineIoSession::open_packet() const {
  OpenPacketFields fields;
  fields.sid = m_sid;
  fields.upgrade_to_websocket = m_initial_transport == Transport::polling;
  fields.ping_interval = m_options.ping_interval;
  fields.ping_timeout = m_options.ping_timeout;
  fields.max_payload = m_options.max_payload;
  return encode_open_packet(fields);
}

std::shared_ptr<EngineIoListener> EngineIoSession::listener() const {
  std::lock_guard lock(m_mutex);
  return m_listener.lock();
}

// --- HTTP long-polling ------------------------------------------------------------------------

void EngineIoSession::handle_poll(net::HttpResponder responder) {
  Deferred deferred;
  {
    std::lock_guard lock(m_mutex);
    if (m_finished) {
      responder(engine_error_response(EngineError::unknown_sid));
      return;
    }
    if (m_transport != Transport::polling) {
      responder(engine_error_response(EngineError::bad_request));
      return;
    }
    if (m_poll) {
      // Two GETs at once break ordering: the protocol closes the session.
      answer_poll_locked(std::string(kClose));
      responder(engine_error_response(EngineError::bad_request));
      close_locked("transport error", CloseMode::drop, deferred);
    } else if (!m_queue.empty()) {
      responder(polling_response(take_queue_locked()));
    } else if (m_closed) {
      // Closed after the queue (flush): the queue went out in an earlier response.
      responder(polling_response(std::string(kClose)));
      finish_locked(deferred);
    } else if (m_probe_answered) {
      responder(polling_response(std::string(kNoop)));
    } else {
      m_poll = std::move(responder);
    }
  }
  complete(deferred);
}

void EngineIoSession::handle_post(std::string_view body, const net::HttpResponder& responder) {
  Deferred deferred;
  std::optional<std::vector<EnginePacket>> packets;
  {
    std::lock_guard lock(m_mutex);
    if (m_finished) {
      responder(engine_error_response(EngineError::unknown_sid));
      return;
    }
    if (m_transport != Transport::polling) {
      responder(engine_error_response(EngineError::bad_request));
      return;
    }
    if (m_closed) {
      // Closing after the queue: the client may still send (its close packet, typically),
      // which is accepted and ignored, as the session is over.
      responder(polling_response("ok"));
      return;
    }
    if (body.size() > m_options.max_payload) {
      responder(payload_too_large_response());
      close_locked("transport error", CloseMode::drop, deferred);
    } else if (auto decoded = decode_polling_payload(body); !decoded) {
      responder(engine_error_response(EngineError::bad_request));
      close_locked("parse error", CloseMode::drop, deferred);
    } else {
      packets = std::move(*decoded);
    }
  }
  if (!packets) return complete(deferred);
  // Answered only after processing: the client sends its next POST after this answer, so
  // payloads are processed in order even when they arrive on different connections.
  for (auto& packet : *packets)
    process_client_packet(packet);
  responder(polling_response("ok"));
}

// --- WebSocket --------------------------------------------------------------------------------

void EngineIoSession::attach_websocket(std::shared_ptr<net::WebSocketConnection> connection) {
  std::lock_guard lock(m_mutex);
  if (m_closed) {
    connection->close(kNormalClosure, "");
    return;
  }
  connection->send_text(open_packet());
  m_websocket = std::move(connection);
}

bool EngineIoSession::can_upgrade() const {
  std::lock_guard lock(m_mutex);
  return !m_closed && m_transport == Transport::polling && !m_probe;
}

void EngineIoSession::attach_probe(std::shared_ptr<net::WebSocketConnection> connection) {
  std::lock_guard lock(m_mutex);
  if (m_closed || m_transport != Transport::polling || m_probe) {
    connection->close(kProtocolError, "");
    return;
  }
  m_probe = std::move(connection);
  m_probe_answered = false;
  m_upgrade_deadline = Clock::now() + m_options.upgrade_timeout;
}

void EngineIoSession::on_websocket_message(const net::WebSocketConnection& connection,
                                           std::string_view payload, bool binary) {
  Deferred deferred;
  {
    std::lock_guard lock(m_mutex);
    if (m_finished) return;
    if (m_probe.get() == &connection) {
      probe_message_locked(payload, binary, deferred);
    } else {
      if (m_closed || m_websocket.get() != &connection) return;
      if (payload.size() > m_options.max_payload) {
        m_websocket->close(kMessageTooBig, "");
        close_locked("transport error", CloseMode::drop, deferred);
      } else {
        deferred.process_message = true;  // parsed and delivered below, without the lock
      }
    }
  }
  if (!deferred.process_message) return complete(deferred);
  if (binary) {
    EnginePacket packet;
    packet.type = EnginePacketType::message;
    packet.data.assign(payload);
    packet.binary = true;
    return process_client_packet(packet);
  }
  auto packet = parse_engine_packet(payload);
  if (!packet) return close("parse error", CloseMode::drop);
  process_client_packet(*packet);
}

void EngineIoSession::probe_message_locked(std::string_view payload, bool binary,
                                           Deferred& deferred) {
  if (!binary && payload == "2probe") {
    m_probe->send_text(probe_pong_packet());
    m_probe_answered = true;
    // The client pauses polling until its pending GET returns: release it.
    if (m_poll) answer_poll_locked(m_queue.empty() ? std::string(kNoop) : take_queue_locked());
  } else if (!binary && payload == "5" && m_probe_answered) {
    m_transport = Transport::websocket;
    m_websocket = std::move(m_probe);
    m_probe.reset();
    m_probe_answered = false;
    if (m_poll) answer_poll_locked(std::string(kNoop));
    for (auto& packet : m_queue)
      m_websocket->send_text(std::move(packet));
    m_queue.clear();
    m_queued_bytes = 0;
    if (m_closed) {
      // Closed while upgrading: the packets left went out on the new transport, which closes
      // after them.
      m_websocket->close(kNormalClosure, "");
      m_websocket.reset();
      finish_locked(deferred);
    }
  } else {
    m_probe->close(kProtocolError, "");
    m_probe.reset();
    m_probe_answered = false;
  }
}

void EngineIoSession::on_websocket_too_big(const net::WebSocketConnection& connection) {
  Deferred deferred;
  {
    std::lock_guard lock(m_mutex);
    if (m_probe.get() == &connection) {
      m_probe.reset();
      m_probe_answered = false;
    } else if (m_websocket.get() == &connection) {
      close_locked("transport error", CloseMode::drop, deferred);
    }
  }
  complete(deferred);
}

void EngineIoSession::on_websocket_closed(const net::WebSocketConnection& connection) {
  Deferred deferred;
  {
    std::lock_guard lock(m_mutex);
    if (m_probe.get() == &connection) {
      m_probe.reset();
      m_probe_answered = false;
    } else if (m_websocket.get() == &connection) {
      close_locked("transport close", CloseMode::by_client, deferred);
    }
  }
  complete(deferred);
}

// --- Client packets -----------------------------------------------------------------------------

void EngineIoSession::process_client_packet(const EnginePacket& packet) {
  switch (packet.type) {
    case EnginePacketType::message:
      if (auto target = listener()) target->on_engine_message(packet.data, packet.binary);
      return;
    case EnginePacketType::pong: {
      std::lock_guard lock(m_mutex);
      if (m_awaiting_pong) {
        m_awaiting_pong = false;
        m_next_ping = Clock::now() + m_options.ping_interval;
      }
      return;
    }
    case EnginePacketType::close:
      return close("transport close", CloseMode::by_client);
    case EnginePacketType::open:
      // Only the server opens.
      return close("parse error", CloseMode::drop);
    case EnginePacketType::ping:
    case EnginePacketType::upgrade:
    case EnginePacketType::noop:
      // v4 clients ping only to probe, and upgrade only on the probe; noop carries nothing.
      return;
  }
}

// --- Server side ------------------------------------------------------------------------------

void EngineIoSession::send(std::shared_ptr<const std::string> packet) {
  if (!packet) return;
  Deferred deferred;
  {
    std::lock_guard lock(m_mutex);
    send_locked(std::move(packet), deferred);
  }
  complete(deferred);
}

void EngineIoSession::send_locked(std::shared_ptr<const std::string> packet, Deferred& deferred) {
  if (m_closed) return;
  if (m_transport == Transport::websocket) {
    if (!m_websocket) return;
    m_websocket->send_text(std::move(packet));
    if (m_websocket->queued_bytes() > m_options.max_queued_bytes) {
      close_locked("slow consumer", CloseMode::drop, deferred);
    }
    return;
  }
  m_queued_bytes += packet->size();
  m_queue.push_back(std::move(packet));
  if (m_queued_bytes > m_options.max_queued_bytes) {
    close_locked("slow consumer", CloseMode::drop, deferred);
    return;
  }
  if (m_poll) answer_poll_locked(take_queue_locked());
}

std::size_t EngineIoSession::queued_bytes() const {
  std::lock_guard lock(m_mutex);
  if (m_transport == Transport::websocket && m_websocket) return m_websocket->queued_bytes();
  return m_queued_bytes;
}

void EngineIoSession::close(std::string_view reason, CloseMode mode) {
  Deferred deferred;
  {
    std::lock_guard lock(m_mutex);
    close_locked(reason, mode, deferred);
  }
  complete(deferred);
}

void EngineIoSession::close_locked(std::string_view reason, CloseMode mode, Deferred& deferred) {
  if (m_closed) return;
  m_closed = true;
  deferred.close_reason = std::string(reason);
  if (m_transport == Transport::websocket) {
    // The WebSocket sends its close frame after the messages already queued.
    if (m_websocket) m_websocket->close(kNormalClosure, "");
    m_websocket.reset();
    return finish_locked(deferred);
  }
  if (mode == CloseMode::flush && !m_queue.empty()) {
    // The client collects the queue with its next GET, which it sends at once (or, when it is
    // upgrading with its polling paused, on the WebSocket once the upgrade completes), and the
    // close packet with the GET after that: socket.io-client handles a close packet at once but
    // the messages before it in the same response a moment later, so in one response the
    // close would overtake them.
    m_finish_deadline = Clock::now() + m_options.ping_timeout;
    return;
  }
  // A GET still held learns that the session is over: "6" when the client closed, as the
  // reference server answers; "1" when the server did.
  if (m_poll) answer_poll_locked(std::string(mode == CloseMode::by_client ? kNoop : kClose));
  finish_locked(deferred);
}

void EngineIoSession::finish_locked(Deferred& deferred) {
  if (m_finished) return;
  m_finished = true;
  deferred.finished = true;
  if (m_poll) answer_poll_locked(std::string(kClose));
  if (m_probe) {
    m_probe->close(kNormalClosure, "");
    m_probe.reset();
  }
  m_queue.clear();
  m_queued_bytes = 0;
}

void EngineIoSession::answer_poll_locked(const std::string& body) {
  // The responder only posts to the connection's executor: safe under the lock.
  auto responder = std::move(*m_poll);
  m_poll.reset();
  responder(polling_response(body));
}

std::string EngineIoSession::take_queue_locked() {
  std::string body = encode_polling_payload(m_queue);
  m_queue.clear();
  m_queued_bytes = 0;
  return body;
}

void EngineIoSession::complete(Deferred& deferred) {
  if (deferred.close_reason) {
    if (auto target = listener()) target->on_engine_close(*deferred.close_reason);
  }
  if (deferred.finished) {
    std::function<void()> on_finished;
    {
      std::lock_guard lock(m_mutex);
      on_finished = std::move(m_on_finished);
      m_on_finished = nullptr;
    }
    if (on_finished) on_finished();
  }
}

EngineIoSession::Clock::time_point EngineIoSession::on_timer(Clock::time_point now) {
  Deferred deferred;
  auto next = Clock::time_point::max();
  {
    std::lock_guard lock(m_mutex);
    if (m_finished) return next;
    if (m_closed) {
      if (now >= m_finish_deadline) {
        finish_locked(deferred);
      } else {
        next = m_finish_deadline;
      }
    } else {
      if (m_probe && now >= m_upgrade_deadline) {
        m_probe->close(kProtocolError, "");
        m_probe.reset();
        m_probe_answered = false;
      }
      if (m_awaiting_pong) {
        if (now >= m_pong_deadline) {
          close_locked("ping timeout", CloseMode::drop, deferred);
        } else {
          next = m_pong_deadline;
        }
      } else if (now >= m_next_ping) {
        m_awaiting_pong = true;
        m_pong_deadline = now + m_options.ping_timeout;
        next = m_pong_deadline;
        send_locked(ping_packet(), deferred);
      } else {
        next = m_next_ping;
      }
      if (m_probe) next = std::min(next, m_upgrade_deadline);
    }
  }
  complete(deferred);
  return next;
}

}  // namespace tandem::compat::socketio
