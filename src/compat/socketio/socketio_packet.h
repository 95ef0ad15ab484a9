// Socket.IO v5 packets (the default parser's text encoding): pure parsing and encoding. Each
// Socket.IO packet travels as the data of one Engine.IO message packet; the encoders here return
// the whole Engine.IO packet text (with its leading '4').
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tandem::compat::socketio {

enum class SocketPacketType {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

struct SocketPacket {
  SocketPacketType type = SocketPacketType::connect;
  std::string nsp = "/";
  std::optional<std::uint64_t> id;  // ack id
  std::optional<nlohmann::json> data;
  std::size_t attachments = 0;  // binary types only
};

// JSON nested deeper than this is refused (it would cost recursion in whoever prints it).
inline constexpr std::size_t kMaxJsonDepth = 64;

// Parses `<type>[<attachments>-][<nsp>,][<id>][<json>]` and checks the payload's shape as the
// type requires (CONNECT: absent or an object; DISCONNECT: absent; EVENT: an array whose first
// element is a string; ACK: an array; CONNECT_ERROR: an object or a string). Anything else is
// refused (malformed_message).
Result<SocketPacket> parse_socket_packet(std::string_view text);

// Engine.IO packet texts of the packets the server sends.
std::string encode_connect_reply(std::string_view sid);                            // 40{"sid":..}
std::string encode_connect_error(std::string_view nsp, std::string_view message);  // 44..
std::string encode_disconnect();                                                   // 41
std::string encode_event_message(std::string_view event, const nlohmann::json& data);  // 42[..]
std::string encode_ack(std::uint64_t id, const nlohmann::json& args);                  // 43<id>[..]

}  // namespace tandem::compat::socketio
