#include <gtest/gtest.h>

#include "common/error.h"
#include "net/http_server.h"
#include "net_test_util.h"
#include "support/http_client.h"
#include "support/ws_client.h"
#include "test_certificate.h"

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
using tandem::testing::http_request;
using tandem::testing::WsClient;
using testing::accept_with;
using testing::echo;
using testing::ScriptedHandler;
using testing::test_options;
using testing::TestCertificate;

TEST(WebSocketSession, TlsServesWss) {
  const TestCertificate certificate;
  auto options = test_options();
  options.tls = TlsOptions{certificate.certificate_file(), certificate.private_key_file()};
  auto handler = std::make_shared<ScriptedHandler>();
  handler->on_message_hook = echo;
  Router router;
  router.add_websocket("/ws", accept_with(handler));
  router.add("GET", "/ping", [](const HttpRequest&, const HttpResponder& respond) {
    respond(HttpResponse::text(200, "pong"));
  });
  HttpServer server(options, std::move(router));
  server.start();

  WsClient client;
  ASSERT_TRUE(
      client.connect("127.0.0.1", server.port(), "/ws", {}, /*tls_no_verify=*/true).upgraded());
  client.send_text("secret");
  EXPECT_EQ(client.receive(5s), "secret");
  client.close(1000);
  EXPECT_EQ(handler->wait_closed()->code, 1000);

  const auto reply =
      http_request("127.0.0.1", server.port(), "GET", "/ping", {}, {}, {.tls_no_verify = true});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "pong");
  // A plain-text client gets nowhere on a TLS port.
  EXPECT_THROW(http_request("127.0.0.1", server.port(), "GET", "/ping", {}, {}, {.timeout = 2s}),
               std::runtime_error);
}

TEST(HttpServer, UnreadableTlsFilesThrowConfigInvalidNamingTheFile) {
  const TestCertificate certificate;
  auto options = test_options();
  options.tls = TlsOptions{"/nonexistent/cert.pem", certificate.private_key_file()};
  HttpServer missing_certificate(options, Router{});
  try {
    missing_certificate.start();
    FAIL() << "start() should throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::config_invalid);
    EXPECT_NE(std::string(e.message()).find("/nonexistent/cert.pem"), std::string::npos);
  }

  options.tls = TlsOptions{certificate.certificate_file(), certificate.certificate_file()};
  HttpServer wrong_key(options, Router{});
  try {
    wrong_key.start();
    FAIL() << "start() should throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::config_invalid);
    EXPECT_NE(std::string(e.message()).find(certificate.certificate_file()), std::string::npos);
  }
}

}  // namespace
}  // namespace tandem::net
