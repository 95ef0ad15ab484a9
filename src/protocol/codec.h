// The encoding of protocol messages, behind an interface so that a binary encoding can
// follow JSON (v1) without touching the server. Implementations are stateless: thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "protocol/messages.h"

namespace tandem::protocol {

class Codec {
 public:
  virtual ~Codec() = default;

  // malformed_message (not decodable, a missing or mistyped field: the message names it),
  // unknown_message_type, or a message.
  virtual Result<ClientMessage> decode(std::string_view frame) const = 0;
  virtual std::string encode(const ServerMessage& message) const = 0;

  // Live changes are encoded once per change, then spliced into frames for every
  // subscriber that may see them, so fan-out costs no re-encoding per subscriber.
  virtual std::string encode_change(const sync::Change& change) const = 0;
  // The same change seen as an insert or a delete (a row entering or leaving a user's view).
  virtual std::string encode_change_as(const sync::Change& change, sync::Op op) const = 0;
  virtual std::string encode_changes_frame(std::span<const std::string_view> encoded_changes,
                                           std::uint64_t checkpoint_seq) const = 0;

  // Client side.
  virtual std::string encode(const ClientMessage& message) const = 0;
  // malformed_message (naming the field), unknown_message_type, or a server message.
  virtual Result<ServerMessageReceived> decode_server(std::string_view frame) const = 0;
  // A `schema` message (malformed_message when the frame is not one, or a field is missing
  // or mistyped), so that a client can create or alter its local tables.
  virtual Result<Schema> decode_schema(std::string_view frame) const = 0;
};

std::unique_ptr<Codec> make_json_codec();

}  // namespace tandem::protocol
