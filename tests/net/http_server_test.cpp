#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "net/http_server.h"
#include "net_test_util.h"
#include "support/http_client.h"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
using tandem::testing::http_request;
using testing::occurrences;
using testing::raw_exchange;
using testing::test_options;

HttpHandler reply_with(const std::string& body) {
  return [body](const HttpRequest&, const HttpResponder& respond) {
    respond(HttpResponse::text(200, body));
  };
}

TEST(HttpRequest, QueryParamIsPercentDecoded) {
  HttpRequest request;
  request.query = "a=1&name=hello%20world&plus=x+y&flag&bad=%zz";
  EXPECT_EQ(request.query_param("a"), "1");
  EXPECT_EQ(request.query_param("name"), "hello world");
  EXPECT_EQ(request.query_param("plus"), "x y");
  EXPECT_EQ(request.query_param("flag"), "");
  EXPECT_EQ(request.query_param("bad"), "%zz");
  EXPECT_EQ(request.query_param("missing"), std::nullopt);
}

TEST(HttpResponse, JsonErrorHasCodeErrorAndMessageInThatOrder) {
  const auto response = HttpResponse::json_error(404, "not_found", "Route not found");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"code":404,"error":"not_found","message":"Route not found"})");
  EXPECT_EQ(HttpResponse::json_error(400, "bad_request", "a \"b\"\\\n\x01").body,
            R"({"code":400,"error":"bad_request","message":"a \"b\"\\\n\u0001"})");
}

TEST(HttpServer, AnswersRegisteredRouteAndCountsEachRequestOnce) {
  std::atomic<int> calls{0};
  Router router;
  router.add("GET", "/ping", [&](const HttpRequest&, const HttpResponder& respond) {
    ++calls;
    respond(HttpResponse::text(200, "pong"));
  });
  HttpServer server(test_options(), std::move(router));
  server.start();

  for (int i = 0; i < 3; ++i) {
    const auto reply = http_request("127.0.0.1", server.port(), "GET", "/ping");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "pong");
    EXPECT_EQ(reply.headers.at("content-type"), "text/plain; charset=utf-8");
  }
  EXPECT_EQ(calls.load(), 3);
}

TEST(HttpServer, HandlerSeesMethodPathQueryHeadersBodyAndRemote) {
  std::promise<HttpRequest> seen;
  Router router;
  router.add("POST", "/echo", [&](const HttpRequest& request, const HttpResponder& respond) {
    seen.set_value(request);
    respond(HttpResponse::text(200, request.body));
  });
  HttpServer server(test_options(), std::move(router));
  server.start();

  const auto reply = http_request("127.0.0.1", server.port(), "POST", "/echo?token=s%3Dcret",
                                  "payload", {{"X-Custom", "42"}});
  EXPECT_EQ(reply.body, "payload");
  const HttpRequest request = seen.get_future().get();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/echo?token=s%3Dcret");
  EXPECT_EQ(request.path, "/echo");
  EXPECT_EQ(request.query_param("token"), "s=cret");
  EXPECT_EQ(request.header("x-custom"), "42");
  EXPECT_EQ(request.body, "payload");
  EXPECT_TRUE(request.remote_address.starts_with("127.0.0.1:"));
}

TEST(HttpServer, UnknownRouteGets404Json) {
  HttpServer server(test_options(), Router{});
  server.start();

  const auto reply = http_request("127.0.0.1", server.port(), "GET", "/nowhere?x=1");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.headers.at("content-type"), "application/json");
  EXPECT_EQ(reply.body, R"({"code":404,"error":"not_found","message":"Route not found"})");
}

TEST(HttpServer, WrongMethodOnKnownPathGets405WithAllow) {
  Router router;
  router.add("GET", "/thing", reply_with("get"));
  router.add("PUT", "/thing", reply_with("put"));
  HttpServer server(test_options(), std::move(router));
  server.start();

  const auto reply = http_request("127.0.0.1", server.port(), "DELETE", "/thing");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.headers.at("allow"), "GET, PUT");
  EXPECT_NE(reply.body.find(R"("code":405)"), std::string::npos);
}

TEST(HttpServer, PlainGetOnWebSocketPathGets426) {
  Router router;
  router.add_websocket("/ws", testing::accept_with(std::make_shared<testing::ScriptedHandler>()));
  HttpServer server(test_options(), std::move(router));
  server.start();

  const auto reply = http_request("127.0.0.1", server.port(), "GET", "/ws");
  EXPECT_EQ(reply.status, 426);
  EXPECT_EQ(reply.headers.at("upgrade"), "websocket");
  EXPECT_EQ(http_request("127.0.0.1", server.port(), "POST", "/ws").status, 405);
}

TEST(HttpServer, ExactRouteFirstThenLongestPrefixWithMatchingMethod) {
  Router router;
  router.add_prefix("GET", "/admin/", reply_with("admin"));
  router.add_prefix("*", "/admin/api/", reply_with("api"));
  router.add("GET", "/admin/api/health", reply_with("health"));
  router.add_prefix("POST", "/admin/api/v2/", reply_with("v2-post"));
  HttpServer server(test_options(), std::move(router));
  server.start();
  const auto get = [&](const std::string& method, const std::string& target) {
    return http_request("127.0.0.1", server.port(), method, target).body;
  };

  EXPECT_EQ(get("GET", "/admin/api/health"), "health");
  EXPECT_EQ(get("GET", "/admin/api/users"), "api");
  EXPECT_EQ(get("GET", "/admin/index.html"), "admin");
  EXPECT_EQ(get("POST", "/admin/api/v2/x"), "v2-post");
  EXPECT_EQ(get("GET", "/admin/api/v2/x"), "api");  // the longest prefix for GET
  EXPECT_EQ(http_request("127.0.0.1", server.port(), "POST", "/admin/x").status, 405);
}

TEST(HttpServer, BodyAboveLimitGets413) {
  auto options = test_options();
  options.max_http_body = 1024;
  Router router;
  router.add("POST", "/upload", reply_with("stored"));
  HttpServer server(options, std::move(router));
  server.start();

  EXPECT_EQ(
      http_request("127.0.0.1", server.port(), "POST", "/upload", std::string(1024, 'a')).status,
      200);
  const auto reply =
      http_request("127.0.0.1", server.port(), "POST", "/upload", std::string(64 << 10, 'a'));
  EXPECT_EQ(reply.status, 413);
  EXPECT_NE(reply.body.find(R"("code":413)"), std::string::npos);
  EXPECT_EQ(reply.headers.at("connection"), "close");
}

TEST(HttpServer, AsyncResponderMayAnswerFromAnotherThread) {
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  Router router;
  router.add("GET", "/slow", [&](const HttpRequest& request, const HttpResponder& respond) {
    std::lock_guard lock(workers_mutex);
    // The request is only valid during the call: the worker takes what it needs.
    workers.emplace_back([respond, path = request.path] {
      std::this_thread::sleep_for(50ms);
      respond(HttpResponse::text(202, "later " + path));
    });
  });
  HttpServer server(test_options(), std::move(router));
  server.start();

  const auto reply = http_request("127.0.0.1", server.port(), "GET", "/slow");
  EXPECT_EQ(reply.status, 202);
  EXPECT_EQ(reply.body, "later /slow");
  for (auto& worker : workers)
    worker.join();
}

TEST(HttpServer, ResponderCalledAfterTheConnectionDiedIsHarmless) {
  std::promise<HttpResponder> parked;
  Router router;
  router.add("GET", "/park", [&](const HttpRequest&, HttpResponder respond) {
    parked.set_value(std::move(respond));
  });
  auto options = test_options();
  options.shutdown_grace = 100ms;
  auto server = std::make_unique<HttpServer>(options, std::move(router));
  server->start();

  const auto port = server->port();
  auto client = std::async(std::launch::async, [port] {
    return http_request("127.0.0.1", port, "GET", "/park", {}, {}, {.timeout = 3s});
  });
  HttpResponder respond = parked.get_future().get();
  server.reset();  // forced close of the waiting request after the grace period
  EXPECT_THROW(client.get(), std::runtime_error);
  respond(HttpResponse::text(200, "too late"));
  respond(HttpResponse::text(200, "twice"));
}

TEST(HttpServer, HandlerExceptionGets500AndDroppedResponderGets500) {
  Router router;
  router.add("GET", "/throws",
             [](const HttpRequest&, const HttpResponder&) { throw std::runtime_error("boom"); });
  router.add("GET", "/drops", [](const HttpRequest&, const HttpResponder&) {});
  HttpServer server(test_options(), std::move(router));
  server.start();

  const auto thrown = http_request("127.0.0.1", server.port(), "GET", "/throws");
  EXPECT_EQ(thrown.status, 500);
  EXPECT_NE(thrown.body.find(R"("error":"internal")"), std::string::npos);
  EXPECT_EQ(http_request("127.0.0.1", server.port(), "GET", "/drops").status, 500);
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::atomic<int> calls{0};
  Router router;
  router.add("GET", "/n", [&](const HttpRequest&, const HttpResponder& respond) {
    respond(HttpResponse::text(200, std::to_string(++calls)));
  });
  HttpServer server(test_options(), std::move(router));
  server.start();

  const std::string request = "GET /n HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string last = "GET /n HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const auto received = raw_exchange(server.port(), request + request + last);
  EXPECT_EQ(occurrences(received, "HTTP/1.1 200 OK"), 3u) << received;
  EXPECT_EQ(calls.load(), 3);
}

// Each request ends with a chunked body's last chunk, which is also 5 bytes of body by
// Content-Length, and a second request follows: a server that frames the first differently
// from a proxy in front of it would serve that second request, smuggled past the proxy.
TEST(HttpServer, AmbiguousBodyFramingGets400AndClosesTheConnection) {
  std::atomic<int> calls{0};
  Router router;
  router.add("*", "/n", [&](const HttpRequest&, const HttpResponder& respond) {
    ++calls;
    respond(HttpResponse::text(200, "served"));
  });
  HttpServer server(test_options(), std::move(router));
  server.start();

  const std::vector<std::string> framings = {
      "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n",
      "Transfer-Encoding: identity\r\nContent-Length: 5\r\n",
      "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n",
      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
      "Transfer-Encoding: chunked, identity\r\n",
      "Transfer-Encoding: gzip, chunked\r\n",
      "Transfer-Encoding: identity\r\n",
      "Transfer-Encoding: xchunked\r\n",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
      "Content-Length: 5\r\nContent-Length: 5\r\n",
      "Content-Length: 5\r\nContent-Length: 6\r\n",
      "Content-Length: 5, 5\r\n",
  };
  const std::string smuggled = "GET /n HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const auto& framing : framings) {
    SCOPED_TRACE(framing);
    const auto received = raw_exchange(
        server.port(), "POST /n HTTP/1.1\r\nHost: x\r\n" + framing + "\r\n0\r\n\r\n" + smuggled);
    EXPECT_TRUE(received.starts_with("HTTP/1.1 400 Bad Request\r\n")) << received;
    EXPECT_EQ(occurrences(received, "HTTP/1.1 "), 1u) << received;
    EXPECT_NE(received.find("Connection: close\r\n"), std::string::npos) << received;
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServer, ChunkedOrContentLengthBodiesAreRead) {
  Router router;
  router.add("POST", "/echo", [](const HttpRequest& request, const HttpResponder& respond) {
    respond(HttpResponse::text(200, "[" + request.body + "]"));
  });
  HttpServer server(test_options(), std::move(router));
  server.start();

  const auto received = raw_exchange(
      server.port(),
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nworld");
  EXPECT_EQ(occurrences(received, "HTTP/1.1 200 OK"), 2u) << received;
  EXPECT_NE(received.find("[hello]"), std::string::npos) << received;
  EXPECT_TRUE(received.ends_with("[world]")) << received;
}

// A HEAD response is followed directly by the next response on the connection: a body after
// it would be read as the start of that next response.
TEST(HttpServer, HeadResponseStatesTheLengthButHasNoBody) {
  Router router;
  router.add("*", "/ping", reply_with("pong"));
  HttpServer server(test_options(), std::move(router));
  server.start();

  const auto received = raw_exchange(server.port(),
                                     "HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n"
                                     "HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
                                     "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto first_end = received.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << received;
  EXPECT_TRUE(received.starts_with("HTTP/1.1 200 OK\r\n")) << received;
  EXPECT_NE(received.substr(0, first_end + 2).find("Content-Length: 4\r\n"), std::string::npos)
      << received;
  const auto second = received.substr(first_end + 4);
  EXPECT_TRUE(second.starts_with("HTTP/1.1 404 Not Found\r\n")) << received;
  const auto third = second.substr(second.find("\r\n\r\n") + 4);
  EXPECT_TRUE(third.starts_with("HTTP/1.1 200 OK\r\n")) << received;
  EXPECT_TRUE(third.ends_with("\r\n\r\npong")) << received;
}

TEST(HttpServer, PortZeroPicksAFreePort) {
  Router first_router;
  first_router.add("GET", "/who", reply_with("first"));
  Router second_router;
  second_router.add("GET", "/who", reply_with("second"));
  HttpServer first(test_options(), std::move(first_router));
  HttpServer second(test_options(), std::move(second_router));
  first.start();
  second.start();

  EXPECT_NE(first.port(), 0);
  EXPECT_NE(second.port(), 0);
  EXPECT_NE(first.port(), second.port());
  EXPECT_EQ(http_request("127.0.0.1", first.port(), "GET", "/who").body, "first");
  EXPECT_EQ(http_request("127.0.0.1", second.port(), "GET", "/who").body, "second");
}

TEST(HttpServer, PortInUseThrowsConfigInvalidNamingTheAddress) {
  HttpServer first(test_options(), Router{});
  first.start();
  auto options = test_options();
  options.port = first.port();
  HttpServer second(options, Router{});
  try {
    second.start();
    FAIL() << "start() should throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::config_invalid);
    const std::string expected = "cannot listen on 127.0.0.1:" + std::to_string(first.port());
    EXPECT_TRUE(std::string(e.message()).starts_with(expected)) << e.message();
  }
}

TEST(HttpServer, StopLetsTheRequestInFlightFinishAndIsIdempotent) {
  std::promise<void> entered;
  Router router;
  router.add("GET", "/slow", [&](const HttpRequest&, const HttpResponder& respond) {
    entered.set_value();
    std::thread([respond] {
      std::this_thread::sleep_for(200ms);
      respond(HttpResponse::text(200, "finished"));
    }).detach();
  });
  HttpServer server(test_options(), std::move(router));
  server.start();
  const auto port = server.port();

  auto client = std::async(std::launch::async,
                           [port] { return http_request("127.0.0.1", port, "GET", "/slow"); });
  entered.get_future().wait();
  server.stop();
  server.stop();
  const auto reply = client.get();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "finished");
  EXPECT_EQ(reply.headers.at("connection"), "close");
  server.wait();
  EXPECT_THROW(http_request("127.0.0.1", port, "GET", "/slow", {}, {}, {.timeout = 1s}),
               std::runtime_error);
}

}  // namespace
}  // namespace tandem::net
