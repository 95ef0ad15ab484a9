// The Engine.IO / Socket.IO server over real loopback sockets, driven packet by packet with raw
// HTTP and WebSocket clients: the protocol's corner cases that socket.io-client never shows.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "compat/socketio/socketio_server.h"
#include "net/http_server.h"
#include "support/http_client.h"
#include "support/ws_client.h"

namespace tandem::compat::socketio {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::http_request;
using testing::HttpReply;
using testing::WsClient;

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Records callbacks; on connect it emits "hello" with the auth, "echo" is echoed, "bye"
// disconnects, "flood" emits N events.
class RecordingHandler final : public SocketIoHandler {
 public:
  void on_connect(const std::shared_ptr<Socket>& socket) override {
    record("connect " + socket->handshake().auth.dump());
    {
      std::lock_guard lock(m_mutex);
      m_last = socket;
    }
    socket->emit("hello", socket->handshake().auth);
  }
  void on_event(const std::shared_ptr<Socket>& socket, std::string_view event, const json& args,
                std::optional<std::uint64_t> ack_id) override {
    record("event " + std::string(event) + " " + args.dump());
    if (event == "echo") socket->emit("echo", args.at(0));
    if (event == "ack-me" && ack_id) socket->ack(*ack_id, args);
    if (event == "bye") socket->disconnect();
    if (event == "flood") {
      for (int i = 0; i < args.at(0).get<int>(); ++i)
        socket->emit("flood", i);
    }
  }
  void on_disconnect(const Socket& /*socket*/, std::string_view reason) override {
    // The lock an application holds while it sends (e.g. its socket registry's).
    std::lock_guard app_lock(app_mutex);
    record("disconnect " + std::string(reason));
  }

  std::mutex app_mutex;

  std::vector<std::string> events() const {
    std::lock_guard lock(m_mutex);
    return m_events;
  }
  bool saw(const std::string& event) const {
    const auto all = events();
    return std::find(all.begin(), all.end(), event) != all.end();
  }
  std::shared_ptr<Socket> last_socket() const {
    std::lock_guard lock(m_mutex);
    return m_last;
  }
  // A socket holds its handler: the handler must not keep a socket when the test ends.
  void forget_socket() {
    std::lock_guard lock(m_mutex);
    m_last.reset();
  }

 private:
  void record(std::string event) {
    std::lock_guard lock(m_mutex);
    m_events.push_back(std::move(event));
  }

  mutable std::mutex m_mutex;
  std::vector<std::string> m_events;
  std::shared_ptr<Socket> m_last;
};

class EngineIoTransport : public ::testing::Test {
 protected:
  void start(SocketIoOptions options = {}, std::size_t max_connections_per_address =
                                               net::ServerOptions{}.max_connections_per_address) {
    m_handler = std::make_shared<RecordingHandler>();
    m_socketio = std::make_unique<SocketIoServer>(options, m_handler);
    net::Router router;
    m_socketio->mount(router);
    net::ServerOptions server_options;
    server_options.max_connections_per_address = max_connections_per_address;
    server_options.address = "127.0.0.1";
    server_options.port = 0;
    server_options.shutdown_grace = 1000ms;
    m_server = std::make_unique<net::HttpServer>(server_options, std::move(router));
    m_server->start();
  }

  void TearDown() override {
    if (m_socketio) m_socketio->stop();
    if (m_server) {
      m_server->stop();
      m_server->wait();
    }
    if (m_handler) m_handler->forget_socket();
    m_socketio.reset();
    m_server.reset();
  }

  HttpReply get(const std::string& query) {
    return http_request("127.0.0.1", m_server->port(), "GET", "/socket.io/?" + query);
  }
  HttpReply post(const std::string& query, const std::string& body) {
    return http_request("127.0.0.1", m_server->port(), "POST", "/socket.io/?" + query, body);
  }
  std::future<HttpReply> get_async(const std::string& query) {
    return std::async(std::launch::async, [this, query] { return get(query); });
  }

  // A polling session's id, from the handshake.
  std::string handshake() {
    const auto reply = get("EIO=4&transport=polling");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body.front(), '0');
    return json::parse(reply.body.substr(1)).at("sid").get<std::string>();
  }
  static std::string polling(const std::string& sid) {
    return "EIO=4&transport=polling&sid=" + sid;
  }

  std::shared_ptr<RecordingHandler> m_handler;
  std::unique_ptr<SocketIoServer> m_socketio;
  std::unique_ptr<net::HttpServer> m_server;
};

TEST_F(EngineIoTransport, PollingHandshakeAnswersTheOpenPacket) {
  SocketIoOptions options;
  options.ping_interval = 300ms;
  options.ping_timeout = 200ms;
  start(options);
  const auto reply = get("EIO=4&transport=polling&t=abc");
  ASSERT_EQ(reply.status, 200);
  ASSERT_EQ(reply.body.front(), '0');
  const auto open = json::parse(reply.body.substr(1));
  EXPECT_EQ(open.at("sid").get<std::string>().size(), 20u);
  EXPECT_EQ(open.at("upgrades"), json::array({"websocket"}));
  EXPECT_EQ(open.at("pingInterval"), 300);
  EXPECT_EQ(open.at("pingTimeout"), 200);
  EXPECT_EQ(open.at("maxPayload"), 1000000);
  EXPECT_EQ(m_socketio->session_count(), 1u);
}

TEST_F(EngineIoTransport, BadRequestsGetEngineIoErrorBodies) {
  start();
  auto expect_error = [](const HttpReply& reply, int code, const std::string& message) {
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(json::parse(reply.body), json({{"code", code}, {"message", message}}));
  };
  expect_error(get("EIO=4&transport=polling&sid=nope"), 1, "Session ID unknown");
  expect_error(get("EIO=4"), 0, "Transport unknown");
  expect_error(get("EIO=4&transport=carrier-pigeon"), 0, "Transport unknown");
  expect_error(get("EIO=3&transport=polling"), 5, "Unsupported protocol version");
  expect_error(get("transport=polling"), 5, "Unsupported protocol version");
  expect_error(post("EIO=4&transport=polling", "40"), 2, "Bad handshake method");
  expect_error(get("EIO=4&transport=websocket"), 3, "Bad request");
  EXPECT_EQ(m_socketio->session_count(), 0u);
}

TEST_F(EngineIoTransport, PacketsQueuedWhileNoRequestIsOpenArriveInOneResponse) {
  start();
  const auto sid = handshake();
  ASSERT_EQ(post(polling(sid), "40{\"token\":\"t\"}").body, "ok");
  ASSERT_EQ(post(polling(sid), "42[\"flood\",3]").body, "ok");
  const auto reply = get(polling(sid));
  ASSERT_EQ(reply.status, 200);
  const auto sep = std::string(1, '\x1e');
  const auto socket_sid = m_handler->last_socket()->id();
  EXPECT_EQ(reply.body, "40{\"sid\":\"" + socket_sid + "\"}" + sep +
                            "42[\"hello\",{\"token\":\"t\"}]" + sep + "42[\"flood\",0]" + sep +
                            "42[\"flood\",1]" + sep + "42[\"flood\",2]");
  EXPECT_EQ(m_socketio->socket_count(), 1u);
}

TEST_F(EngineIoTransport, HeldGetIsAnsweredWhenAPacketIsSent) {
  start();
  const auto sid = handshake();
  post(polling(sid), "40");
  EXPECT_EQ(get(polling(sid)).body.substr(0, 2), "40");  // the connect reply and hello
  auto held = get_async(polling(sid));
  EXPECT_EQ(held.wait_for(200ms), std::future_status::timeout);
  post(polling(sid), "42[\"echo\",\"x\"]");
  EXPECT_EQ(held.get().body, "42[\"echo\",\"x\"]");
}

TEST_F(EngineIoTransport, SecondConcurrentGetClosesTheSession) {
  start();
  const auto sid = handshake();
  auto first = get_async(polling(sid));
  std::this_thread::sleep_for(100ms);  // the first GET is held by now
  const auto second = get(polling(sid));
  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(first.get().body, "1");
  EXPECT_EQ(get(polling(sid)).status, 400);
}

TEST_F(EngineIoTransport, OversizedPostGets413AndClosesTheSession) {
  SocketIoOptions options;
  options.max_payload = 100;
  start(options);
  const auto sid = handshake();
  post(polling(sid), "40");
  const auto reply = post(polling(sid), "42[\"echo\",\"" + std::string(200, 'a') + "\"]");
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(get(polling(sid)).status, 400);
  EXPECT_TRUE(eventually([&] { return m_handler->saw("disconnect transport error"); }));
}

TEST_F(EngineIoTransport, MalformedPayloadGets400AndClosesTheSession) {
  start();
  const auto sid = handshake();
  EXPECT_EQ(post(polling(sid), "abc").status, 400);
  EXPECT_EQ(get(polling(sid)).status, 400);
  EXPECT_EQ(m_socketio->session_count(), 0u);
}

TEST_F(EngineIoTransport, MalformedSocketIoPacketDisconnectsWithParseError) {
  start();
  const auto sid = handshake();
  post(polling(sid), "40");
  post(polling(sid), "42{\"not\":\"an array\"}");
  EXPECT_TRUE(eventually([&] { return m_handler->saw("disconnect parse error"); }));
  EXPECT_EQ(get(polling(sid)).status, 400);
}

TEST_F(EngineIoTransport, PacketBeforeConnectClosesTheSession) {
  start();
  const auto sid = handshake();
  post(polling(sid), "42[\"echo\",1]");
  EXPECT_TRUE(eventually([&] { return m_socketio->session_count() == 0; }));
  EXPECT_TRUE(m_handler->events().empty());
}

TEST_F(EngineIoTransport, OtherNamespaceGetsConnectErrorAndTheSessionStays) {
  start();
  const auto sid = handshake();
  post(polling(sid), "40/admin,{\"token\":\"x\"}");
  EXPECT_EQ(get(polling(sid)).body, "44/admin,{\"message\":\"Invalid namespace\"}");
  post(polling(sid), "40");
  EXPECT_EQ(get(polling(sid)).body.substr(0, 2), "40");
  EXPECT_EQ(m_socketio->socket_count(), 1u);
}

TEST_F(EngineIoTransport, PingsArriveAndAMissingPongClosesTheSession) {
  SocketIoOptions options;
  options.ping_interval = 100ms;
  options.ping_timeout = 150ms;
  start(options);
  const auto sid = handshake();
  post(polling(sid), "40");
  get(polling(sid));  // connect reply and hello
  for (int i = 0; i < 3; ++i) {
    const auto ping = get(polling(sid));
    ASSERT_EQ(ping.body, "2");
    ASSERT_EQ(post(polling(sid), "3").body, "ok");
  }
  // No pong now: the session times out.
  EXPECT_EQ(get(polling(sid)).body, "2");
  EXPECT_TRUE(eventually([&] { return m_handler->saw("disconnect ping timeout"); }));
  EXPECT_EQ(get(polling(sid)).status, 400);
}

TEST_F(EngineIoTransport, ClientThatStopsPollingIsDropped) {
  SocketIoOptions options;
  options.ping_interval = 100ms;
  options.ping_timeout = 100ms;
  start(options);
  const auto sid = handshake();
  post(polling(sid), "40");
  EXPECT_TRUE(eventually([&] { return m_handler->saw("disconnect ping timeout"); }, 2s));
  EXPECT_EQ(m_socketio->session_count(), 0u);
  EXPECT_EQ(m_socketio->socket_count(), 0u);
}

TEST_F(EngineIoTransport, ServerDisconnectReachesAPollingClientBeforeTheClose) {
  start();
  const auto sid = handshake();
  post(polling(sid), "40");
  get(polling(sid));
  post(polling(sid), "42[\"bye\"]");
  // Apart: socket.io-client would act on a close packet before a message in the same response.
  EXPECT_EQ(get(polling(sid)).body, "41");
  EXPECT_EQ(get(polling(sid)).body, "1");
  EXPECT_EQ(get(polling(sid)).status, 400);
  EXPECT_TRUE(m_handler->saw("disconnect server namespace disconnect"));
}

TEST_F(EngineIoTransport, ClientClosePacketReleasesTheHeldGetWithNoop) {
  start();
  const auto sid = handshake();
  post(polling(sid), "40");
  get(polling(sid));
  auto held = get_async(polling(sid));
  std::this_thread::sleep_for(100ms);
  post(polling(sid), "1");
  EXPECT_EQ(held.get().body, "6");
  EXPECT_TRUE(eventually([&] { return m_handler->saw("disconnect transport close"); }));
}

TEST_F(EngineIoTransport, SlowPollingConsumerIsDisconnected) {
  SocketIoOptions options;
  options.max_queued_bytes = 1000;
  start(options);
  const auto sid = handshake();
  post(polling(sid), "40");
  post(polling(sid), "42[\"flood\",200]");
  EXPECT_TRUE(eventually([&] { return m_handler->saw("disconnect slow consumer"); }));
  EXPECT_EQ(get(polling(sid)).status, 400);
}

TEST_F(EngineIoTransport, SendAndDisconnectNeverRunTheHandlerOnTheCallersThread) {
  SocketIoOptions options;
  options.max_queued_bytes = 1000;
  start(options);
  for (const bool overflow : {true, false}) {
    const auto previous = m_handler->last_socket();
    const auto sid = handshake();
    post(polling(sid), "40");
    ASSERT_TRUE(eventually([&] { return m_handler->last_socket() != previous; }));
    const auto socket = m_handler->last_socket();
    {
      // Were on_disconnect run inside these calls, it would deadlock on the lock held here.
      std::lock_guard app_lock(m_handler->app_mutex);
      if (overflow) {
        socket->emit("big", std::string(2000, 'x'));
      } else {
        socket->disconnect();
      }
    }
    const auto expected =
        overflow ? "disconnect slow consumer" : "disconnect server namespace disconnect";
    EXPECT_TRUE(eventually([&] { return m_handler->saw(expected); })) << expected;
  }
}

TEST_F(EngineIoTransport, WebSocketOnlySessionConnectsAndEchoes) {
  start();
  WsClient ws;
  ASSERT_TRUE(ws.connect("127.0.0.1", m_server->port(), "/socket.io/?EIO=4&transport=websocket")
                  .upgraded());
  const auto open = ws.receive(2s);
  ASSERT_TRUE(open && open->front() == '0');
  EXPECT_EQ(json::parse(open->substr(1)).at("upgrades"), json::array());
  ws.send_text("40{\"token\":\"abc\"}");
  EXPECT_EQ(ws.receive(2s)->substr(0, 9), "40{\"sid\":");
  EXPECT_EQ(*ws.receive(2s), "42[\"hello\",{\"token\":\"abc\"}]");
  ws.send_text("42[\"echo\",{\"n\":1}]");
  EXPECT_EQ(*ws.receive(2s), "42[\"echo\",{\"n\":1}]");
  ws.send_text("421[\"ack-me\",\"a\",2]");
  EXPECT_EQ(*ws.receive(2s), "431[\"a\",2]");
  ws.send_text("42[\"bye\"]");
  EXPECT_EQ(*ws.receive(2s), "41");
  EXPECT_TRUE(ws.wait_for_close(2s).has_value());
  EXPECT_TRUE(eventually([&] { return m_socketio->session_count() == 0; }));
}

// The caps live in the net layer, so they hold for Socket.IO's WebSocket and polling
// connections as for every other connection on the port.
TEST_F(EngineIoTransport, NetConnectionCapsApplyToSocketIoConnections) {
  start({}, 2);
  WsClient first;
  WsClient second;
  const std::string target = "/socket.io/?EIO=4&transport=websocket";
  ASSERT_TRUE(first.connect("127.0.0.1", m_server->port(), target).upgraded());
  ASSERT_TRUE(second.connect("127.0.0.1", m_server->port(), target).upgraded());
  WsClient third;
  const auto refused = third.connect("127.0.0.1", m_server->port(), target);
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("Too many connections"), std::string::npos) << refused.body;
  EXPECT_EQ(get("EIO=4&transport=polling").status, 429);
  EXPECT_TRUE(eventually([&] { return m_socketio->session_count() == 2; }));
}

TEST_F(EngineIoTransport, WebSocketRefusesBadQueriesAndUnknownSids) {
  start();
  WsClient unknown;
  const auto refused = unknown.connect("127.0.0.1", m_server->port(),
                                       "/socket.io/?EIO=4&transport=websocket&sid=nope");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(json::parse(refused.body).at("code"), 1);
  WsClient old_protocol;
  EXPECT_EQ(
      old_protocol.connect("127.0.0.1", m_server->port(), "/socket.io/?EIO=3&transport=websocket")
          .status,
      400);
}

TEST_F(EngineIoTransport, UpgradeReleasesTheHeldGetAndMovesTheQueueToTheWebSocket) {
  start();
  const auto sid = handshake();
  post(polling(sid), "40");
  get(polling(sid));
  auto held = get_async(polling(sid));
  std::this_thread::sleep_for(100ms);

  WsClient ws;
  ASSERT_TRUE(
      ws.connect("127.0.0.1", m_server->port(), "/socket.io/?EIO=4&transport=websocket&sid=" + sid)
          .upgraded());
  ws.send_text("2probe");
  EXPECT_EQ(*ws.receive(2s), "3probe");
  EXPECT_EQ(held.get().body, "6");
  // Until the upgrade completes, packets wait in the polling queue.
  m_handler->last_socket()->emit("during", 1);
  ws.send_text("5");
  EXPECT_EQ(*ws.receive(2s), "42[\"during\",1]");
  ws.send_text("42[\"echo\",\"after\"]");
  EXPECT_EQ(*ws.receive(2s), "42[\"echo\",\"after\"]");
  EXPECT_EQ(get(polling(sid)).status, 400);

  // A second WebSocket for the same session is refused.
  WsClient second;
  EXPECT_EQ(second
                .connect("127.0.0.1", m_server->port(),
                         "/socket.io/?EIO=4&transport=websocket&sid=" + sid)
                .status,
            400);
}

TEST_F(EngineIoTransport, StopDisconnectsEverySocketAndReleasesHeldGets) {
  start();
  const auto sid = handshake();
  post(polling(sid), "40");
  get(polling(sid));
  auto held = get_async(polling(sid));
  std::this_thread::sleep_for(100ms);
  m_socketio->stop();
  EXPECT_EQ(held.get().body, "1");
  // The handler hears of it on the socket's callback queue, which the thread that delivered
  // the connect may still be draining: after stop() returns, not before the GET is answered.
  EXPECT_TRUE(eventually([&] { return m_handler->saw("disconnect server shutting down"); }));
  EXPECT_EQ(m_socketio->socket_count(), 0u);
  EXPECT_EQ(get("EIO=4&transport=polling").status, 503);
}

}  // namespace
}  // namespace tandem::compat::socketio
