// End-to-end: what a peer without a valid token can hold on the real server, and what a
// session holds once its token expires.
#include <chrono>
#include <thread>

#include "e2e_fixture.h"

namespace tandem::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

class SessionLimits : public EndToEnd {
 protected:
  void SetUp() override {}  // each test starts the server with its own options

  Json next_error(SyncTestClient& client, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto message = client.receive(200ms);
      if (message && (*message)["type"] == "error") return *message;
      if (client.socket().close_info()) break;
    }
    return Json();
  }
};

// The peer answers the server's pings (the WebSocket client does so by itself), so only the
// hello deadline can end its connection.
TEST_F(SessionLimits, ConnectionWithoutHelloIsClosedAtTheHelloTimeout) {
  start({"--hello-timeout", "1"});
  auto bystander = synced("bob", "bob-phone");
  WsClient silent;
  const auto opened = std::chrono::steady_clock::now();
  ASSERT_TRUE(silent.connect("127.0.0.1", server->port(), "/sync").upgraded());
  const auto closed = silent.wait_for_close(10s);
  ASSERT_TRUE(closed.has_value()) << "a connection without hello is still open";
  EXPECT_GE(std::chrono::steady_clock::now() - opened, 900ms);
  EXPECT_EQ(closed->code, 1008);
  EXPECT_EQ(closed->reason, "hello timeout: no valid hello within 1 s");
  EXPECT_TRUE(bystander->ping()) << "a session that said hello must outlive the hello timeout";
}

TEST_F(SessionLimits, SessionEndsWithTokenExpiredWhenItsTokenExpires) {
  start({"--jwt-leeway", "0"});
  SyncTestClient client(server->port(), ServerProcess::token("alice", auth::Role::user, 2s),
                        "alice-phone");
  ASSERT_EQ(client.hello()["type"], "welcome");
  ASSERT_TRUE(client.sync_until());
  const auto error = next_error(client);
  EXPECT_EQ(error["code"], "token_expired") << error.dump();
  EXPECT_EQ(error["fatal"], true);
  EXPECT_NE(error.value("message", "").find("reconnect with a fresh token"), std::string::npos);
  client.wait_for([&] { return client.socket().close_info().has_value(); }, 5s);
  ASSERT_TRUE(client.socket().close_info());
  EXPECT_EQ(client.socket().close_info()->code, 1008);
  EXPECT_EQ(client.socket().close_info()->reason, "token_expired");
}

TEST_F(SessionLimits, TokenWithoutExpiryIsRefusedUnlessConfigured) {
  const auto forever = ServerProcess::token_with_claims(R"({"sub":"alice"})");
  start();
  {
    SyncTestClient client(server->port(), forever, "alice-phone");
    const auto reply = client.hello();
    EXPECT_EQ(reply["code"], "unauthenticated") << reply.dump();
    EXPECT_NE(reply.value("message", "").find("no exp claim"), std::string::npos);
  }
  server.reset();
  start({"--jwt-require-exp", "false", "--hello-timeout", "1"});
  SyncTestClient client(server->port(), forever, "alice-phone");
  EXPECT_EQ(client.hello()["type"], "welcome");
  std::this_thread::sleep_for(1500ms);  // past the hello deadline, which hello cancelled
  EXPECT_TRUE(client.ping());
}

TEST_F(SessionLimits, UpgradesOverTheConnectionCapsAreRefusedBeforeTheHandshake) {
  start({"--max-connections-per-address", "2"});
  {
    WsClient first;
    WsClient second;
    ASSERT_TRUE(first.connect("127.0.0.1", server->port(), "/sync").upgraded());
    ASSERT_TRUE(second.connect("127.0.0.1", server->port(), "/sync").upgraded());
    WsClient third;
    const auto refused = third.connect("127.0.0.1", server->port(), "/sync");
    EXPECT_EQ(refused.status, 429);
    EXPECT_NE(refused.body.find("Too many connections from 127.0.0.1"), std::string::npos)
        << refused.body;
  }
  server.reset();
  start({"--max-connections", "2"});
  WsClient first;
  WsClient second;
  ASSERT_TRUE(first.connect("127.0.0.1", server->port(), "/sync").upgraded());
  ASSERT_TRUE(second.connect("127.0.0.1", server->port(), "/sync").upgraded());
  WsClient third;
  const auto refused = third.connect("127.0.0.1", server->port(), "/sync");
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("connection limit"), std::string::npos) << refused.body;
}

}  // namespace
}  // namespace tandem::testing
