#include "compat/socketio/socketio_packet.h"

#include <gtest/gtest.h>

#include "compat/socketio/socketio_server.h"

namespace tandem::compat::socketio {
namespace {

using nlohmann::json;

TEST(SocketIoPacket, ConnectWithoutPayloadIsTheDefaultNamespace) {
  auto packet = parse_socket_packet("0");
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(packet->type, SocketPacketType::connect);
  EXPECT_EQ(packet->nsp, "/");
  EXPECT_FALSE(packet->data.has_value());
  EXPECT_FALSE(packet->id.has_value());
}

TEST(SocketIoPacket, ConnectCarriesTheAuthObjectAndANamespace) {
  auto packet = parse_socket_packet("0{\"token\":\"abc\"}");
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(*packet->data, json({{"token", "abc"}}));

  auto admin = parse_socket_packet("0/admin,{\"token\":\"abc\"}");
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->nsp, "/admin");
  EXPECT_EQ(*admin->data, json({{"token", "abc"}}));

  auto bare = parse_socket_packet("0/admin,");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->nsp, "/admin");
  EXPECT_FALSE(bare->data.has_value());
}

TEST(SocketIoPacket, EventWithAckIdAndArguments) {
  auto packet = parse_socket_packet("212[\"foo\",{\"a\":[1,2]},\"x\"]");
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(packet->type, SocketPacketType::event);
  ASSERT_TRUE(packet->id.has_value());
  EXPECT_EQ(*packet->id, 12u);
  EXPECT_EQ(*packet->data, json::parse("[\"foo\",{\"a\":[1,2]},\"x\"]"));

  auto namespaced = parse_socket_packet("2/admin,7[\"bar\"]");
  ASSERT_TRUE(namespaced.ok());
  EXPECT_EQ(namespaced->nsp, "/admin");
  EXPECT_EQ(*namespaced->id, 7u);
}

TEST(SocketIoPacket, DisconnectAndAck) {
  auto disconnect = parse_socket_packet("1");
  ASSERT_TRUE(disconnect.ok());
  EXPECT_EQ(disconnect->type, SocketPacketType::disconnect);

  auto ack = parse_socket_packet("313[\"bar\"]");
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->type, SocketPacketType::ack);
  EXPECT_EQ(*ack->id, 13u);
}

TEST(SocketIoPacket, BinaryEventsParseTheirAttachmentCount) {
  auto packet = parse_socket_packet("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]");
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(packet->type, SocketPacketType::binary_event);
  EXPECT_EQ(packet->attachments, 1u);
}

TEST(SocketIoPacket, MalformedPacketsAreRefused) {
  for (const std::string_view bad : {
           "",                            // nothing
           "7",                           // unknown type
           "x[\"a\"]",                    // not a type digit
           "2",                           // event without payload
           "2[]",                         // event without a name
           "2[1]",                        // event name not a string
           "2{\"a\":1}",                  // event payload not an array
           "2[\"a\"",                     // truncated JSON
           "0[1]",                        // connect payload not an object
           "1{}",                         // disconnect with a payload
           "3[\"a\"]",                    // ack without id
           "31{}",                        // ack payload not an array
           "5[\"a\"]",                    // binary event without attachment count
           "2999999999999999999[\"a\"]",  // ack id beyond 2^53
       }) {
    auto packet = parse_socket_packet(bad);
    ASSERT_FALSE(packet.ok()) << bad;
    EXPECT_EQ(packet.error().code(), ErrorCode::malformed_message);
  }
}

TEST(SocketIoPacket, DeeplyNestedJsonIsRefused) {
  const std::string deep = "2[\"a\"," + std::string(1000, '[') + std::string(1000, ']') + "]";
  EXPECT_FALSE(parse_socket_packet(deep).ok());
  const std::string brackets_in_string = "2[\"" + std::string(1000, '[') + "\"]";
  EXPECT_TRUE(parse_socket_packet(brackets_in_string).ok());
}

TEST(SocketIoPacket, ServerPacketsAreEngineMessages) {
  EXPECT_EQ(encode_connect_reply("abc"), "40{\"sid\":\"abc\"}");
  EXPECT_EQ(encode_connect_error("/admin", "Invalid namespace"),
            "44/admin,{\"message\":\"Invalid namespace\"}");
  EXPECT_EQ(encode_connect_error("/", "Not authorized"), "44{\"message\":\"Not authorized\"}");
  EXPECT_EQ(encode_disconnect(), "41");
  EXPECT_EQ(encode_ack(12, json::array({"bar"})), "4312[\"bar\"]");
  EXPECT_EQ(encode_ack(3, "x"), "433[\"x\"]");
}

TEST(SocketIoPacket, EncodedEventParsesBackToNameAndArgument) {
  const json data = {{"table", "todos"}, {"data", {{"id", 1}, {"title", "caf\xc3\xa9"}}}};
  const auto packet = encode_event("changes", data);
  ASSERT_EQ(packet->substr(0, 2), "42");
  auto parsed = parse_socket_packet(std::string_view(*packet).substr(1));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed->data, json::array({"changes", data}));
}

TEST(SocketIoPacket, InvalidUtf8InEventDataIsReplacedNotThrown) {
  const auto packet = encode_event("e", std::string("a\xff"
                                                    "b"));
  EXPECT_EQ(*packet,
            "42[\"e\",\"a\xef\xbf\xbd"
            "b\"]");
}

}  // namespace
}  // namespace tandem::compat::socketio
