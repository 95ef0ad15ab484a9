#include "compat/socketio/engineio_packet.h"

#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace tandem::compat::socketio {
namespace {

Error malformed(const std::string& message) {
  return Error(ErrorCode::malformed_message, message);
}

}  // namespace

Result<EnginePacket> parse_engine_packet(std::string_view text) {
  if (text.empty()) return malformed("empty Engine.IO packet");
  const char type = text.front();
  if (type < '0' || type > '6') return malformed("unknown Engine.IO packet type");
  EnginePacket packet;
  packet.type = static_cast<EnginePacketType>(type);
  packet.data.assign(text.substr(1));
  return packet;
}

Result<std::vector<EnginePacket>> decode_polling_payload(std::string_view body) {
  if (body.empty()) return malformed("empty Engine.IO payload");
  std::vector<EnginePacket> packets;
  while (true) {
    const auto end = body.find(kRecordSeparator);
    const std::string_view text = body.substr(0, end);
    if (!text.empty() && text.front() == 'b') {
      auto bytes = base64_decode(text.substr(1));
      if (!bytes) return malformed("invalid base64 in a binary Engine.IO packet");
      EnginePacket packet;
      packet.type = EnginePacketType::message;
      packet.data.assign(bytes->begin(), bytes->end());
      packet.binary = true;
      packets.push_back(std::move(packet));
    } else {
      auto packet = parse_engine_packet(text);
      if (!packet) return packet.error();
      packets.push_back(std::move(*packet));
    }
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 1);
  }
  return packets;
}

std::string encode_engine_packet(EnginePacketType type, std::string_view data) {
  std::string text;
  text.reserve(1 + data.size());
  text += static_cast<char>(type);
  text += data;
  return text;
}

std::string encode_polling_payload(const std::deque<std::shared_ptr<const std::string>>& packets) {
  std::size_t size = 0;
  for (const auto& packet : packets)
    size += packet->size() + 1;
  std::string body;
  body.reserve(size);
  bool first = true;
  for (const auto& packet : packets) {
    if (!first) body += kRecordSeparator;
    body += *packet;
    first = false;
  }
  return body;
}

std::string encode_open_packet(const OpenPacketFields& fields) {
  nlohmann::json handshake = {
      {"sid", fields.sid},
      {"upgrades", fields.upgrade_to_websocket ? nlohmann::json::array({"websocket"})
                                               : nlohmann::json::array()},
      {"pingInterval", fields.ping_interval.count()},
      {"pingTimeout", fields.ping_timeout.count()},
      {"maxPayload", fields.max_payload},
  };
  return encode_engine_packet(EnginePacketType::open, handshake.dump());
}

}  // namespace tandem::compat::socketio
