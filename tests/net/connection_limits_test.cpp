// The transport's own defences against peers that hold connections: caps on open
// connections (overall and per client address), refused before any WebSocket handshake, and
// the per-connection deadline a handler uses to drop peers that do not authenticate in time.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/connection_limiter.h"
#include "net/http_server.h"
#include "net_test_util.h"
#include "support/http_client.h"
#include "support/ws_client.h"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
using tandem::testing::http_request;
using tandem::testing::WsClient;
using testing::eventually;
using testing::raw_exchange;
using testing::RawConnection;
using testing::ScriptedHandler;
using testing::test_options;

// A server with a WebSocket endpoint (a new handler per connection) and an HTTP route.
struct LimitedServer {
  explicit LimitedServer(std::size_t max_connections, std::size_t max_per_address) {
    auto options = test_options();
    options.max_connections = max_connections;
    options.max_connections_per_address = max_per_address;
    Router router;
    router.add("GET", "/ping", [](const HttpRequest&, const HttpResponder& respond) {
      respond(HttpResponse::text(200, "pong"));
    });
    router.add_websocket(
        "/ws",
        [](const HttpRequest&) -> std::variant<std::shared_ptr<WebSocketHandler>, HttpResponse> {
          return std::make_shared<ScriptedHandler>();
        });
    server = std::make_unique<HttpServer>(options, std::move(router));
    server->start();
  }

  std::uint16_t port() const { return server->port(); }
  std::unique_ptr<HttpServer> server;
};

std::vector<std::unique_ptr<WsClient>> open_websockets(std::uint16_t port, int count) {
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    EXPECT_TRUE(clients.back()->connect("127.0.0.1", port, "/ws").upgraded());
  }
  return clients;
}

TEST(ConnectionLimits, UpgradeOverTheOverallCapGets503WithoutAHandshake) {
  LimitedServer limited(2, 0);
  auto held = open_websockets(limited.port(), 2);

  WsClient refused;
  const auto handshake = refused.connect("127.0.0.1", limited.port(), "/ws");
  EXPECT_EQ(handshake.status, 503);
  EXPECT_NE(handshake.body.find(R"("error":"unavailable")"), std::string::npos) << handshake.body;
  EXPECT_NE(handshake.body.find("connection limit"), std::string::npos) << handshake.body;
  EXPECT_EQ(limited.server->open_websockets(), 2u);

  // A slot is free again once a connection closes.
  held.back()->close();
  held.pop_back();
  EXPECT_TRUE(eventually([&] {
    WsClient client;
    return client.connect("127.0.0.1", limited.port(), "/ws").upgraded();
  }));
}

TEST(ConnectionLimits, UpgradeOverThePerAddressCapGets429AndOtherAddressesAreServed) {
  LimitedServer limited(0, 2);
  auto held = open_websockets(limited.port(), 2);

  WsClient refused;
  const auto handshake = refused.connect("127.0.0.1", limited.port(), "/ws");
  EXPECT_EQ(handshake.status, 429);
  EXPECT_NE(handshake.body.find(R"("error":"rate_limited")"), std::string::npos) << handshake.body;
  EXPECT_NE(handshake.body.find("Too many connections from 127.0.0.1"), std::string::npos)
      << handshake.body;

  const auto other = raw_exchange(
      limited.port(), "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "127.0.0.2");
  EXPECT_TRUE(other.starts_with("HTTP/1.1 200 OK\r\n")) << other;
}

// Idle plain connections count like WebSockets: the caps are on sockets, whatever protocol
// (HTTP, WebSocket, Socket.IO's long polling) they speak.
TEST(ConnectionLimits, IdleHttpConnectionsCountTowardTheCaps) {
  LimitedServer limited(0, 2);
  RawConnection first(limited.port());
  RawConnection second(limited.port());
  ASSERT_TRUE(first.connected() && second.connected());
  ASSERT_TRUE(eventually([&] {
    return raw_exchange(limited.port(), "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .starts_with("HTTP/1.1 429 Too Many Requests\r\n");
  }));
  const auto reply = http_request("127.0.0.1", limited.port(), "GET", "/ping");
  EXPECT_EQ(reply.status, 429);
  EXPECT_EQ(reply.headers.at("connection"), "close");
}

// Refused connections hold a descriptor until they are answered: past a bound, new ones are
// closed unanswered so that refusals cannot exhaust what the caps protect.
TEST(ConnectionLimiter, RefusalsInProgressAreBoundedAndReleased) {
  ConnectionLimiter limiter(1, 0);
  auto admitted = limiter.admit("10.0.0.1");
  EXPECT_EQ(admitted.kind(), ConnectionTicket::Kind::admitted);
  std::vector<ConnectionTicket> refused;
  for (std::size_t i = 0; i < ConnectionLimiter::kMaxRefusing; ++i) {
    refused.push_back(limiter.admit("10.0.0.2"));
    ASSERT_EQ(refused.back().kind(), ConnectionTicket::Kind::refused);
    EXPECT_EQ(refused.back().refusal()->status, 503);
  }
  EXPECT_EQ(limiter.admit("10.0.0.3").kind(), ConnectionTicket::Kind::dropped);
  refused.pop_back();
  EXPECT_EQ(limiter.admit("10.0.0.3").kind(), ConnectionTicket::Kind::refused);
  EXPECT_EQ(limiter.open(), 1u);
  admitted = ConnectionTicket();
  EXPECT_EQ(limiter.open(), 0u);
  EXPECT_EQ(limiter.admit("10.0.0.3").kind(), ConnectionTicket::Kind::admitted);
}

TEST(ConnectionLimiter, PerAddressCountFollowsTicketsThroughMoves) {
  ConnectionLimiter limiter(0, 2);
  auto first = limiter.admit("10.0.0.1");
  auto second = limiter.admit("10.0.0.1");
  EXPECT_EQ(limiter.admit("10.0.0.1").refusal()->status, 429);
  EXPECT_EQ(limiter.admit("10.0.0.2").kind(), ConnectionTicket::Kind::admitted);
  ConnectionTicket handed_over = std::move(first);  // HTTP session -> WebSocket session
  EXPECT_EQ(limiter.open_from("10.0.0.1"), 2u);
  handed_over = ConnectionTicket();
  EXPECT_EQ(limiter.open_from("10.0.0.1"), 1u);
  EXPECT_EQ(limiter.admit("10.0.0.1").kind(), ConnectionTicket::Kind::admitted);
}

// The cap must refuse before accept() fails for want of descriptors (which answers nothing).
TEST(ConnectionLimiter, OverallCapFitsTheFileDescriptorLimit) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "no hard descriptor limit";
  const auto hard = static_cast<std::size_t>(limit.rlim_max);
  EXPECT_LT(fit_to_fd_limit(hard * 10), hard);
  EXPECT_LT(fit_to_fd_limit(0), hard);
  EXPECT_EQ(fit_to_fd_limit(10), 10u);
}

TEST(WebSocketDeadline, CallsTheHandlerAtTheDeadlineUnlessReplacedOrCancelled) {
  auto handler = std::make_shared<ScriptedHandler>();
  std::atomic<int> deadlines{0};
  handler->on_open_hook = [](ScriptedHandler& self) {
    // Replaced at once: only the later deadline counts.
    self.connection()->set_deadline(std::chrono::steady_clock::now() + 50ms);
    self.connection()->set_deadline(std::chrono::steady_clock::now() + 300ms);
  };
  handler->on_deadline_hook = [&](ScriptedHandler& self) {
    ++deadlines;
    self.connection()->close(1008, "too late");
  };
  Router router;
  router.add_websocket("/ws", testing::accept_with(handler));
  HttpServer server(test_options(), std::move(router));
  server.start();

  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", server.port(), "/ws").upgraded());
  const auto opened = std::chrono::steady_clock::now();
  const auto closed = client.wait_for_close(5s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - opened, 250ms);
  EXPECT_EQ(closed->code, 1008);
  EXPECT_EQ(closed->reason, "too late");
  EXPECT_EQ(deadlines.load(), 1);
}

TEST(WebSocketDeadline, CancelledDeadlineNeverFires) {
  auto handler = std::make_shared<ScriptedHandler>();
  std::atomic<int> deadlines{0};
  handler->on_open_hook = [](ScriptedHandler& self) {
    self.connection()->set_deadline(std::chrono::steady_clock::now() + 100ms);
    self.connection()->cancel_deadline();
  };
  handler->on_message_hook = testing::echo;
  handler->on_deadline_hook = [&](ScriptedHandler&) { ++deadlines; };
  Router router;
  router.add_websocket("/ws", testing::accept_with(handler));
  HttpServer server(test_options(), std::move(router));
  server.start();

  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", server.port(), "/ws").upgraded());
  std::this_thread::sleep_for(300ms);
  client.send_text("still here");
  EXPECT_EQ(client.receive(5s), "still here");
  EXPECT_EQ(deadlines.load(), 0);
}

}  // namespace
}  // namespace tandem::net
