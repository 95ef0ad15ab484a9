#include "compat/socketio/engineio_packet.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tandem::compat::socketio {
namespace {

std::shared_ptr<const std::string> text(std::string value) {
  return std::make_shared<const std::string>(std::move(value));
}

TEST(EngineIoPacket, ParsesTheTypeDigitAndKeepsTheRestAsData) {
  auto packet = parse_engine_packet("4hello");
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(packet->type, EnginePacketType::message);
  EXPECT_EQ(packet->data, "hello");
  EXPECT_FALSE(packet->binary);

  auto probe = parse_engine_packet("2probe");
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->type, EnginePacketType::ping);
  EXPECT_EQ(probe->data, "probe");

  auto pong = parse_engine_packet("3");
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->type, EnginePacketType::pong);
  EXPECT_TRUE(pong->data.empty());
}

TEST(EngineIoPacket, RefusesEmptyTextAndUnknownTypes) {
  for (const std::string_view bad : {"", "7", "abc", "b", "/4", "\x1e"}) {
    auto packet = parse_engine_packet(bad);
    ASSERT_FALSE(packet.ok()) << bad;
    EXPECT_EQ(packet.error().code(), ErrorCode::malformed_message);
  }
}

TEST(EngineIoPacket, EncodesAndParsesBackEveryType) {
  for (char type = '0'; type <= '6'; ++type) {
    const auto encoded = encode_engine_packet(static_cast<EnginePacketType>(type), "data\xc3\xa9");
    auto packet = parse_engine_packet(encoded);
    ASSERT_TRUE(packet.ok());
    EXPECT_EQ(static_cast<char>(packet->type), type);
    EXPECT_EQ(packet->data, "data\xc3\xa9");
  }
}

TEST(EngineIoPolling, PayloadSplitsOnRecordSeparators) {
  auto packets = decode_polling_payload(
      "4test1\x1e"
      "2\x1e"
      "4test3");
  ASSERT_TRUE(packets.ok());
  ASSERT_EQ(packets->size(), 3u);
  EXPECT_EQ((*packets)[0].data, "test1");
  EXPECT_EQ((*packets)[1].type, EnginePacketType::ping);
  EXPECT_EQ((*packets)[2].data, "test3");
}

TEST(EngineIoPolling, BinaryPacketsAreBase64WithAPrefix) {
  auto packets = decode_polling_payload(
      "4hello\x1e"
      "bAQIDBA==");
  ASSERT_TRUE(packets.ok());
  ASSERT_EQ(packets->size(), 2u);
  EXPECT_EQ((*packets)[1].type, EnginePacketType::message);
  EXPECT_TRUE((*packets)[1].binary);
  EXPECT_EQ((*packets)[1].data, std::string("\x01\x02\x03\x04", 4));
}

TEST(EngineIoPolling, MalformedPayloadsAreRefusedWhole) {
  for (const std::string_view bad : {"", "abc", "4a\x1e",
                                     "\x1e"
                                     "4a",
                                     "4a\x1e\x1e"
                                     "4b",
                                     "4a\x1e"
                                     "9",
                                     "b!!!",
                                     "4a\x1e"
                                     "bA"}) {
    auto packets = decode_polling_payload(bad);
    EXPECT_FALSE(packets.ok()) << nlohmann::json(std::string(bad)).dump();
  }
}

TEST(EngineIoPolling, PayloadEncodingJoinsPacketsThatDecodeBackInOrder) {
  std::deque<std::shared_ptr<const std::string>> queue{text("40{\"sid\":\"x\"}"), text("2"),
                                                       text("42[\"a\",1]")};
  const auto body = encode_polling_payload(queue);
  EXPECT_EQ(body,
            "40{\"sid\":\"x\"}\x1e"
            "2\x1e"
            "42[\"a\",1]");
  auto packets = decode_polling_payload(body);
  ASSERT_TRUE(packets.ok());
  ASSERT_EQ(packets->size(), 3u);
  EXPECT_EQ((*packets)[0].data, "0{\"sid\":\"x\"}");
  EXPECT_EQ((*packets)[1].type, EnginePacketType::ping);
  EXPECT_EQ((*packets)[2].data, "2[\"a\",1]");
  EXPECT_EQ(encode_polling_payload({}), "");
}

TEST(EngineIoPacket, OpenPacketCarriesTheHandshakeFields) {
  OpenPacketFields fields;
  fields.sid = "abc";
  fields.upgrade_to_websocket = true;
  fields.ping_interval = std::chrono::milliseconds(300);
  fields.ping_timeout = std::chrono::milliseconds(200);
  fields.max_payload = 1000000;
  const auto packet = encode_open_packet(fields);
  ASSERT_EQ(packet.front(), '0');
  const auto handshake = nlohmann::json::parse(packet.substr(1));
  EXPECT_EQ(handshake["sid"], "abc");
  EXPECT_EQ(handshake["upgrades"], nlohmann::json::array({"websocket"}));
  EXPECT_EQ(handshake["pingInterval"], 300);
  EXPECT_EQ(handshake["pingTimeout"], 200);
  EXPECT_EQ(handshake["maxPayload"], 1000000);
  EXPECT_EQ(handshake.size(), 5u);

  fields.upgrade_to_websocket = false;
  EXPECT_EQ(nlohmann::json::parse(encode_open_packet(fields).substr(1))["upgrades"],
            nlohmann::json::array());
}

}  // namespace
}  // namespace tandem::compat::socketio
