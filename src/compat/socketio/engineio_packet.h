// Engine.IO v4 packets and HTTP long-polling payloads: pure encoding and decoding.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tandem::compat::socketio {

// The packet type is the first character of a packet's text.
enum class EnginePacketType : char {
  open = '0',
  close = '1',
  ping = '2',
  pong = '3',
  message = '4',
  upgrade = '5',
  noop = '6',
};

struct EnginePacket {
  EnginePacketType type = EnginePacketType::noop;
  std::string data;     // the payload after the type (for a binary message: the bytes)
  bool binary = false;  // a binary message ("b<base64>" in a payload, a binary WebSocket frame)
};

// Separates the packets of a polling payload (ASCII record separator).
inline constexpr char kRecordSeparator = '\x1e';

// One packet from a WebSocket text frame: a type digit and the data. Anything else is refused
// (malformed_message).
Result<EnginePacket> parse_engine_packet(std::string_view text);

// The packets of a polling payload (a POST body): packets joined by \x1e, a binary message as
// 'b' + base64. An empty body, an empty packet, or a malformed one refuses the whole payload.
Result<std::vector<EnginePacket>> decode_polling_payload(std::string_view body);

// The text of one packet.
std::string encode_engine_packet(EnginePacketType type, std::string_view data = {});

// Packet texts joined by \x1e: one polling response body.
std::string encode_polling_payload(const std::deque<std::shared_ptr<const std::string>>& packets);

struct OpenPacketFields {
  std::string sid;
  bool upgrade_to_websocket = false;  // "upgrades": ["websocket"] or []
  std::chrono::milliseconds ping_interval{};
  std::chrono::milliseconds ping_timeout{};
  std::size_t max_payload = 0;
};

// The open packet: '0' and the handshake JSON {sid, upgrades, pingInterval, pingTimeout,
// maxPayload}.
std::string encode_open_packet(const OpenPacketFields& fields);

}  // namespace tandem::compat::socketio
