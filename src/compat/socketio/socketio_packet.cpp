#include "compat/socketio/socketio_packet.h"

#include "common/json_depth.h"

namespace tandem::compat::socketio {
namespace {

using nlohmann::json;

// The largest integer a JavaScript number holds exactly: ack ids beyond it cannot be answered.
constexpr std::uint64_t kMaxAckId = (std::uint64_t{1} << 53) - 1;

Error malformed(const std::string& message) {
  return Error(ErrorCode::malformed_message, message);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool payload_valid(const SocketPacket& packet) {
  const auto& data = packet.data;
  switch (packet.type) {
    case SocketPacketType::connect:
      return !data || data->is_object();
    case SocketPacketType::disconnect:
      return !data;
    case SocketPacketType::event:
    case SocketPacketType::binary_event:
      return data && data->is_array() && !data->empty() && data->front().is_string();
    case SocketPacketType::ack:
    case SocketPacketType::binary_ack:
      return data && data->is_array() && packet.id.has_value();
    case SocketPacketType::connect_error:
      return data && (data->is_object() || data->is_string());
  }
  return false;
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Result<SocketPacket> parse_socket_packet(std::string_view text) {
  if (text.empty()) return malformed("empty Socket.IO packet");
  if (!is_digit(text.front()) || text.front() > '6') {
    return malformed("unknown Socket.IO packet type");
  }
  SocketPacket packet;
  packet.type = static_cast<SocketPacketType>(text.front() - '0');
  std::size_t pos = 1;

  if (packet.type == SocketPacketType::binary_event ||
      packet.type == SocketPacketType::binary_ack) {
    const auto dash = text.find('-', pos);
    if (dash == std::string_view::npos || dash == pos || dash - pos > 6) {
      return malformed("invalid attachment count");
    }
    for (; pos < dash; ++pos) {
      if (!is_digit(text[pos])) return malformed("invalid attachment count");
      packet.attachments = packet.attachments * 10 + static_cast<std::size_t>(text[pos] - '0');
    }
    ++pos;
  }

  if (pos < text.size() && text[pos] == '/') {
    const auto comma = text.find(',', pos);
    const auto end = comma == std::string_view::npos ? text.size() : comma;
    packet.nsp.assign(text.substr(pos, end - pos));
    pos = comma == std::string_view::npos ? text.size() : comma + 1;
  }

  if (pos < text.size() && is_digit(text[pos])) {
    std::uint64_t id = 0;
    for (; pos < text.size() && is_digit(text[pos]); ++pos) {
      id = id * 10 + static_cast<std::uint64_t>(text[pos] - '0');
      if (id > kMaxAckId) return malformed("ack id too large");
    }
    packet.id = id;
  }

  if (pos < text.size()) {
    const std::string_view payload = text.substr(pos);
    if (json_depth(payload) > kMaxJsonDepth) return malformed("JSON nested too deeply");
    json data = json::parse(payload, nullptr, false);
    if (data.is_discarded()) return malformed("invalid JSON in a Socket.IO packet");
    packet.data = std::move(data);
  }

  if (!payload_valid(packet)) return malformed("invalid Socket.IO packet payload");
  return packet;
}

std::string encode_connect_reply(std::string_view sid) {
  return "40" + dump(json{{"sid", sid}});
}

std::string encode_connect_error(std::string_view nsp, std::string_view message) {
  std::string text = "44";
  if (nsp != "/") {
    text += nsp;
    text += ',';
  }
  text += dump(json{{"message", message}});
  return text;
}

std::string encode_disconnect() {
  return "41";
}

std::string encode_event_message(std::string_view event, const json& data) {
  std::string text = "42[";
  text += dump(json(event));
  text += ',';
  text += dump(data);
  text += ']';
  return text;
}

std::string encode_ack(std::uint64_t id, const json& args) {
  std::string text = "43" + std::to_string(id);
  if (args.is_array()) {
    text += dump(args);
  } else {
    text += '[';
    text += dump(args);
    text += ']';
  }
  return text;
}

}  // namespace tandem::compat::socketio
