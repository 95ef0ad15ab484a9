#include "support/ws_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cctype>
#include <deque>
#include <functional>
#include <stdexcept>
#include <type_traits>

namespace tandem::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = ssl::stream<beast::tcp_stream>;

constexpr std::size_t kMaxMessage = 256 << 20;  // tests decide what is too big, not the client

// Runs handlers until `done()` or `deadline`; the io_context only ever runs inside client
// calls, which is what makes the client synchronous. True when done.
bool pump(asio::io_context& io_context, const std::function<bool()>& done,
          Clock::time_point deadline) {
  while (!done()) {
    if (io_context.stopped()) io_context.restart();
    if (io_context.run_one_until(deadline) == 0) return done();
  }
  return true;
}

std::string lower_case(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

class Connection {
 public:
  virtual ~Connection() = default;
  virtual WsHandshake connect(const std::string& host, std::uint16_t port, const std::string& path,
                              const std::map<std::string, std::string>& headers) = 0;
  virtual void send_text(const std::string& message) = 0;
  virtual std::optional<std::string> receive(Clock::time_point deadline) = 0;
  virtual std::optional<CloseInfo> wait_for_close(Clock::time_point deadline) = 0;
  virtual void close(std::uint16_t code, const std::string& reason) = 0;
  virtual std::optional<CloseInfo> close_info() const = 0;
  virtual void ping(const std::string& payload) = 0;
  virtual ControlFrameCounts control_frames() const = 0;
};

template <class Next>
class BeastConnection final : public Connection {
 public:
  template <class... Args>
  explicit BeastConnection(std::chrono::milliseconds timeout, Args&&... tls_context)
      : m_timeout(timeout), m_ws(m_io_context, std::forward<Args>(tls_context)...) {}

  WsHandshake connect(const std::string& host, std::uint16_t port, const std::string& path,
                      const std::map<std::string, std::string>& headers) override {
    const auto deadline = Clock::now() + m_timeout;
    tcp::resolver resolver(m_io_context);
    const auto endpoints = resolver.resolve(host, std::to_string(port));
    check(run([&](auto handler) { lowest().async_connect(endpoints, handler); }, deadline),
          "connect");
    if constexpr (std::is_same_v<Next, TlsStream>) {
      SSL_set_tlsext_host_name(m_ws.next_layer().native_handle(), host.c_str());
      check(run(
                [&](auto handler) {
                  m_ws.next_layer().async_handshake(ssl::stream_base::client, handler);
                },
                deadline),
            "TLS handshake");
    }
    configure(headers);
    websocket::response_type response;
    const auto ec = run(
        [&](auto handler) {
          m_ws.async_handshake(response, host + ":" + std::to_string(port), path, handler);
        },
        deadline);
    if (ec && ec != websocket::error::upgrade_declined) check(ec, "WebSocket handshake");
    WsHandshake handshake{static_cast<int>(response.result_int()), response.body(), {}};
    for (const auto& field : response) {
      handshake.headers[lower_case(field.name_string())] = std::string(field.value());
    }
    m_open = !ec;
    return handshake;
  }

  void send_text(const std::string& message) override {
    require_open();
    m_ws.text(true);
    check(run([&](auto handler) { m_ws.async_write(asio::buffer(message), handler); },
              Clock::now() + m_timeout),
          "write");
  }

  std::optional<std::string> receive(Clock::time_point deadline) override {
    if (m_inbox.empty() && m_open && !m_closed) {
      if (!m_reading) start_read();
      pump(
          m_io_context, [&] { return !m_inbox.empty() || m_closed.has_value(); }, deadline);
    }
    if (m_inbox.empty()) return std::nullopt;
    std::string message = std::move(m_inbox.front());
    m_inbox.pop_front();
    return message;
  }

  std::optional<CloseInfo> wait_for_close(Clock::time_point deadline) override {
    while (m_open && !m_closed && Clock::now() < deadline) {
      m_inbox.clear();
      if (!m_reading) start_read();
      pump(
          m_io_context, [&] { return !m_inbox.empty() || m_closed.has_value(); }, deadline);
    }
    return m_closed;
  }

  void close(std::uint16_t code, const std::string& reason) override {
    if (!m_open || m_closed) return;
    const websocket::close_reason frame(static_cast<websocket::close_code>(code), reason);
    const auto ec =
        run([&](auto handler) { m_ws.async_close(frame, handler); }, Clock::now() + m_timeout);
    if (!ec) {
      m_closed = reason_of(m_ws.reason());
    } else if (!m_closed) {
      m_closed = CloseInfo{};
    }
  }

  std::optional<CloseInfo> close_info() const override { return m_closed; }

  void ping(const std::string& payload) override {
    require_open();
    const websocket::ping_data data(payload);
    check(run([&](auto handler) { m_ws.async_ping(data, handler); }, Clock::now() + m_timeout),
          "ping");
  }

  ControlFrameCounts control_frames() const override { return m_control_frames; }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(m_ws); }

  void configure(const std::map<std::string, std::string>& headers) {
    // From here on the WebSocket stream's own timeouts apply, not the TCP stream's.
    lowest().expires_never();
    auto timeout = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeout.handshake_timeout = m_timeout;
    m_ws.set_option(timeout);
    m_ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& request) {
      for (const auto& [name, value] : headers)
        request.set(name, value);
    }));
    m_ws.read_message_max(kMaxMessage);
    m_ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::ping) ++m_control_frames.pings;
      if (kind == websocket::frame_type::pong) ++m_control_frames.pongs;
    });
  }

  // Starts an operation and runs the io_context until it completes or `deadline` passes; on
  // timeout the socket is closed (the only way to cancel a Beast operation) and the result is
  // timed_out.
  template <class Initiate>
  beast::error_code run(Initiate&& initiate, Clock::time_point deadline) {
    // Shared with the handler: it may complete after this frame on a timeout.
    auto result = std::make_shared<std::optional<beast::error_code>>();
    initiate([result](beast::error_code ec, auto&&...) { *result = ec; });
    if (pump(
            m_io_context, [&] { return result->has_value(); }, deadline))
      return **result;
    lowest().close();
    pump(
        m_io_context, [&] { return result->has_value(); }, Clock::now() + m_timeout);
    m_open = false;
    return asio::error::timed_out;
  }

  void start_read() {
    m_reading = true;
    m_ws.async_read(m_buffer, [this](beast::error_code ec, std::size_t) {
      m_reading = false;
      if (ec) {
        if (!m_closed) {
          m_closed = ec == websocket::error::closed ? reason_of(m_ws.reason()) : CloseInfo{};
        }
        return;
      }
      m_inbox.push_back(beast::buffers_to_string(m_buffer.data()));
      m_buffer.consume(m_buffer.size());
    });
  }

  static CloseInfo reason_of(const websocket::close_reason& reason) {
    return {reason.code, std::string(reason.reason.data(), reason.reason.size())};
  }

  static void check(const beast::error_code& ec, const std::string& what) {
    if (ec) throw std::runtime_error("WsClient " + what + ": " + ec.message());
  }

  void require_open() const {
    if (!m_open || m_closed) throw std::runtime_error("WsClient: not connected");
  }

  // One per connection, declared before the stream: handlers still queued for an old
  // connection (they hold `this`) are destroyed with it and never run.
  asio::io_context m_io_context;
  std::chrono::milliseconds m_timeout;
  websocket::stream<Next> m_ws;
  beast::flat_buffer m_buffer;
  std::deque<std::string> m_inbox;
  std::optional<CloseInfo> m_closed;
  ControlFrameCounts m_control_frames;
  bool m_open = false;
  bool m_reading = false;
};

}  // namespace

class WsClient::Impl {
 public:
  explicit Impl(std::chrono::milliseconds timeout) : m_timeout(timeout) {
    m_tls.set_verify_mode(ssl::verify_none);  // tests use self-signed certificates
  }

  Connection& connection() const {
    if (!m_connection) throw std::runtime_error("WsClient: connect() first");
    return *m_connection;
  }

  Connection& reset(bool tls) {
    m_connection.reset();
    if (tls) {
      m_connection = std::make_unique<BeastConnection<TlsStream>>(m_timeout, m_tls);
    } else {
      m_connection = std::make_unique<BeastConnection<beast::tcp_stream>>(m_timeout);
    }
    return *m_connection;
  }

 private:
  ssl::context m_tls{ssl::context::tls_client};  // outlives the connection using it
  std::chrono::milliseconds m_timeout;
  std::unique_ptr<Connection> m_connection;
};

WsClient::WsClient(std::chrono::milliseconds io_timeout)
    : m_impl(std::make_unique<Impl>(io_timeout)) {}

WsClient::~WsClient() = default;

WsHandshake WsClient::connect(const std::string& host, std::uint16_t port, const std::string& path,
                              const std::map<std::string, std::string>& headers,
                              bool tls_no_verify) {
  return m_impl->reset(tls_no_verify).connect(host, port, path, headers);
}

void WsClient::send_text(const std::string& message) {
  m_impl->connection().send_text(message);
}

std::optional<std::string> WsClient::receive(std::chrono::milliseconds timeout) {
  return m_impl->connection().receive(Clock::now() + timeout);
}

std::optional<CloseInfo> WsClient::wait_for_close(std::chrono::milliseconds timeout) {
  return m_impl->connection().wait_for_close(Clock::now() + timeout);
}

void WsClient::close(std::uint16_t code, const std::string& reason) {
  m_impl->connection().close(code, reason);
}

std::optional<CloseInfo> WsClient::close_info() const {
  return m_impl->connection().close_info();
}

void WsClient::ping(const std::string& payload) {
  m_impl->connection().ping(payload);
}

ControlFrameCounts WsClient::control_frames() const {
  return m_impl->connection().control_frames();
}

}  // namespace tandem::testing
