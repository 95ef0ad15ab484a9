#include "net/http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <exception>
#include <optional>

#include "common/logging.h"
#include "net/beast_types.h"
#include "net/http_convert.h"
#include "net/http_responder.h"
#include "net/request_dispatch.h"
#include "net/websocket_session.h"

namespace tandem::net {
namespace {

// Bounds the lingering close (plain) and the close_notify exchange (TLS).
constexpr auto kCloseTimeout = std::chrono::seconds(2);
// A refused connection has this long (at most) to send the request that gets the refusal.
constexpr auto kRefusalTimeout = std::chrono::seconds(5);
constexpr std::size_t kDrainChunk = 4096;

using Clock = std::chrono::steady_clock;

struct Peer {
  std::string address;   // the IP address alone: what the per-address cap counts
  std::string endpoint;  // "ip:port", for logs and HttpRequest::remote_address
};

Peer peer_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return {"unknown", "unknown"};
  const auto address = endpoint.address();
  std::string ip = address.to_string();
  const std::string host = address.is_v6() ? "[" + ip + "]" : ip;
  return {std::move(ip), host + ":" + std::to_string(endpoint.port())};
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::partial_message;
}

template <class Stream>
class HttpSession final : public Session,
                          public ResponseSink,
                          public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(ServerContext& context, Stream stream, std::uint64_t id, std::string remote,
              ConnectionTicket ticket)
      : m_context(context),
        m_stream(std::move(stream)),
        m_executor(m_stream.get_executor()),
        m_handler_wait(m_executor),
        m_id(id),
        m_remote(std::move(remote)),
        m_ticket(std::move(ticket)) {}

  ~HttpSession() override {
    // After an upgrade the id belongs to the WebSocket session.
    if (!m_upgraded) m_context.sessions.remove(m_id);
  }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void run() {
    if (!m_context.sessions.add(m_id, this->weak_from_this())) return;
    asio::dispatch(m_executor,
                   beast::bind_front_handler(&HttpSession::start, this->shared_from_this()));
  }

  void shutdown() override {
    asio::post(m_executor,
               beast::bind_front_handler(&HttpSession::on_server_stop, this->shared_from_this()));
  }

  void force_close() override {
    asio::post(m_executor,
               beast::bind_front_handler(&HttpSession::close_now, this->shared_from_this()));
  }

  void deliver(HttpResponse response) override {
    asio::post(m_executor,
               [self = this->shared_from_this(), response = std::move(response)]() mutable {
                 self->on_response(std::move(response));
               });
  }

 private:
  enum class State { handshake, reading, awaiting_handler, writing, closing, closed };

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(m_stream); }

  // How long the peer may take to send what is read next.
  std::chrono::steady_clock::duration read_timeout() const {
    const auto timeout = std::chrono::steady_clock::duration(m_context.options.http_timeout);
    return m_ticket.refusal()
               ? std::min<std::chrono::steady_clock::duration>(timeout, kRefusalTimeout)
               : timeout;
  }

  void start() {
    if constexpr (kIsTls<Stream>) {
      m_state = State::handshake;
      lowest().expires_after(read_timeout());
      m_stream.async_handshake(
          asio::ssl::stream_base::server,
          beast::bind_front_handler(&HttpSession::on_handshake, this->shared_from_this()));
    } else {
      do_read();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail(ec, "tls_handshake");
    do_read();
  }

  void do_read() {
    m_state = State::reading;
    m_parser.emplace();
    m_parser->body_limit(m_context.options.max_http_body);
    lowest().expires_after(read_timeout());
    // The header first: its framing is checked before any body is read by it.
    http::async_read_header(
        m_stream, m_buffer, *m_parser,
        beast::bind_front_handler(&HttpSession::on_header, this->shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return on_read_error(ec);
    if (const auto& refusal = m_ticket.refusal()) {
      return reject(refusal->status, refusal->code, refusal->message);
    }
    if (auto problem = ambiguous_framing(m_parser->get().base())) {
      return reject(400, ErrorCode::bad_request, *problem);
    }
    if (m_parser->is_done()) return handle_request();
    http::async_read(m_stream, m_buffer, *m_parser,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return on_read_error(ec);
    handle_request();
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return do_close();
    if (ec == http::error::body_limit) {
      return reject(
          413, ErrorCode::frame_too_large,
          "Request body exceeds " + std::to_string(m_context.options.max_http_body) + " bytes");
    }
    if (is_parse_error(ec)) return reject(400, ErrorCode::bad_request, "Malformed HTTP request");
    fail(ec, "read");
  }

  // Answers a request that could not be read completely; the rest of it is unusable, so the
  // connection closes after the response.
  void reject(int status, ErrorCode code, std::string_view message) {
    m_request_start = Clock::now();
    // Whatever was parsed (the request line at least, for a refused body) names the request
    // in the log line.
    m_request = to_request(m_parser->get().base(), {}, m_remote);
    m_version = m_parser->get().version() == 10 ? 10 : 11;
    m_keep_alive = false;
    send(error_response(status, code, message));
  }

  void handle_request() {
    m_request_start = Clock::now();
    BeastRequest request = m_parser->release();
    const bool upgrade = beast::websocket::is_upgrade(request);
    m_version = request.version();
    m_keep_alive = request.keep_alive() && !m_context.stopping;
    m_request = to_request(request.base(), std::move(request.body()), m_remote);

    auto decision = dispatch_request(m_context.router, m_request, upgrade, m_context.stopping);
    if (auto* response = std::get_if<HttpResponse>(&decision)) {
      // A client that asked to switch protocols cannot reuse the connection for HTTP.
      if (upgrade) m_keep_alive = false;
      return send(std::move(*response));
    }
    if (auto* handler = std::get_if<const HttpHandler*>(&decision)) {
      return call_handler(**handler);
    }
    upgrade_to_websocket(std::move(request),
                         std::get<std::shared_ptr<WebSocketHandler>>(std::move(decision)));
  }

  void call_handler(const HttpHandler& handler) {
    m_state = State::awaiting_handler;
    // No I/O is pending while the handler works; this wait is what keeps the session alive
    // until the responder delivers (or force_close() gives up on it).
    m_handler_wait.expires_at(asio::steady_timer::time_point::max());
    m_handler_wait.async_wait([self = this->shared_from_this()](beast::error_code) {});

    auto responder = make_responder(this->weak_from_this(), m_request.path);
    try {
      handler(m_request, responder);
    } catch (const std::exception& e) {
      log::error("HTTP handler threw", {{"path", m_request.path}, {"error", e.what()}});
      responder(error_response(500, ErrorCode::internal, "Internal server error"));
    } catch (...) {
      log::error("HTTP handler threw", {{"path", m_request.path}, {"error", "unknown"}});
      responder(error_response(500, ErrorCode::internal, "Internal server error"));
    }
  }

  void on_response(HttpResponse response) {
    // A late responder after the connection closed (or a forced close) is harmless.
    if (m_state != State::awaiting_handler) return;
    m_handler_wait.cancel();
    send(std::move(response));
  }

  void send(HttpResponse response) {
    m_state = State::writing;
    m_status = response.status;
    m_body_bytes = response.body.size();
    if (m_context.stopping) m_keep_alive = false;
    m_response =
        to_beast_response(std::move(response), m_version, m_keep_alive, m_request.method == "HEAD");
    lowest().expires_after(m_context.options.http_timeout);
    http::async_write(m_stream, m_response,
                      beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t /*bytes*/) {
    log_request();
    if (ec) return fail(ec, "write");
    if (!m_keep_alive) return do_close();
    do_read();
  }

  void log_request() const {
    const double duration_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - m_request_start).count();
    // The path, never the target: query strings may carry tokens.
    log::info("http request", {{"method", m_request.method},
                               {"path", m_request.path},
                               {"status", m_status},
                               {"bytes", m_body_bytes},
                               {"duration_ms", duration_ms},
                               {"remote", m_remote}});
  }

  void upgrade_to_websocket(BeastRequest request, std::shared_ptr<WebSocketHandler> handler) {
    m_upgraded = true;
    m_state = State::closed;
    // The WebSocket stream has its own timeouts; the HTTP ones must not fire under it.
    lowest().expires_never();
    launch_websocket_session(m_context, std::move(m_stream), std::move(request), std::move(handler),
                             m_id, m_remote, std::move(m_ticket));
  }

  // Graceful close: a plain socket shuts down its sending side and discards what the peer
  // still sends (e.g. the rest of a refused body) so that the peer reads the response before
  // a reset; TLS sends close_notify.
  void do_close() {
    m_state = State::closing;
    lowest().expires_after(kCloseTimeout);
    if constexpr (kIsTls<Stream>) {
      m_stream.async_shutdown(
          beast::bind_front_handler(&HttpSession::on_closed, this->shared_from_this()));
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      m_buffer.clear();
      drain();
    }
  }

  void drain() {
    lowest().async_read_some(
        m_buffer.prepare(kDrainChunk),
        beast::bind_front_handler(&HttpSession::on_drain, this->shared_from_this()));
  }

  void on_drain(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return close_socket();  // eof: the peer is done; timeout: it had its chance
    drain();
  }

  void on_closed(beast::error_code /*ec*/) { close_socket(); }

  void on_server_stop() {
    m_keep_alive = false;
    const bool idle =
        m_state == State::handshake ||
        (m_state == State::reading && m_buffer.size() == 0 && m_parser && !m_parser->got_some());
    if (idle) close_socket();
  }

  void close_now() {
    if (m_state == State::closed) return;
    m_handler_wait.cancel();
    close_socket();
  }

  void fail(beast::error_code ec, std::string_view what) {
    if (ec != asio::error::operation_aborted) {
      log::debug("http connection error",
                 {{"remote", m_remote}, {"conn", m_id}, {"what", what}, {"error", ec.message()}});
    }
    close_socket();
  }

  void close_socket() {
    m_state = State::closed;
    lowest().close();
  }

  ServerContext& m_context;
  Stream m_stream;
  asio::any_io_executor m_executor;  // the connection's strand
  asio::steady_timer m_handler_wait;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  HttpRequest m_request;
  BeastResponse m_response;
  const std::uint64_t m_id;
  const std::string m_remote;
  ConnectionTicket m_ticket;  // moves to the WebSocket session on upgrade
  State m_state = State::reading;
  unsigned m_version = 11;
  bool m_keep_alive = true;
  bool m_upgraded = false;
  int m_status = 0;
  std::size_t m_body_bytes = 0;
  Clock::time_point m_request_start;
};

template <class Stream, class... Args>
void start_session(ServerContext& context, tcp::socket socket, Args&&... stream_args) {
  Peer peer = peer_of(socket);
  ConnectionTicket ticket = context.connections.admit(peer.address);
  if (ticket.kind() == ConnectionTicket::Kind::dropped) {
    log::debug("connection dropped: too many refusals in progress", {{"remote", peer.endpoint}});
    return;  // the socket closes as it goes out of scope
  }
  const std::uint64_t id = context.next_connection_id();
  std::make_shared<HttpSession<Stream>>(
      context, Stream(std::move(socket), std::forward<Args>(stream_args)...), id,
      std::move(peer.endpoint), std::move(ticket))
      ->run();
}

}  // namespace

void launch_http_session(ServerContext& context, tcp::socket socket) {
  if (context.tls) {
    start_session<TlsStream>(context, std::move(socket), *context.tls);
  } else {
    start_session<PlainStream>(context, std::move(socket));
  }
}

}  // namespace tandem::net
