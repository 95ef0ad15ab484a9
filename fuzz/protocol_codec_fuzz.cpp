// The protocol v1 JSON codec on any frame: what a client sends the server (hello, push, ping),
// and what the client SDK reads from a server. A decoded client message must encode to a frame
// that decodes to the same message.
#include <string>

#include "fuzz_check.h"
#include "protocol/codec.h"

namespace {

using tandem::ErrorCode;
using tandem::protocol::Codec;

bool is_decode_error(ErrorCode code) {
  return code == ErrorCode::malformed_message || code == ErrorCode::unknown_message_type;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto codec = tandem::protocol::make_json_codec();
  const std::string_view frame = tandem::fuzz::as_text(data, size);

  auto message = codec->decode(frame);
  if (message) {
    const std::string encoded = codec->encode(*message);
    auto again = codec->decode(encoded);
    FUZZ_CHECK(again.ok(), encoded);
    FUZZ_CHECK(codec->encode(*again) == encoded, encoded);
  } else {
    FUZZ_CHECK(is_decode_error(message.error().code()), message.error().message());
  }

  auto server_message = codec->decode_server(frame);
  if (!server_message) {
    FUZZ_CHECK(is_decode_error(server_message.error().code()), server_message.error().message());
  }
  auto schema = codec->decode_schema(frame);
  if (!schema) FUZZ_CHECK(is_decode_error(schema.error().code()), schema.error().message());
  return 0;
}
