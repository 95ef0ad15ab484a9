#include "net/websocket_frame.h"

namespace tandem::net {

namespace {
constexpr std::uint8_t kFinText = 0x81;
constexpr std::uint8_t kLength16 = 126;
constexpr std::uint8_t kLength64 = 127;
}  // namespace

WebSocketFrameHeader text_frame_header(std::size_t payload_size) {
  WebSocketFrameHeader header;
  header.bytes[0] = kFinText;
  if (payload_size < kLength16) {
    header.bytes[1] = static_cast<std::uint8_t>(payload_size);
    header.size = 2;
    return header;
  }
  // Extended lengths are big-endian; 16 bits when they fit, else 64.
  const std::size_t length_bytes = payload_size <= 0xFFFF ? 2 : 8;
  header.bytes[1] = length_bytes == 2 ? kLength16 : kLength64;
  const auto length = static_cast<std::uint64_t>(payload_size);
  for (std::size_t i = 0; i < length_bytes; ++i) {
    header.bytes[2 + i] = static_cast<std::uint8_t>(length >> (8 * (length_bytes - 1 - i)));
  }
  header.size = 2 + length_bytes;
  return header;
}

}  // namespace tandem::net
