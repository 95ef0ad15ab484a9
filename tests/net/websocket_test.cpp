#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/http_server.h"
#include "net_test_util.h"
#include "support/ws_client.h"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
using tandem::testing::WsClient;
using testing::accept_with;
using testing::echo;
using testing::eventually;
using testing::ScriptedHandler;
using testing::test_options;

struct EchoServer {
  explicit EchoServer(const ServerOptions& options = test_options())
      : handler(std::make_shared<ScriptedHandler>()) {
    handler->on_message_hook = echo;
    Router router;
    router.add_websocket("/ws", accept_with(handler));
    server = std::make_unique<HttpServer>(options, std::move(router));
    server->start();
  }

  std::shared_ptr<ScriptedHandler> handler;
  std::unique_ptr<HttpServer> server;
};

TEST(WebSocketSession, EchoesMessagesInOrder) {
  EchoServer echo_server;
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_server.server->port(), "/ws").upgraded());
  EXPECT_TRUE(eventually([&] { return echo_server.server->open_websockets() == 1; }));

  for (int i = 0; i < 100; ++i)
    client.send_text("message " + std::to_string(i));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(client.receive(5s), "message " + std::to_string(i));
  }

  client.close(1000, "bye");
  const auto closed = echo_server.handler->wait_closed();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 1000);
  EXPECT_EQ(closed->reason, "bye");
  EXPECT_TRUE(eventually([&] { return echo_server.server->open_websockets() == 0; }));
  EXPECT_EQ(echo_server.handler->count("open"), 1u);
  EXPECT_EQ(echo_server.handler->count("close"), 1u);
}

TEST(WebSocketSession, SendFromAnotherThreadKeepsOrder) {
  EchoServer echo_server;
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_server.server->port(), "/ws").upgraded());
  ASSERT_TRUE(eventually([&] { return echo_server.handler->connection() != nullptr; }));

  std::thread sender([connection = echo_server.handler->connection()] {
    for (int i = 0; i < 50; ++i)
      connection->send_text(std::to_string(i));
  });
  sender.join();
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(client.receive(5s), std::to_string(i));
}

// The server writes the frames of many queued messages at once; each length encoding (7, 16
// and 64 bits), copied or written in place, must come out as the same messages in order.
TEST(WebSocketSession, BurstOfMessagesOfEveryLengthArrivesIntactAndInOrder) {
  EchoServer echo_server;
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_server.server->port(), "/ws").upgraded());
  ASSERT_TRUE(eventually([&] { return echo_server.handler->connection() != nullptr; }));

  std::vector<std::string> messages;
  for (const std::size_t size : {0, 1, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 300000}) {
    for (int copy = 0; copy < 3; ++copy)
      messages.emplace_back(size, static_cast<char>('a' + messages.size() % 26));
  }
  for (int i = 0; i < 3000; ++i)
    messages.push_back("small " + std::to_string(i));
  std::thread sender([connection = echo_server.handler->connection(), &messages] {
    for (const auto& message : messages)
      connection->send_text(message);
  });
  sender.join();

  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto received = client.receive(5s);
    ASSERT_TRUE(received.has_value()) << "message " << i;
    ASSERT_EQ(*received, messages[i]) << "message " << i;
  }
}

// Beast answers pings and sends its keep-alive pings while the session's own writes are
// under way; no control frame may land inside another frame.
TEST(WebSocketSession, PingsAndPongsInterleaveSafelyWithABurst) {
  auto options = test_options();
  options.idle_timeout = std::chrono::seconds(1);  // the server pings every 0.5 s of silence
  EchoServer echo_server(options);
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_server.server->port(), "/ws").upgraded());
  ASSERT_TRUE(eventually([&] { return echo_server.handler->connection() != nullptr; }));

  constexpr int kMessages = 20000;
  std::thread sender([connection = echo_server.handler->connection()] {
    for (int i = 0; i < kMessages; ++i) {
      connection->send_text(std::string(100 + i % 900, 'p') + std::to_string(i));
      if (i % 100 == 99) std::this_thread::sleep_for(8ms);  // a burst lasting about 1.6 s
    }
  });
  int pings_sent = 0;
  for (int i = 0; i < kMessages; ++i) {
    // Pings only early on: afterwards the client stays silent, so the server pings it.
    if (i % 500 == 0 && i < kMessages / 2) {
      client.ping("p" + std::to_string(i));
      ++pings_sent;
    }
    const auto received = client.receive(5s);
    ASSERT_TRUE(received.has_value()) << "message " << i;
    ASSERT_EQ(*received, std::string(100 + i % 900, 'p') + std::to_string(i));
  }
  sender.join();
  EXPECT_TRUE(eventually([&] {
    client.receive(10ms);
    return client.control_frames().pongs == static_cast<std::size_t>(pings_sent);
  }));
  EXPECT_TRUE(eventually([&] {
    client.receive(10ms);
    return client.control_frames().pings > 0;
  }));
  client.close(1000);
  EXPECT_EQ(echo_server.handler->wait_closed()->code, 1000);
}

TEST(WebSocketSession, UpgradeOnUnregisteredPathGets404) {
  EchoServer echo_server;
  WsClient client;
  const auto handshake = client.connect("127.0.0.1", echo_server.server->port(), "/other");
  EXPECT_EQ(handshake.status, 404);
  EXPECT_EQ(echo_server.handler->count("open"), 0u);
}

TEST(WebSocketSession, AcceptorMayRefuseWith401) {
  auto handler = std::make_shared<ScriptedHandler>();
  handler->on_message_hook = echo;
  Router router;
  router.add_websocket("/ws",
                       [handler](const HttpRequest& request)
                           -> std::variant<std::shared_ptr<WebSocketHandler>, HttpResponse> {
                         if (request.query_param("token") == "good") return handler;
                         return HttpResponse::json_error(401, "unauthenticated",
                                                         "Missing or invalid token");
                       });
  HttpServer server(test_options(), std::move(router));
  server.start();

  WsClient refused;
  const auto handshake = refused.connect("127.0.0.1", server.port(), "/ws?token=bad");
  EXPECT_EQ(handshake.status, 401);
  EXPECT_NE(handshake.body.find(R"("error":"unauthenticated")"), std::string::npos);
  EXPECT_EQ(handler->count("open"), 0u);

  WsClient accepted;
  ASSERT_TRUE(accepted.connect("127.0.0.1", server.port(), "/ws?token=good").upgraded());
  accepted.send_text("hi");
  EXPECT_EQ(accepted.receive(5s), "hi");
}

TEST(WebSocketSession, OversizedMessageGetsHandlerErrorThenClose1009) {
  auto options = test_options();
  options.max_websocket_message = 1024;
  EchoServer echo_server(options);
  echo_server.handler->on_too_big_hook = [](ScriptedHandler& handler, std::size_t limit) {
    handler.send(R"({"error":"frame_too_large","limit":)" + std::to_string(limit) + "}");
  };
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_server.server->port(), "/ws").upgraded());

  client.send_text(std::string(1024, 'a'));  // at the limit: fine
  EXPECT_EQ(client.receive(5s), std::string(1024, 'a'));
  client.send_text(std::string(4096, 'b'));
  EXPECT_EQ(client.receive(5s), R"({"error":"frame_too_large","limit":1024})");
  const auto closed = client.wait_for_close(5s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 1009);
  EXPECT_EQ(echo_server.handler->wait_closed()->code, 1009);
  EXPECT_EQ(echo_server.handler->count("too_big"), 1u);
}

TEST(WebSocketSession, StopCallsOnShutdownAndClientReceivesClose1001) {
  EchoServer echo_server;
  echo_server.handler->on_shutdown_hook = [](ScriptedHandler& handler) {
    handler.send("pending ack");
    handler.connection()->close(1001, "server shutting down");
  };
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_server.server->port(), "/ws").upgraded());
  ASSERT_TRUE(eventually([&] { return echo_server.handler->count("open") == 1; }));

  const auto started = std::chrono::steady_clock::now();
  echo_server.server->stop();
  EXPECT_EQ(client.receive(5s), "pending ack");
  const auto closed = client.wait_for_close(5s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 1001);
  EXPECT_EQ(closed->reason, "server shutting down");
  echo_server.server->wait();
  // The handler closed at once: the server did not sit out its grace period.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
  EXPECT_EQ(echo_server.handler->count("shutdown"), 1u);
  EXPECT_EQ(echo_server.handler->count("close"), 1u);
}

TEST(WebSocketSession, ConnectionStillOpenAfterGraceIsClosedWith1001) {
  auto options = test_options();
  options.shutdown_grace = 200ms;
  EchoServer echo_server(options);  // its handler ignores on_shutdown
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_server.server->port(), "/ws").upgraded());
  ASSERT_TRUE(eventually([&] { return echo_server.handler->count("open") == 1; }));

  echo_server.server->stop();
  const auto closed = client.wait_for_close(5s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 1001);
  echo_server.server->wait();
  EXPECT_EQ(echo_server.handler->count("shutdown"), 1u);
  EXPECT_EQ(echo_server.handler->count("close"), 1u);
}

TEST(WebSocketSession, SlowConsumerIsClosedWhenQueueExceedsLimit) {
  auto options = test_options();
  options.max_queued_bytes = 1 << 20;
  EchoServer echo_server(options);
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_server.server->port(), "/ws").upgraded());
  ASSERT_TRUE(eventually([&] { return echo_server.handler->connection() != nullptr; }));
  auto connection = echo_server.handler->connection();

  // The client reads nothing: socket buffers fill, then the server's queue.
  const auto chunk = std::make_shared<const std::string>(64 << 10, 'x');
  bool exceeded = false;
  for (int sent = 0; sent < 4000 && !exceeded; ++sent) {
    connection->send_text(chunk);
    exceeded = connection->queued_bytes() > options.max_queued_bytes;
    if (sent % 16 == 15) std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(exceeded);
  // The server drops its queue: only the write in flight is left (one write gathers up to
  // 256 KiB of frames).
  EXPECT_TRUE(
      eventually([&] { return connection->queued_bytes() <= (256u << 10) + chunk->size(); }));

  const auto closed = client.wait_for_close(10s);
  ASSERT_TRUE(closed.has_value());
  // The write in flight completes once the client reads; the close frame follows it.
  EXPECT_EQ(closed->code, 1008);
  EXPECT_EQ(closed->reason, "slow consumer");
  EXPECT_EQ(echo_server.handler->wait_closed()->code, 1008);
}

TEST(WebSocketSession, DrainIsSignalledWhenQueueFallsToLowWater) {
  auto options = test_options();
  options.drain_low_water = 64 << 10;
  EchoServer echo_server(options);
  const auto chunk = std::make_shared<const std::string>(64 << 10, 'x');
  echo_server.handler->on_open_hook = [chunk](ScriptedHandler& handler) {
    for (int i = 0; i < 64; ++i)
      handler.connection()->send_text(chunk);
  };
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_server.server->port(), "/ws").upgraded());

  for (int i = 0; i < 64; ++i)
    ASSERT_EQ(client.receive(5s)->size(), chunk->size());
  EXPECT_TRUE(eventually([&] { return echo_server.handler->count("drain") == 1; }));
  EXPECT_EQ(echo_server.handler->connection()->queued_bytes(), 0u);
}

TEST(WebSocketSession, HandlerExceptionClosesWith1011AndServerKeepsServing) {
  std::vector<std::shared_ptr<ScriptedHandler>> handlers;
  std::mutex handlers_mutex;
  Router router;
  router.add_websocket(
      "/ws",
      [&](const HttpRequest&) -> std::variant<std::shared_ptr<WebSocketHandler>, HttpResponse> {
        auto handler = std::make_shared<ScriptedHandler>();
        handler->on_message_hook = [](ScriptedHandler& self, std::string_view payload) {
          if (payload == "boom") throw std::runtime_error("handler failure");
          echo(self, payload);
        };
        std::lock_guard lock(handlers_mutex);
        handlers.push_back(handler);
        return handler;
      });
  HttpServer server(test_options(), std::move(router));
  server.start();

  WsClient failing;
  ASSERT_TRUE(failing.connect("127.0.0.1", server.port(), "/ws").upgraded());
  failing.send_text("before");
  EXPECT_EQ(failing.receive(5s), "before");
  failing.send_text("boom");
  const auto closed = failing.wait_for_close(5s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 1011);

  WsClient healthy;
  ASSERT_TRUE(healthy.connect("127.0.0.1", server.port(), "/ws").upgraded());
  healthy.send_text("still here");
  EXPECT_EQ(healthy.receive(5s), "still here");

  std::lock_guard lock(handlers_mutex);
  ASSERT_EQ(handlers.size(), 2u);
  EXPECT_EQ(handlers[0]->wait_closed()->code, 1011);  // on_close still releases resources
}

}  // namespace
}  // namespace tandem::net
