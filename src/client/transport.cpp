// Boost.Beast WebSocket client. The io_context runs only inside Transport calls, on the
// calling thread (the sync thread); other threads only post to it (wake, cancel).
#include "client/transport.h"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <functional>
#include <type_traits>

#include "common/url.h"

namespace tandem::client {

Result<Endpoint> parse_url(std::string_view url) {
  auto parsed = tandem::parse_url(url, "ws", "wss");
  if (!parsed) return parsed.error();
  return Endpoint{parsed->tls, std::move(parsed->host), parsed->port,
                  parsed->path.empty() ? std::string("/sync") : std::move(parsed->path)};
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = Transport::Clock;
using TlsStream = ssl::stream<beast::tcp_stream>;

Error unavailable(const std::string& message) {
  return Error(ErrorCode::unavailable, message);
}

template <class Next>
class BeastTransport final : public Transport {
 public:
  template <class... Args>
  BeastTransport(Endpoint endpoint, Options options, Args&&... tls)
      : m_endpoint(std::move(endpoint)),
        m_options(std::move(options)),
        m_ws(m_io, std::forward<Args>(tls)...) {}

  ~BeastTransport() override {
    // Completes or aborts every handler before the stream goes.
    beast::error_code ignored;
    lowest().socket().close(ignored);
    m_io.restart();
    m_io.poll();
  }

  Status connect() override {
    const auto deadline = Clock::now() + m_options.timeout;
    tcp::resolver resolver(m_io);
    tcp::resolver::results_type endpoints;
    auto resolved = run(
        [&](auto handler) {
          resolver.async_resolve(m_endpoint.host, std::to_string(m_endpoint.port),
                                 [&endpoints, handler](beast::error_code ec, auto results) {
                                   endpoints = std::move(results);
                                   handler(ec);
                                 });
        },
        deadline);
    if (resolved) return fail(resolved, "resolve");
    if (auto ec = run([&](auto handler) { lowest().async_connect(endpoints, handler); }, deadline))
      return fail(ec, "connect");
    if constexpr (std::is_same_v<Next, TlsStream>) {
      SSL_set_tlsext_host_name(m_ws.next_layer().native_handle(), m_endpoint.host.c_str());
      m_ws.next_layer().set_verify_callback(ssl::host_name_verification(m_endpoint.host));
      auto ec = run(
          [&](auto handler) {
            m_ws.next_layer().async_handshake(ssl::stream_base::client, handler);
          },
          deadline);
      if (ec) return fail(ec, "TLS handshake");
    }
    lowest().expires_never();
    auto timeout = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeout.handshake_timeout = m_options.timeout;
    // Pings on a quiet connection, so a peer that vanished is noticed.
    timeout.idle_timeout = std::chrono::seconds(20);
    timeout.keep_alive_pings = true;
    m_ws.set_option(timeout);
    m_ws.read_message_max(m_options.max_message_bytes);
    websocket::response_type response;
    auto host = fmt::format("{}:{}", m_endpoint.host, m_endpoint.port);
    auto ec =
        run([&](auto handler) { m_ws.async_handshake(response, host, m_endpoint.target, handler); },
            deadline);
    if (ec == websocket::error::upgrade_declined) {
      return unavailable(fmt::format("the server declined the WebSocket upgrade (HTTP {}): {}",
                                     response.result_int(), response.body()));
    }
    if (ec) return fail(ec, "WebSocket handshake");
    m_open = true;
    return ok_status();
  }

  Status send(std::string_view text) override {
    if (!m_open) return unavailable(closed_reason());
    m_ws.text(true);
    auto ec = run([&](auto handler) { m_ws.async_write(asio::buffer(text), handler); },
                  Clock::now() + m_options.timeout);
    if (ec) {
      m_open = false;
      return fail(ec, "write");
    }
    return ok_status();
  }

  Result<std::optional<std::string>> receive(Clock::time_point deadline) override {
    if (m_inbox.empty() && m_open) {
      if (!m_reading) start_read();
      pump([&] { return !m_inbox.empty() || !m_open; }, deadline);
    }
    if (!m_inbox.empty()) {
      std::string message = std::move(m_inbox.front());
      m_inbox.pop_front();
      return std::optional<std::string>(std::move(message));
    }
    if (!m_open) return unavailable(closed_reason());
    return std::optional<std::string>();
  }

  void wake() override {
    m_woken = true;
    asio::post(m_io, [] {});
  }

  void cancel() override {
    m_cancelled = true;
    asio::post(m_io, [] {});
  }

  void close() override {
    if (!m_open || m_cancelled) return;
    m_open = false;
    run([&](auto handler) { m_ws.async_close(websocket::close_code::normal, handler); },
        Clock::now() + std::chrono::seconds(2));
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(m_ws); }

  // Runs handlers until `done()`, `deadline`, wake() or cancel(). True when done.
  bool pump(const std::function<bool()>& done, Clock::time_point deadline) {
    while (!done()) {
      if (m_cancelled) return false;
      if (m_woken.exchange(false)) return false;
      if (m_io.stopped()) m_io.restart();
      if (m_io.run_one_until(deadline) == 0 && Clock::now() >= deadline) return done();
    }
    return true;
  }

  // Starts an operation and runs until it completes; on a timeout or cancel() the socket is
  // closed (the way to abort a Beast operation) and the operation's handler drained.
  template <class Initiate>
  beast::error_code run(Initiate&& initiate, Clock::time_point deadline) {
    auto result = std::make_shared<std::optional<beast::error_code>>();
    initiate([result](beast::error_code ec, auto&&...) { *result = ec; });
    while (!result->has_value()) {
      if (m_cancelled || Clock::now() >= deadline) {
        beast::error_code ignored;
        lowest().socket().close(ignored);
        m_open = false;
        while (!result->has_value()) {
          if (m_io.stopped()) m_io.restart();
          m_io.run_one();
        }
        return m_cancelled ? asio::error::operation_aborted : asio::error::timed_out;
      }
      if (m_io.stopped()) m_io.restart();
      m_io.run_one_until(deadline);
    }
    return **result;
  }

  void start_read() {
    m_reading = true;
    m_ws.async_read(m_buffer, [this](beast::error_code ec, std::size_t) {
      m_reading = false;
      if (ec) {
        if (m_open) {
          m_open = false;
          m_close_reason = ec == websocket::error::closed
                               ? fmt::format("the server closed the connection ({} {})",
                                             m_ws.reason().code, m_ws.reason().reason.c_str())
                               : fmt::format("connection lost: {}", ec.message());
        }
        return;
      }
      m_inbox.push_back(beast::buffers_to_string(m_buffer.data()));
      m_buffer.consume(m_buffer.size());
      start_read();
    });
  }

  std::string closed_reason() const {
    return m_close_reason.empty() ? "not connected" : m_close_reason;
  }

  Error fail(const beast::error_code& ec, std::string_view what) {
    m_open = false;
    if (m_cancelled) return unavailable("sync stopped");
    return unavailable(fmt::format("{} {}:{} failed: {}", what, m_endpoint.host, m_endpoint.port,
                                   ec == asio::error::timed_out ? "timed out" : ec.message()));
  }

  Endpoint m_endpoint;
  Options m_options;
  asio::io_context m_io;
  websocket::stream<Next> m_ws;
  beast::flat_buffer m_buffer;
  std::deque<std::string> m_inbox;
  bool m_open = false;
  bool m_reading = false;
  std::string m_close_reason;
  std::atomic<bool> m_woken{false};
  std::atomic<bool> m_cancelled{false};
};

}  // namespace

std::unique_ptr<Transport> Transport::create(Endpoint endpoint, Options options) {
  if (!endpoint.tls)
    return std::make_unique<BeastTransport<beast::tcp_stream>>(std::move(endpoint),
                                                               std::move(options));
  // The TLS context must outlive the stream: the transport owns it.
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_default_verify_paths();
  if (!options.ca_file.empty()) context->load_verify_file(options.ca_file);
  context->set_verify_mode(ssl::verify_peer);
  class TlsTransport final : public Transport {
   public:
    TlsTransport(std::shared_ptr<ssl::context> context, Endpoint endpoint, Options options)
        : m_context(std::move(context)),
          m_inner(std::move(endpoint), std::move(options), *m_context) {}
    Status connect() override { return m_inner.connect(); }
    Status send(std::string_view text) override { return m_inner.send(text); }
    Result<std::optional<std::string>> receive(Clock::time_point deadline) override {
      return m_inner.receive(deadline);
    }
    void wake() override { m_inner.wake(); }
    void cancel() override { m_inner.cancel(); }
    void close() override { m_inner.close(); }

   private:
    std::shared_ptr<ssl::context> m_context;
    BeastTransport<TlsStream> m_inner;
  };
  return std::make_unique<TlsTransport>(std::move(context), std::move(endpoint),
                                        std::move(options));
}

}  // namespace tandem::client
