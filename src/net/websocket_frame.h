// The header of an unmasked, unfragmented WebSocket frame (RFC 6455 section 5.2): what a
// server puts before each message it writes itself (see exclusive_write_stream.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tandem::net {

struct WebSocketFrameHeader {
  std::array<std::uint8_t, 10> bytes{};
  std::size_t size = 0;
};

// FIN set, opcode text (0x1), no mask, the shortest length encoding for `payload_size`.
WebSocketFrameHeader text_frame_header(std::size_t payload_size);

}  // namespace tandem::net
