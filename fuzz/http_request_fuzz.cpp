// Raw bytes on an HTTP connection, through what the server runs on them (http_session.cpp):
// Beast's request parser with the server's limits, one request after another as on a
// keep-alive connection, then our conversion to HttpRequest, routing and dispatch (on routes
// shaped like the server's), the query and header accessors handlers use, and the response
// conversion and serialization. A request the parser refuses is answered as reject() does.
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <sstream>

#include "compat/esink/publish_request.h"
#include "fuzz_check.h"
#include "net/beast_types.h"
#include "net/http_convert.h"
#include "net/request_dispatch.h"

namespace {

using namespace tandem::net;

namespace esink = tandem::compat::esink;

const std::size_t kMaxBody = ServerOptions{}.max_http_body;

// What handlers read from a request: the Engine.IO parameters, the admin API's header, the
// CORS headers, the content type of POST /publish.
void read_like_handlers(const HttpRequest& request) {
  for (const char* name : {"EIO", "transport", "sid", "t", "token", "a b", ""}) {
    (void)request.query_param(name);
  }
  for (const char* name : {"authorization", "origin", "content-type",
                           "access-control-request-headers", "sec-websocket-protocol"}) {
    (void)request.header(name);
  }
}

void answer(const HttpResponse& response, unsigned version, bool keep_alive,
            bool head_request = false) {
  BeastResponse beast_response = to_beast_response(response, version, keep_alive, head_request);
  FUZZ_CHECK(!head_request || beast_response.body().empty(), response.body);
  std::ostringstream out;
  out << beast_response;
  FUZZ_CHECK(!out.str().empty(), response.body);
}

class Handler final : public WebSocketHandler {
 public:
  void on_open(std::shared_ptr<WebSocketConnection>) override {}
  void on_message(std::string_view, bool) override {}
  void on_message_too_big(std::size_t) override {}
  void on_shutdown() override {}
  void on_close(const CloseInfo&) override {}
};

Router make_router() {
  Router router;
  const HttpHandler respond_ok = [](const HttpRequest& request, HttpResponder respond) {
    read_like_handlers(request);
    respond(HttpResponse::text(200, request.path));
  };
  router.add("*", "/ping", respond_ok);
  router.add("GET", "/health", respond_ok);
  router.add("GET", "/metrics", respond_ok);
  router.add_prefix("*", "/admin/api/", respond_ok);
  router.add("*", "/socket.io/", respond_ok);
  // Esink's POST /publish reads its body before anything else (esink_service.cpp).
  router.add("POST", "/publish", [](const HttpRequest& request, HttpResponder respond) {
    auto body =
        esink::parse_publish_body(request.header("content-type").value_or(""), request.body);
    if (!body) return respond(HttpResponse::json_error(400, "SyntaxError", "not JSON"));
    auto validated = esink::validate_publish(*body, esink::PublishBody::api);
    if (auto* failure = std::get_if<esink::ValidationFailure>(&validated)) {
      return respond(HttpResponse::json_error(400, failure->key, failure->error_json().dump()));
    }
    respond(HttpResponse::text(200, "queued"));
  });
  router.add_websocket("/sync", [](const HttpRequest& request) {
    read_like_handlers(request);
    return std::variant<std::shared_ptr<WebSocketHandler>, HttpResponse>(
        std::make_shared<Handler>());
  });
  router.add_websocket("/socket.io/", [](const HttpRequest& request) {
    read_like_handlers(request);
    return std::variant<std::shared_ptr<WebSocketHandler>, HttpResponse>(
        HttpResponse::json_error(400, "bad_request", request.query));
  });
  return router;
}

void handle(const Router& router, BeastRequest request) {
  const bool upgrade = boost::beast::websocket::is_upgrade(request);
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  const bool head = request.method() == http::verb::head;
  const HttpRequest converted = to_request(request.base(), std::move(request.body()), "fuzz:1");
  FUZZ_CHECK(converted.target.starts_with(converted.path), converted.target);
  read_like_handlers(converted);
  auto decision = dispatch_request(router, converted, upgrade, false);
  if (auto* response = std::get_if<HttpResponse>(&decision)) {
    answer(*response, version, keep_alive && !upgrade, head);
  } else if (auto* handler = std::get_if<const HttpHandler*>(&decision)) {
    (**handler)(converted,
                [&](HttpResponse response) { answer(response, version, keep_alive, head); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Router router = make_router();
  std::string_view input = tandem::fuzz::as_text(data, size);
  while (!input.empty()) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    parser.eager(true);
    beast::error_code ec;
    while (!parser.is_done()) {
      // The connection ends where the input does.
      const bool at_end = input.empty();
      const std::size_t used =
          at_end ? 0 : parser.put(asio::buffer(input.data(), input.size()), ec);
      input.remove_prefix(used);
      if (ec == http::error::need_more) ec = {};
      if (ec) break;
      if (at_end || used == 0) {
        parser.put_eof(ec);
        if (!ec && !parser.is_done()) ec = http::error::partial_message;
        break;
      }
    }
    if (ec) {
      if (ec == http::error::end_of_stream) return 0;
      // As HttpSession::reject: what was parsed names the request; the connection closes.
      const HttpRequest partial = to_request(parser.get().base(), {}, "fuzz:1");
      read_like_handlers(partial);
      const bool too_big = ec == http::error::body_limit;
      answer(error_response(
                 too_big ? 413 : 400,
                 too_big ? tandem::ErrorCode::frame_too_large : tandem::ErrorCode::bad_request,
                 too_big ? "Request body too large" : "Malformed HTTP request"),
             parser.get().version() == 10 ? 10 : 11, false);
      return 0;
    }
    const bool keep_alive = parser.get().keep_alive();
    handle(router, parser.release());
    if (!keep_alive) return 0;
  }
  return 0;
}
