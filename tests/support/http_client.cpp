#include "support/http_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <stdexcept>
#include <type_traits>

namespace tandem::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = ssl::stream<beast::tcp_stream>;

constexpr std::size_t kMaxBody = 256 << 20;

std::string lower_case(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

// Runs one asynchronous operation to completion. Every operation goes through the
// tcp_stream, whose deadline cancels it: run() cannot block past the deadline.
template <class Initiate>
beast::error_code run(asio::io_context& io_context, beast::tcp_stream& tcp_stream,
                      std::chrono::steady_clock::time_point deadline, Initiate&& initiate) {
  tcp_stream.expires_at(deadline);
  beast::error_code result;
  initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
  io_context.restart();
  io_context.run();
  return result;
}

void check(const beast::error_code& ec, const std::string& what) {
  if (ec) throw std::runtime_error("http_request " + what + ": " + ec.message());
}

http::request<http::string_body> make_request(const std::string& host, std::uint16_t port,
                                              const std::string& method, const std::string& target,
                                              const std::string& body,
                                              const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> request;
  const auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    request.method_string(method);
  } else {
    request.method(verb);
  }
  request.target(target);
  request.version(11);
  request.set(http::field::host, host + ":" + std::to_string(port));
  request.set(http::field::user_agent, "tandem-test");
  for (const auto& [name, value] : headers)
    request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  return request;
}

template <class Stream>
HttpReply exchange(asio::io_context& io_context, Stream& stream, const std::string& host,
                   std::uint16_t port, const http::request<http::string_body>& request,
                   std::chrono::milliseconds timeout) {
  auto& tcp_stream = beast::get_lowest_layer(stream);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto run_step = [&](auto&& initiate) {
    return run(io_context, tcp_stream, deadline, initiate);
  };
  tcp::resolver resolver(io_context);
  const auto endpoints = resolver.resolve(host, std::to_string(port));
  check(run_step([&](auto handler) { tcp_stream.async_connect(endpoints, handler); }), "connect");
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
    check(
        run_step([&](auto handler) { stream.async_handshake(ssl::stream_base::client, handler); }),
        "TLS handshake");
  }
  // A server may answer (e.g. 413) and close before the whole body is sent: read the answer
  // even when the write fails, and report the write error only if there is none.
  const auto write_error =
      run_step([&](auto handler) { http::async_write(stream, request, handler); });
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  const auto read_error =
      run_step([&](auto handler) { http::async_read(stream, buffer, parser, handler); });
  if (read_error) check(write_error, "write");
  check(read_error, "read");

  const auto& response = parser.get();
  HttpReply reply{static_cast<int>(response.result_int()), response.body(), {}};
  for (const auto& field : response) {
    reply.headers[lower_case(field.name_string())] = std::string(field.value());
  }
  beast::error_code ignored;
  tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return reply;
}

}  // namespace

HttpReply http_request(const std::string& host, std::uint16_t port, const std::string& method,
                       const std::string& target, const std::string& body,
                       const std::map<std::string, std::string>& headers,
                       const HttpClientOptions& options) {
  asio::io_context io_context;
  const auto request = make_request(host, port, method, target, body, headers);
  if (options.tls_no_verify) {
    ssl::context tls(ssl::context::tls_client);
    tls.set_verify_mode(ssl::verify_none);  // tests use self-signed certificates
    TlsStream stream(io_context, tls);
    return exchange(io_context, stream, host, port, request, options.timeout);
  }
  beast::tcp_stream stream(io_context);
  return exchange(io_context, stream, host, port, request, options.timeout);
}

}  // namespace tandem::testing
