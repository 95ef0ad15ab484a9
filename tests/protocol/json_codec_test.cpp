#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/codec.h"

namespace tandem::protocol {
namespace {

class JsonCodecTest : public ::testing::Test {
 protected:
  std::unique_ptr<Codec> codec = make_json_codec();

  ErrorCode error_of(std::string_view frame) {
    auto result = codec->decode(frame);
    EXPECT_FALSE(result.ok()) << frame;
    return result.ok() ? ErrorCode::ok : result.error().code();
  }
};

TEST_F(JsonCodecTest, DecodesHelloWithAResumableSnapshotCheckpoint) {
  auto message = codec->decode(
      R"({"type":"hello","protocol":1,"token":"t","client_id":"c1",
          "checkpoint":{"seq":42,"snapshot":{"table":"products","after":["p9"]}}})");
  ASSERT_TRUE(message.ok());
  const auto& hello = std::get<Hello>(*message);
  EXPECT_EQ(hello.client_id, "c1");
  ASSERT_TRUE(hello.checkpoint);
  EXPECT_EQ(hello.checkpoint->seq, 42u);
  EXPECT_EQ(hello.checkpoint->snapshot->after, std::vector<Value>{Value("p9")});
}

TEST_F(JsonCodecTest, PushRoundTripsThroughTheClientEncoder) {
  Push push;
  sync::Mutation mutation{"past_orders",
                          sync::Op::update,
                          {{"id", "o1"}},
                          {{"qty", 3}, {"photo", Blob{1, 2}}},
                          sync::Stamp{sync::Hlc::from_parts(1000, 2), ""}};
  push.mutations.push_back({7, mutation});
  auto decoded = codec->decode(codec->encode(ClientMessage{push}));
  ASSERT_TRUE(decoded.ok());
  const auto& back = std::get<Push>(*decoded).mutations.at(0);
  EXPECT_EQ(back.client_seq, 7u);
  EXPECT_EQ(back.mutation.values, mutation.values);
  EXPECT_EQ(back.mutation.stamp.hlc, mutation.stamp.hlc);
}

TEST_F(JsonCodecTest, MalformedFramesAreErrorsThatNameTheProblem) {
  EXPECT_EQ(error_of("{not json"), ErrorCode::malformed_message);
  EXPECT_EQ(error_of("[1,2]"), ErrorCode::malformed_message);
  EXPECT_EQ(error_of(R"({"type":7})"), ErrorCode::malformed_message);
  EXPECT_EQ(error_of(R"({"type":"hello","protocol":1,"client_id":"c"})"),
            ErrorCode::malformed_message);
  auto missing = codec->decode(
      R"({"type":"push","mutations":[{"client_seq":1,"table":"t","op":"insert","pk":{}}]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(std::string(missing.error().message()), "mutations[0]: field 'hlc' is missing");
  EXPECT_EQ(error_of(R"({"type":"push","mutations":[{"client_seq":-1}]})"),
            ErrorCode::malformed_message);
  EXPECT_EQ(
      error_of(
          R"({"type":"push","mutations":[{"client_seq":1,"table":"t","op":"upsert","pk":{},"hlc":"0000000000000001"}]})"),
      ErrorCode::malformed_message);
}

TEST_F(JsonCodecTest, UnknownMessageTypeHasItsOwnCode) {
  EXPECT_EQ(error_of(R"({"type":"subscribe"})"), ErrorCode::unknown_message_type);
}

TEST_F(JsonCodecTest, ChangesFrameSplicesPreEncodedChangesIntoValidJson) {
  sync::Change change;
  change.seq = 5;
  change.table = "products";
  change.op = sync::Op::update;
  change.pk = {{"id", "p1"}};
  change.row = {{"id", "p1"}, {"name", "pen \"deluxe\""}};
  change.old = {{"name", "pen"}};
  auto one = codec->encode_change(change);
  auto two = codec->encode_change_as(change, sync::Op::remove);
  std::vector<std::string_view> parts{one, two};
  auto frame = nlohmann::json::parse(codec->encode_changes_frame(parts, 9));
  EXPECT_EQ(frame["type"], "changes");
  EXPECT_EQ(frame["checkpoint"]["seq"], 9);
  EXPECT_EQ(frame["changes"][0]["row"]["name"], "pen \"deluxe\"");
  EXPECT_EQ(frame["changes"][0]["changed"], nlohmann::json::array({"name"}));
  EXPECT_EQ(frame["changes"][1]["op"], "delete");
}

TEST_F(JsonCodecTest, ErrorMessageCarriesTheStableCodeName) {
  auto text =
      codec->encode(ServerMessage{ErrorMessage{ErrorCode::frame_too_large, "too big", true}});
  auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json["code"], "frame_too_large");
  EXPECT_EQ(json["fatal"], true);
}

// ---- server messages as a client decodes them -------------------------------------------

TEST_F(JsonCodecTest, ClientDecodesTheWelcomeTheServerEncodes) {
  Welcome welcome;
  welcome.user = "alice";
  welcome.role = "user";
  welcome.server_seq = 42;
  welcome.snapshot = true;
  TableInfo table;
  table.schema.name = "past_orders";
  table.schema.primary_key = {"id"};
  table.schema.columns = {{"id", ColumnType::text, "TEXT", true, false, 1},
                          {"qty", ColumnType::integer, "INTEGER", false, true, 0}};
  table.access = TableAccess::owner;
  table.owner_column = "owner_id";
  table.writable = true;
  welcome.tables.push_back(table);
  auto decoded = codec->decode_server(codec->encode(ServerMessage{welcome}));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  const auto& back = std::get<Welcome>(*decoded);
  EXPECT_EQ(back.user, "alice");
  EXPECT_EQ(back.server_seq, 42u);
  EXPECT_TRUE(back.snapshot);
  ASSERT_EQ(back.tables.size(), 1u);
  EXPECT_EQ(back.tables[0].schema, table.schema);
  EXPECT_EQ(back.tables[0].access, TableAccess::owner);
  EXPECT_EQ(back.tables[0].owner_column, "owner_id");
  EXPECT_TRUE(back.tables[0].writable);
}

TEST_F(JsonCodecTest, ClientDecodesSnapshotPagesWithTheirCheckpoint) {
  std::vector<Row> rows = {{{"id", "p1"}, {"price", 2.5}}, {{"id", "p2"}, {"price", nullptr}}};
  Checkpoint checkpoint{7, Checkpoint::SnapshotCursor{"products", {Value("p2")}}, {}};
  auto decoded = codec->decode_server(
      codec->encode(ServerMessage{SnapshotRows{"products", &rows, checkpoint}}));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  const auto& page = std::get<SnapshotRowsReceived>(*decoded);
  EXPECT_EQ(page.table, "products");
  EXPECT_EQ(page.rows, rows);
  EXPECT_EQ(page.checkpoint.seq, 7u);
  EXPECT_EQ(page.checkpoint.snapshot->after, std::vector<Value>{Value("p2")});

  auto begin = codec->decode_server(R"({"type":"snapshot_begin","seq":7,"reset":true,"rows":12})");
  ASSERT_TRUE(begin.ok());
  EXPECT_EQ(std::get<SnapshotBeginReceived>(*begin).rows, 12u);
  EXPECT_TRUE(std::get<SnapshotBeginReceived>(*begin).begin.reset);
}

TEST_F(JsonCodecTest, ClientDecodesChangeFramesSplicedFromEncodedChanges) {
  sync::Change change;
  change.seq = 9;
  change.table = "past_orders";
  change.op = sync::Op::update;
  change.pk = {{"id", "o1"}};
  change.row = {{"id", "o1"}, {"qty", 3}};
  change.old = {{"qty", 2}};
  change.stamp = {sync::Hlc::from_parts(5000, 1), "phone"};
  std::string encoded = codec->encode_change(change);
  std::string_view parts[] = {encoded};
  auto decoded = codec->decode_server(codec->encode_changes_frame(parts, 11));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  const auto& frame = std::get<ChangesReceived>(*decoded);
  EXPECT_EQ(frame.checkpoint.seq, 11u);
  ASSERT_EQ(frame.changes.size(), 1u);
  const auto& back = frame.changes[0];
  EXPECT_EQ(back.change.seq, 9u);
  EXPECT_EQ(back.change.op, sync::Op::update);
  EXPECT_EQ(back.change.row, change.row);
  EXPECT_EQ(back.change.stamp, change.stamp);
  EXPECT_EQ(back.changed, std::vector<std::string>{"qty"});
}

TEST_F(JsonCodecTest, AnAckExceptionWithoutItsRowSaysNothingOfTheRow) {
  AckException omitted;
  omitted.client_seq = 3;
  omitted.table = "products";
  omitted.pk = {{"id", "p1"}};
  omitted.row_omitted = true;
  AckException gone = omitted;  // the row does not exist (or is not the user's)
  gone.row_omitted = false;
  auto frame = codec->encode(ServerMessage{Ack{4, {omitted, gone}}});
  auto json = nlohmann::json::parse(frame);
  EXPECT_FALSE(json["exceptions"][0].contains("row")) << frame;
  EXPECT_TRUE(json["exceptions"][1]["row"].is_null()) << frame;
  auto decoded = codec->decode_server(frame);
  ASSERT_TRUE(decoded.ok());
  const auto& back = std::get<Ack>(*decoded);
  EXPECT_TRUE(back.exceptions[0].row_omitted);
  EXPECT_FALSE(back.exceptions[1].row_omitted);
}

TEST_F(JsonCodecTest, ClientDecodesAcksWithTheirExceptionsAndErrors) {
  Ack ack;
  ack.client_seq = 19;
  AckException rejected;
  rejected.client_seq = 18;
  rejected.rejected = true;
  rejected.code = ErrorCode::forbidden;
  rejected.message = "public table";
  rejected.table = "products";
  rejected.pk = {{"id", "p1"}};
  rejected.row = Row{{"id", "p1"}, {"price", 1}};
  AckException superseded;
  superseded.client_seq = 19;
  superseded.table = "products";
  superseded.pk = {{"id", "p2"}};
  ack.exceptions = {rejected, superseded};
  auto decoded = codec->decode_server(codec->encode(ServerMessage{ack}));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  const auto& back = std::get<Ack>(*decoded);
  EXPECT_EQ(back.client_seq, 19u);
  ASSERT_EQ(back.exceptions.size(), 2u);
  EXPECT_TRUE(back.exceptions[0].rejected);
  EXPECT_EQ(back.exceptions[0].code, ErrorCode::forbidden);
  EXPECT_EQ(back.exceptions[0].row, rejected.row);
  EXPECT_FALSE(back.exceptions[1].rejected);
  EXPECT_FALSE(back.exceptions[1].row.has_value());

  auto error = codec->decode_server(
      codec->encode(ServerMessage{ErrorMessage{ErrorCode::token_expired, "expired", true}}));
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(std::get<ErrorMessage>(*error).code, ErrorCode::token_expired);
  EXPECT_TRUE(std::get<ErrorMessage>(*error).fatal);
}

TEST_F(JsonCodecTest, ClientRejectsMalformedServerMessagesNamingTheField) {
  auto missing =
      codec->decode_server(R"({"type":"changes","checkpoint":{"seq":1},"changes":[{}]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::malformed_message);
  EXPECT_EQ(std::string(missing.error().message()), "changes[0]: field 'seq' is missing");
  auto unknown = codec->decode_server(R"({"type":"gossip"})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::unknown_message_type);
}

TableInfo orders_table() {
  TableInfo info;
  info.schema.name = "past_orders";
  info.schema.columns = {{"id", ColumnType::text, "TEXT", true, false, 1},
                         {"quantity", ColumnType::integer, "INTEGER", false, true, 0},
                         {"owner_id", ColumnType::text, "TEXT", false, false, 0}};
  info.schema.primary_key = {"id"};
  info.access = TableAccess::owner;
  info.owner_column = "owner_id";
  info.writable = true;
  return info;
}

TEST_F(JsonCodecTest, SchemaMessageListsTablesLikeWelcome) {
  Welcome welcome;
  welcome.tables = {orders_table()};
  auto from_welcome = nlohmann::json::parse(codec->encode(ServerMessage{welcome}));
  auto schema = nlohmann::json::parse(codec->encode(ServerMessage{Schema{{orders_table()}}}));
  EXPECT_EQ(schema["type"], "schema");
  EXPECT_EQ(schema["tables"], from_welcome["tables"]);
  EXPECT_EQ(schema["tables"][0]["owner_column"], "owner_id");
}

TEST_F(JsonCodecTest, SchemaMessageRoundTripsThroughTheClientDecoder) {
  TableInfo products;
  products.schema.name = "products";
  products.schema.columns = {{"sku", ColumnType::text, "TEXT", false, false, 2},
                             {"shop", ColumnType::integer, "INT", false, false, 1},
                             {"price", ColumnType::numeric, "DECIMAL(10,2)", false, false, 0}};
  products.schema.primary_key = {"shop", "sku"};
  auto decoded =
      codec->decode_schema(codec->encode(ServerMessage{Schema{{orders_table(), products}}}));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  ASSERT_EQ(decoded->tables.size(), 2u);
  EXPECT_EQ(decoded->tables[0].schema, orders_table().schema);
  EXPECT_EQ(decoded->tables[0].access, TableAccess::owner);
  EXPECT_EQ(decoded->tables[0].owner_column, "owner_id");
  EXPECT_TRUE(decoded->tables[0].writable);
  EXPECT_EQ(decoded->tables[1].schema, products.schema) << "composite key order is kept";
  EXPECT_EQ(decoded->tables[1].access, TableAccess::everyone);
}

TEST_F(JsonCodecTest, SchemaDecoderRefusesWhatAClientCouldNotSafelyCreate) {
  auto error = [&](std::string_view frame) {
    auto result = codec->decode_schema(frame);
    EXPECT_FALSE(result.ok()) << frame;
    return result.ok() ? std::string() : std::string(result.error().message());
  };
  EXPECT_NE(error(R"({"type":"welcome","tables":[]})").find("schema"), std::string::npos);
  EXPECT_NE(error(R"({"type":"schema"})").find("'tables'"), std::string::npos);
  auto hostile = error(
      R"({"type":"schema","tables":[{"name":"t\"; DROP TABLE x; --","primary_key":["id"],
          "columns":[],"access":"public","writable":false}]})");
  EXPECT_NE(hostile.find("tables[0]: invalid table name"), std::string::npos) << hostile;
  auto no_key = error(
      R"({"type":"schema","tables":[{"name":"t","primary_key":["nope"],"access":"public",
          "writable":false,"columns":[{"name":"id","type":"text","not_null":false,
          "has_default":false}]}]})");
  EXPECT_NE(no_key.find("'nope' is not among its columns"), std::string::npos) << no_key;
}

// Copying the cursor's key recursed once per level (found writing fuzz/protocol_codec_fuzz.cpp).
TEST_F(JsonCodecTest, DeeplyNestedSnapshotCursorIsMalformedWithoutExhaustingTheStack) {
  constexpr std::size_t kDepth = 1'000'000;  // a 2 MB frame, under the 4 MiB message limit
  std::string frame =
      R"({"type":"hello","protocol":1,"token":"t","client_id":"c","checkpoint":{"seq":1,)"
      R"("snapshot":{"table":"t","after":[)";
  frame.append(kDepth, '[');
  frame.append(kDepth, ']');
  frame += "]}}}";
  EXPECT_EQ(error_of(frame), ErrorCode::malformed_message);
}

TEST_F(JsonCodecTest, ProtocolVersionOutsideIntIsMalformedNotTruncated) {
  // 2^32 + 1 would read as version 1.
  EXPECT_EQ(error_of(R"({"type":"hello","protocol":4294967297,"token":"t","client_id":"c"})"),
            ErrorCode::malformed_message);
}

TEST_F(JsonCodecTest, PingIdAboveTheSignedRangeIsMalformedNotWrapped) {
  EXPECT_EQ(error_of(R"({"type":"ping","id":18446744073709551615})"), ErrorCode::malformed_message);
}

// json::value() threw a type_error out of the decoder (found writing the fuzz target).
TEST_F(JsonCodecTest, ServerFramesWithMistypedOptionalFieldsAreMalformedNotExceptions) {
  const char* frames[] = {
      R"({"type":"changes","checkpoint":{"seq":2},"changes":[{"seq":2,"table":"t","op":"insert",)"
      R"("pk":{"id":1},"row":{"id":1},"hlc":"0000018f0a1b2c3d","node":5}]})",
      R"({"type":"changes","checkpoint":{"seq":2},"changes":[{"seq":2,"table":"t","op":"insert",)"
      R"("pk":{"id":1},"row":{"id":1},"hlc":"0000018f0a1b2c3d","at":"noon"}]})",
      R"({"type":"welcome","protocol":1,"user":"u","role":7,"server_seq":1,"snapshot":false,)"
      R"("tables":[]})",
      R"({"type":"error","code":"internal","message":["x"]})",
      R"({"type":"error","code":"internal","fatal":"yes"})",
      R"({"type":"ack","client_seq":1,"exceptions":[{"client_seq":1,"status":"rejected",)"
      R"("code":3,"table":"t","pk":{"id":1}}]})",
      R"({"type":"schema","tables":[{"name":"t","primary_key":["id"],"columns":[{"name":"id",)"
      R"("type":"integer","declared_type":{},"not_null":true,"has_default":false}],)"
      R"("access":"public","writable":true}]})",
  };
  for (const char* frame : frames) {
    Result<ServerMessageReceived> decoded = Error(ErrorCode::internal, "not decoded");
    EXPECT_NO_THROW(decoded = codec->decode_server(frame)) << frame;
    ASSERT_FALSE(decoded.ok()) << frame;
    EXPECT_EQ(decoded.error().code(), ErrorCode::malformed_message) << frame;
  }
}

TEST_F(JsonCodecTest, ServerFramesWithNullOptionalFieldsTakeTheDefaults) {
  auto decoded = codec->decode_server(R"({"type":"error","code":"internal","message":null})");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(std::get<ErrorMessage>(*decoded).message, "");
  EXPECT_FALSE(std::get<ErrorMessage>(*decoded).fatal);
}

}  // namespace
}  // namespace tandem::protocol
