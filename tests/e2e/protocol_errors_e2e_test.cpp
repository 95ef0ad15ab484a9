// End-to-end: bad input gets a protocol error, and the server keeps serving everyone else.
#include "e2e_fixture.h"

namespace tandem::testing {
namespace {

using Json = nlohmann::json;

class ProtocolErrors : public EndToEnd {
 protected:
  void SetUp() override {
    EndToEnd::SetUp();
    bystander = synced("bob", "bob-phone");
  }

  // The other user's session still answers and still receives changes.
  void expect_bystander_still_served() {
    EXPECT_TRUE(bystander->ping()) << "the server stopped serving others";
  }

  Json next_error(SyncTestClient& client) {
    for (int i = 0; i < 50; ++i) {
      auto message = client.receive(std::chrono::milliseconds(200));
      if (message && (*message)["type"] == "error") return *message;
    }
    return Json();
  }

  std::unique_ptr<SyncTestClient> bystander;
};

TEST_F(ProtocolErrors, MalformedFrameGetsAnErrorAndTheConnectionStaysUsable) {
  auto client = synced("alice", "alice-phone");
  client->send_raw("{this is not json");
  auto error = next_error(*client);
  EXPECT_EQ(error["code"], "malformed_message");
  EXPECT_EQ(error["fatal"], false);
  EXPECT_TRUE(client->ping()) << "the connection stays usable after a non-fatal error";
  expect_bystander_still_served();
}

TEST_F(ProtocolErrors, UnknownMessageTypeIsNamedInTheError) {
  auto client = synced("alice", "alice-phone");
  client->send_raw(R"({"type":"subscribe","table":"products"})");
  auto error = next_error(*client);
  EXPECT_EQ(error["code"], "unknown_message_type");
  EXPECT_NE(error["message"].get<std::string>().find("subscribe"), std::string::npos);
  expect_bystander_still_served();
}

TEST_F(ProtocolErrors, OversizedFrameGetsFrameTooLargeThenClose1009) {
  server.reset();
  start({"--max-message-bytes", "65536"});
  bystander = synced("bob", "bob-phone");
  auto client = synced("alice", "alice-phone");
  client->send_raw(std::string(100'000, 'x'));
  auto error = next_error(*client);
  EXPECT_EQ(error["code"], "frame_too_large");
  EXPECT_EQ(error["fatal"], true) << "the connection closes after it";
  client->wait_for([&] { return client->socket().close_info().has_value(); },
                   std::chrono::seconds(5));
  ASSERT_TRUE(client->socket().close_info());
  EXPECT_EQ(client->socket().close_info()->code, 1009);
  expect_bystander_still_served();
}

TEST_F(ProtocolErrors, ForgedGarbageAndAlgNoneTokensAreRefused) {
  auto header_none =
      std::string("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0");  // {"alg":"none","typ":"JWT"}
  auto payload =
      std::string("eyJzdWIiOiJhbGljZSIsInJvbGUiOiJhZG1pbiJ9");  // {"sub":"alice","role":"admin"}
  auto valid = ServerProcess::token("alice");
  std::string forged =
      valid.substr(0, valid.rfind('.') + 1) + "AAAA" + valid.substr(valid.rfind('.') + 5);
  for (const auto& token : {header_none + "." + payload + ".", forged, std::string("garbage")}) {
    SyncTestClient client(server->port(), token, "attacker");
    auto reply = client.hello();
    EXPECT_EQ(reply["type"], "error") << token;
    EXPECT_EQ(reply["code"], "unauthenticated") << token;
    EXPECT_EQ(reply["fatal"], true);
    client.wait_for([&] { return client.socket().close_info().has_value(); },
                    std::chrono::seconds(5));
    EXPECT_TRUE(client.socket().close_info()) << "the connection is closed after a bad token";
  }
  expect_bystander_still_served();
}

TEST_F(ProtocolErrors, ExpiredTokenIsRefusedAsExpired) {
  auth::JwtOptions options;
  options.hs256_secret = kTestSecret;
  auto minter = auth::TokenMinter::create(options);
  ASSERT_TRUE(minter.ok());
  auth::MintRequest request;
  request.subject = "alice";
  request.ttl = std::chrono::hours(1);
  auto expired = (*minter)->mint(request, std::chrono::system_clock::now() - std::chrono::hours(3));
  ASSERT_TRUE(expired.ok());
  SyncTestClient client(server->port(), *expired, "alice-phone");
  auto reply = client.hello();
  EXPECT_EQ(reply["code"], "token_expired");
  EXPECT_EQ(reply["fatal"], true);
  expect_bystander_still_served();
}

TEST_F(ProtocolErrors, PushBeforeHelloIsRefused) {
  auto client = connect("alice", "alice-phone");
  client->send_raw(R"({"type":"push","mutations":[]})");
  auto error = next_error(*client);
  EXPECT_EQ(error["code"], "unauthenticated");
  expect_bystander_still_served();
}

TEST_F(ProtocolErrors, WrongProtocolVersionAndBadClientIdAreRefused) {
  auto client = connect("alice", "alice-phone");
  client->send_raw(Json{
      {"type", "hello"},
      {"protocol", 99},
      {"token", ServerProcess::token("alice")},
      {"client_id",
       "c"}}.dump());
  EXPECT_EQ(next_error(*client)["code"], "protocol_version");
  auto other = connect("alice", "x y");
  EXPECT_EQ(other->hello()["code"], "bad_request");
}

TEST_F(ProtocolErrors, ClientIdOfAnotherUserCannotBeHijacked) {
  auto alice = synced("alice", "shared-id");
  alice->push({SyncTestClient::insert("past_orders", {{"id", "o-a"}}, {{"item_name", "x"}})});
  auto mallory = synced("mallory", "shared-id");
  auto reply =
      mallory->push({SyncTestClient::insert("past_orders", {{"id", "o-m"}}, {{"item_name", "x"}})});
  EXPECT_EQ(reply["type"], "error");
  EXPECT_EQ(reply["code"], "forbidden");
}

TEST_F(ProtocolErrors, MutationNamingAnUnknownColumnIsRejectedOthersApply) {
  auto alice = synced("alice", "alice-phone");
  auto ack =
      alice->push({SyncTestClient::insert("past_orders", {{"id", "o-1"}}, {{"nope", 1}}),
                   SyncTestClient::insert("past_orders", {{"id", "o-2"}}, {{"item_name", "ok"}}),
                   SyncTestClient::insert("no_such_table", {{"id", "x"}}, {{"a", 1}})});
  ASSERT_EQ(ack["type"], "ack");
  ASSERT_EQ(ack["exceptions"].size(), 2u);
  EXPECT_EQ(ack["exceptions"][0]["code"], "invalid_mutation");
  EXPECT_EQ(ack["exceptions"][1]["code"], "unknown_table");
  EXPECT_TRUE(alice->wait_for([&] { return alice->row("past_orders", Json{{"id", "o-2"}}); }));
}

}  // namespace
}  // namespace tandem::testing
