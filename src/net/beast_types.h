// Beast/Asio aliases shared by src/net/*.cpp. Never include this from http_server.h: the
// point of the pimpl is that users of the server do not compile Beast.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <type_traits>

namespace tandem::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// The two transports; sessions are templates over them so that HTTP and HTTPS (WS and WSS)
// share every line of protocol code.
using PlainStream = beast::tcp_stream;
using TlsStream = asio::ssl::stream<beast::tcp_stream>;

template <class Stream>
inline constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

inline constexpr std::string_view kServerName = "tandem";

}  // namespace tandem::net
