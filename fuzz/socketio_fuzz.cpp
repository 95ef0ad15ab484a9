// Engine.IO and Socket.IO on any input, as the server reads them: the body of a polling POST
// (packets joined by \x1e) or one WebSocket text frame, then the Socket.IO packet inside every
// message packet, then, for an event, the Esink publish validation its arguments go through.
// Decoding what was encoded must give back the same packets.
#include <string>
#include <vector>

#include "common/base64.h"
#include "compat/esink/publish_request.h"
#include "compat/socketio/engineio_packet.h"
#include "compat/socketio/socketio_packet.h"
#include "fuzz_check.h"

namespace {

using namespace tandem::compat::socketio;
namespace esink = tandem::compat::esink;

// The packet text as a client would send it (the inverse of parse_socket_packet).
std::string encode_socket_packet(const SocketPacket& packet) {
  std::string text(1, static_cast<char>('0' + static_cast<int>(packet.type)));
  if (packet.type == SocketPacketType::binary_event ||
      packet.type == SocketPacketType::binary_ack) {
    text += std::to_string(packet.attachments) + "-";
  }
  if (packet.nsp != "/") text += packet.nsp + ",";
  if (packet.id) text += std::to_string(*packet.id);
  if (packet.data)
    text += packet.data->dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  return text;
}

void check_socket_packet(std::string_view text) {
  auto packet = parse_socket_packet(text);
  if (!packet) return;
  const std::string encoded = encode_socket_packet(*packet);
  auto again = parse_socket_packet(encoded);
  FUZZ_CHECK(again.ok(), encoded);
  FUZZ_CHECK(again->type == packet->type && again->nsp == packet->nsp && again->id == packet->id &&
                 again->attachments == packet->attachments && again->data == packet->data,
             encoded);
  if (packet->type == SocketPacketType::event) {
    // Esink republishes the first argument after the event name.
    const auto& args = *packet->data;
    const nlohmann::json body = args.size() > 1 ? args[1] : nlohmann::json();
    (void)esink::validate_publish(body, esink::PublishBody::socket);
    (void)esink::validate_publish(body, esink::PublishBody::api);
  }
}

void check_engine_packets(const std::vector<EnginePacket>& packets) {
  for (const auto& packet : packets) {
    if (packet.type == EnginePacketType::message && !packet.binary)
      check_socket_packet(packet.data);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = tandem::fuzz::as_text(data, size);

  if (auto packet = parse_engine_packet(input)) {
    FUZZ_CHECK(encode_engine_packet(packet->type, packet->data) == input, input);
    check_engine_packets({*packet});
  }

  auto packets = decode_polling_payload(input);
  if (!packets) return 0;
  FUZZ_CHECK(!packets->empty(), input);
  std::deque<std::shared_ptr<const std::string>> texts;
  for (const auto& packet : *packets) {
    texts.push_back(std::make_shared<const std::string>(
        packet.binary
            ? "b" + tandem::base64_encode(reinterpret_cast<const std::uint8_t*>(packet.data.data()),
                                          packet.data.size())
            : encode_engine_packet(packet.type, packet.data)));
  }
  const std::string body = encode_polling_payload(texts);
  auto again = decode_polling_payload(body);
  FUZZ_CHECK(again.ok() && again->size() == packets->size(), body);
  for (std::size_t i = 0; i < packets->size(); ++i) {
    const auto& a = (*packets)[i];
    const auto& b = (*again)[i];
    FUZZ_CHECK(a.type == b.type && a.data == b.data && a.binary == b.binary, body);
  }
  check_engine_packets(*packets);
  return 0;
}
