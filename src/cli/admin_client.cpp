#include "cli/admin_client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <type_traits>

#include "common/error.h"
#include "common/url.h"

namespace tandem::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = ssl::stream<beast::tcp_stream>;

constexpr std::size_t kMaxBody = 64 << 20;

struct AdminUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string base;  // path prefix without a trailing '/', e.g. "" or "/tandem"
};

AdminUrl parse_admin_url(std::string_view text) {
  auto parsed = parse_url(text, "http", "https");
  if (!parsed) throw Error(ErrorCode::config_invalid, std::string(parsed.error().message()));
  AdminUrl url{parsed->tls, std::move(parsed->host), std::to_string(parsed->port),
               std::move(parsed->path)};
  while (url.base.ends_with('/'))
    url.base.pop_back();
  return url;
}

}  // namespace

struct AdminClient::Impl {
  AdminUrl url;
  std::string token;
  std::chrono::milliseconds timeout;

  [[noreturn]] void fail(const beast::error_code& ec, std::string_view what) const {
    throw Error(ErrorCode::unavailable,
                fmt::format("{} {}:{} failed: {}", what, url.host, url.port, ec.message()));
  }

  // Runs one asynchronous operation; the tcp_stream's deadline bounds it.
  template <class Initiate>
  beast::error_code step(asio::io_context& io, beast::tcp_stream& stream,
                         std::chrono::steady_clock::time_point deadline, Initiate&& initiate) {
    stream.expires_at(deadline);
    beast::error_code result;
    initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }

  template <class Stream>
  AdminReply exchange(asio::io_context& io, Stream& stream,
                      const http::request<http::string_body>& request) {
    auto& tcp_stream = beast::get_lowest_layer(stream);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) fail(ec, "resolving");
    if (auto error = step(io, tcp_stream, deadline,
                          [&](auto handler) { tcp_stream.async_connect(endpoints, handler); })) {
      fail(error, "connecting to");
    }
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
      stream.set_verify_callback(ssl::host_name_verification(url.host));
      if (auto error = step(io, tcp_stream, deadline, [&](auto handler) {
            stream.async_handshake(ssl::stream_base::client, handler);
          })) {
        fail(error, "TLS handshake with");
      }
    }
    auto write_error = step(io, tcp_stream, deadline,
                            [&](auto handler) { http::async_write(stream, request, handler); });
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    auto read_error = step(io, tcp_stream, deadline, [&](auto handler) {
      http::async_read(stream, buffer, parser, handler);
    });
    // A server may answer (e.g. 413) before reading the whole request: prefer its answer.
    if (read_error) fail(write_error ? write_error : read_error, "talking to");
    beast::error_code ignored;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return AdminReply{static_cast<int>(parser.get().result_int()), parser.get().body()};
  }
};

AdminClient::AdminClient(std::string_view url, std::string token, std::chrono::milliseconds timeout)
    : m_impl(std::make_unique<Impl>(Impl{parse_admin_url(url), std::move(token), timeout})) {}

AdminClient::~AdminClient() = default;

AdminReply AdminClient::request(std::string_view method, std::string_view path,
                                std::string_view body) {
  auto& impl = *m_impl;
  http::request<http::string_body> request;
  request.method_string(method);
  request.target(fmt::format("{}/admin/api/{}", impl.url.base, path));
  request.version(11);
  request.set(http::field::host, impl.url.host);
  request.set(http::field::user_agent, "tandem-cli");
  request.set(http::field::authorization, "Bearer " + impl.token);
  request.set(http::field::accept, "application/json");
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = std::string(body);
  request.prepare_payload();

  asio::io_context io;
  if (impl.url.tls) {
    ssl::context context(ssl::context::tls_client);
    context.set_default_verify_paths();
    context.set_verify_mode(ssl::verify_peer);
    TlsStream stream(io, context);
    return impl.exchange(io, stream, request);
  }
  beast::tcp_stream stream(io);
  return impl.exchange(io, stream, request);
}

}  // namespace tandem::cli
