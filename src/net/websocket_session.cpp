#include "net/websocket_session.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <optional>
#include <vector>

#include "common/logging.h"
#include "net/exclusive_write_stream.h"
#include "net/websocket_frame.h"

namespace tandem::net {
namespace websocket = beast::websocket;

namespace {

using Clock = std::chrono::steady_clock;

// Bounds the opening and closing handshakes, and how long a requested close may wait behind
// a write that the peer does not read.
constexpr auto kCloseTimeout = std::chrono::seconds(5);
// After the grace period only a short wait is left before the socket is cut.
constexpr auto kForcedCloseTimeout = std::chrono::seconds(1);
constexpr std::size_t kReadChunk = 64 << 10;
constexpr std::size_t kMaxReasonBytes = 123;  // RFC 6455 5.5: control payload <= 125 bytes
// One write carries the frames of up to this many queued messages, or about this many bytes:
// enough to turn a burst into a few sendmsg calls, small enough to keep pongs prompt.
constexpr std::size_t kMaxMessagesPerWrite = 512;
constexpr std::size_t kMaxBytesPerWrite = 256 << 10;
// Smaller payloads are copied next to their headers, so that a burst of small messages is one
// contiguous buffer (one iovec, and one record under TLS); larger ones are written in place.
constexpr std::size_t kCopyBelowBytes = 4 << 10;

std::string target_path(const BeastRequest& request) {
  const std::string_view target = request.target();
  return std::string(target.substr(0, target.find('?')));
}

template <class Stream>
class WebSocketSession final : public Session,
                               public WebSocketConnection,
                               public std::enable_shared_from_this<WebSocketSession<Stream>> {
 public:
  WebSocketSession(ServerContext& context, Stream stream, BeastRequest request,
                   std::shared_ptr<WebSocketHandler> handler, std::uint64_t id, std::string remote,
                   ConnectionTicket ticket)
      : m_context(context),
        m_ws(std::move(stream)),
        m_executor(m_ws.get_executor()),
        m_close_deadline(m_executor),
        m_handler_deadline(m_executor),
        m_request(std::move(request)),
        m_handler(std::move(handler)),
        m_id(id),
        m_remote(std::move(remote)),
        m_path(target_path(m_request)),
        m_started(Clock::now()),
        m_ticket(std::move(ticket)) {}

  ~WebSocketSession() override {
    if (!m_finished) unregister();
  }
  WebSocketSession(const WebSocketSession&) = delete;
  WebSocketSession& operator=(const WebSocketSession&) = delete;

  void run() {
    m_context.sessions.replace(m_id, this->weak_from_this());
    ++m_context.open_websockets;
    asio::dispatch(m_executor,
                   beast::bind_front_handler(&WebSocketSession::start, this->shared_from_this()));
  }

  // --- WebSocketConnection: any thread -------------------------------------------------

  using WebSocketConnection::send_text;
  void send_text(std::shared_ptr<const std::string> message) override {
    if (!message) return;
    // Counted before the post so that backpressure sees messages still on their way to the
    // strand.
    m_queued_bytes += message->size();
    asio::post(m_executor, [self = this->shared_from_this(), message = std::move(message)] {
      self->enqueue(message);
    });
  }

  std::size_t queued_bytes() const override { return m_queued_bytes.load(); }

  void close(std::uint16_t code, std::string reason) override {
    asio::post(m_executor, [self = this->shared_from_this(), code, reason = std::move(reason)] {
      self->request_close(code, reason);
    });
  }

  std::uint64_t id() const override { return m_id; }
  const std::string& remote_address() const override { return m_remote; }

  void set_log_identity(std::string identity) override {
    asio::post(m_executor, [self = this->shared_from_this(), identity = std::move(identity)] {
      self->m_identity = identity;
    });
  }

  void set_deadline(Clock::time_point when) override {
    asio::post(m_executor, [self = this->shared_from_this(), when] { self->arm_deadline(when); });
  }

  void cancel_deadline() override {
    asio::post(m_executor, [self = this->shared_from_this()] {
      ++self->m_deadline_generation;
      self->m_handler_deadline.cancel();
    });
  }

  // --- Session: any thread ---------------------------------------------------------------

  void shutdown() override {
    asio::post(m_executor, beast::bind_front_handler(&WebSocketSession::on_server_stop,
                                                     this->shared_from_this()));
  }

  void force_close() override {
    asio::post(m_executor,
               beast::bind_front_handler(&WebSocketSession::close_now, this->shared_from_this()));
  }

 private:
  const ServerOptions& options() const { return m_context.options; }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(m_ws); }

  // --- Opening -----------------------------------------------------------------------------

  void start() {
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = kCloseTimeout;
    timeout.idle_timeout = options().idle_timeout.count() > 0
                               ? Clock::duration(options().idle_timeout)
                               : websocket::stream_base::none();
    timeout.keep_alive_pings = true;  // Beast pings at half the idle timeout
    m_ws.set_option(timeout);
    m_ws.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(http::field::server, kServerName);
    }));
    // Beast's own limit would send its 1009 close frame before the handler's error message;
    // the session enforces max_websocket_message itself (see on_read), reading in chunks so
    // that an oversized message never sits in memory.
    m_ws.read_message_max(0);
    m_ws.auto_fragment(false);
    m_ws.text(true);
    m_ws.async_accept(m_request, beast::bind_front_handler(&WebSocketSession::on_accept,
                                                           this->shared_from_this()));
  }

  void on_accept(beast::error_code ec) {
    m_request = {};
    if (ec) {
      log::debug("websocket handshake failed",
                 {{"remote", m_remote}, {"path", m_path}, {"conn", m_id}, {"error", ec.message()}});
      fail(ec);
      return maybe_finish();
    }
    m_opened = true;
    log::info("websocket open", {{"remote", m_remote}, {"path", m_path}, {"conn", m_id}});
    call_handler("on_open", [&] { m_handler->on_open(this->shared_from_this()); });
    if (m_shutdown_pending) call_handler("on_shutdown", [&] { m_handler->on_shutdown(); });
    do_read();
  }

  // --- Reading -----------------------------------------------------------------------------

  void do_read() {
    m_reading = true;
    // At most one byte past the limit: enough to know that a message is too big.
    const std::size_t limit = options().max_websocket_message;
    const std::size_t room = limit == 0 ? kReadChunk : limit - m_buffer.size() + 1;
    m_ws.async_read_some(
        m_buffer, std::min(room, kReadChunk),
        beast::bind_front_handler(&WebSocketSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    m_reading = false;
    if (ec) {
      if (ec == websocket::error::closed) {
        m_peer_closed = true;
      } else {
        fail(ec);
      }
      return maybe_finish();
    }
    const std::size_t limit = options().max_websocket_message;
    if (limit != 0 && m_buffer.size() > limit) return message_too_big();
    if (m_ws.is_message_done()) deliver_message();
    do_read();
  }

  void deliver_message() {
    // After a close request the peer's messages are not wanted any more; reading goes on only
    // to complete the closing handshake.
    if (!m_close_request) {
      ++m_messages_in;
      const auto data = m_buffer.cdata();
      const std::string_view payload(static_cast<const char*>(data.data()), data.size());
      const bool binary = m_ws.got_binary();
      call_handler("on_message", [&] { m_handler->on_message(payload, binary); });
    }
    m_buffer.clear();
  }

  // Reading stops here: the rest of the message is discarded by the closing handshake.
  void message_too_big() {
    const std::size_t limit = options().max_websocket_message;
    log::warn("websocket message too big",
              {{"remote", m_remote}, {"conn", m_id}, {"identity", m_identity}, {"limit", limit}});
    m_buffer.clear();
    call_handler("on_message_too_big", [&] { m_handler->on_message_too_big(limit); });
    // Posted, not called: whatever the handler just sent is queued by posts that must run
    // first, so its error message precedes the close frame.
    post_close(1009, "message too big");
  }

  // --- Writing -----------------------------------------------------------------------------

  void enqueue(const std::shared_ptr<const std::string>& message) {
    if (m_finished || m_close_request) {
      m_queued_bytes -= message->size();  // too late: the connection is closing
      return;
    }
    m_queue.push_back(message);
    const std::size_t queued = m_queued_bytes.load();
    if (queued > options().max_queued_bytes) return slow_consumer(queued);
    if (queued > options().drain_low_water) m_above_low_water = true;
    if (!m_writing) do_write();
  }

  void do_write() {
    if (m_queue.empty()) {
      if (m_close_request && !m_close_sent) do_close();
      return;
    }
    m_writing = true;
    gather_frames();
    m_ws.next_layer().async_write_some(
        m_write_buffers,
        beast::bind_front_handler(&WebSocketSession::on_write, this->shared_from_this()));
  }

  // Frames the first queued messages into m_write_buffers; they stay queued (and alive)
  // until the write completes.
  void gather_frames() {
    m_write_buffers.clear();
    m_write_copy.clear();
    // Positions in m_write_copy (pointer == nullptr) or payloads written in place; buffers are
    // made once the copy stops growing.
    struct Piece {
      const char* data;
      std::size_t offset;
      std::size_t size;
    };
    std::vector<Piece> pieces;
    std::size_t bytes = 0;
    m_in_flight = 0;
    auto extend_copy = [&](const void* data, std::size_t size) {
      if (pieces.empty() || pieces.back().data != nullptr) {
        pieces.push_back({nullptr, m_write_copy.size(), 0});
      }
      m_write_copy.append(static_cast<const char*>(data), size);
      pieces.back().size += size;
    };
    for (const auto& message : m_queue) {
      if (m_in_flight == kMaxMessagesPerWrite || (m_in_flight > 0 && bytes >= kMaxBytesPerWrite)) {
        break;
      }
      const auto header = text_frame_header(message->size());
      extend_copy(header.bytes.data(), header.size);
      if (message->size() < kCopyBelowBytes) {
        extend_copy(message->data(), message->size());
      } else {
        pieces.push_back({message->data(), 0, message->size()});
      }
      bytes += header.size + message->size();
      ++m_in_flight;
    }
    for (const auto& piece : pieces) {
      m_write_buffers.emplace_back(piece.data ? piece.data : m_write_copy.data() + piece.offset,
                                   piece.size);
    }
  }

  void on_write(beast::error_code ec, std::size_t /*bytes*/) {
    m_writing = false;
    if (ec) {
      m_in_flight = 0;
      fail(ec);
      return maybe_finish();
    }
    for (; m_in_flight > 0; --m_in_flight) {
      m_queued_bytes -= m_queue.front()->size();
      m_queue.pop_front();
      ++m_messages_out;
    }
    if (m_above_low_water && m_queued_bytes.load() <= options().drain_low_water) {
      m_above_low_water = false;
      call_handler("on_drain", [&] { m_handler->on_drain(); });
    }
    do_write();
  }

  void slow_consumer(std::size_t queued) {
    log::warn("websocket peer too slow", {{"remote", m_remote},
                                          {"conn", m_id},
                                          {"identity", m_identity},
                                          {"queued_bytes", queued},
                                          {"limit", options().max_queued_bytes}});
    drop_queue(true);
    request_close(1008, "slow consumer");
  }

  // The messages being written must stay alive until their write completes.
  void drop_queue(bool keep_in_flight) {
    const std::size_t keep = keep_in_flight ? m_in_flight : 0;
    while (m_queue.size() > keep) {
      m_queued_bytes -= m_queue.back()->size();
      m_queue.pop_back();
    }
  }

  // --- Closing -----------------------------------------------------------------------------

  void post_close(std::uint16_t code, std::string reason) {
    asio::post(m_executor, [self = this->shared_from_this(), code, reason = std::move(reason)] {
      self->request_close(code, reason);
    });
  }

  // The close frame follows the messages already queued. Idempotent: the first request wins.
  void request_close(std::uint16_t code, std::string_view reason) {
    if (m_finished || m_close_request) return;
    if (!m_opened) return fail({});
    m_close_request.emplace(static_cast<websocket::close_code>(code),
                            reason.substr(0, kMaxReasonBytes));
    arm_close_deadline(kCloseTimeout);
    if (!m_writing) do_write();
  }

  void do_close() {
    m_writing = true;
    m_close_sent = true;
    m_ws.async_close(*m_close_request, beast::bind_front_handler(&WebSocketSession::on_closed,
                                                                 this->shared_from_this()));
  }

  void on_closed(beast::error_code ec) {
    m_writing = false;
    if (ec) fail(ec);
    maybe_finish();
  }

  // A peer that reads nothing blocks the write in flight, and with it the close frame: cut
  // the socket when the deadline passes.
  void arm_close_deadline(Clock::duration timeout) {
    m_close_deadline.expires_after(timeout);
    m_close_deadline.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->m_finished) return;
      log::debug("websocket close timed out", {{"remote", self->m_remote}, {"conn", self->m_id}});
      self->fail({});
    });
  }

  // --- The handler's deadline --------------------------------------------------------------

  void arm_deadline(Clock::time_point when) {
    if (m_finished) return;
    // A wait that completed but whose handler has not run yet is not cancelled by a new
    // expiry time: the generation tells it that it is stale.
    const std::uint64_t generation = ++m_deadline_generation;
    m_handler_deadline.expires_at(when);
    m_handler_deadline.async_wait(
        [self = this->shared_from_this(), generation](beast::error_code ec) {
          if (ec || generation != self->m_deadline_generation || self->m_finished) return;
          self->call_handler("on_deadline", [&] { self->m_handler->on_deadline(); });
        });
  }

  void on_server_stop() {
    if (m_finished) return;
    if (!m_opened) {
      m_shutdown_pending = true;  // delivered right after on_open
      return;
    }
    call_handler("on_shutdown", [&] { m_handler->on_shutdown(); });
  }

  void close_now() {
    if (m_finished) return;
    if (!m_opened) return fail({});
    drop_queue(true);
    request_close(1001, "server shutting down");
    arm_close_deadline(kForcedCloseTimeout);
  }

  // Closes the socket: every pending operation completes, and the session finishes.
  void fail(beast::error_code ec) {
    if (ec && ec != asio::error::operation_aborted) {
      log::debug("websocket connection error",
                 {{"remote", m_remote}, {"conn", m_id}, {"error", ec.message()}});
    }
    lowest().close();
  }

  void maybe_finish() {
    if (m_finished || m_reading || m_writing) return;
    finish();
  }

  // The single end of every session: runs once, after the last pending operation.
  void finish() {
    m_finished = true;
    m_close_deadline.cancel();
    m_handler_deadline.cancel();
    drop_queue(false);
    const CloseInfo info = close_info();
    if (m_opened) {
      log_end(info);
      try {
        m_handler->on_close(info);
      } catch (const std::exception& e) {
        log::error("websocket handler threw",
                   {{"callback", "on_close"}, {"conn", m_id}, {"error", e.what()}});
      } catch (...) {
        log::error("websocket handler threw",
                   {{"callback", "on_close"}, {"conn", m_id}, {"error", "unknown"}});
      }
    }
    // The handler usually holds this connection: dropping it here breaks the cycle.
    m_handler.reset();
    unregister();
  }

  void unregister() {
    --m_context.open_websockets;
    m_ticket = {};  // the socket is closed: it no longer counts
    m_context.sessions.remove(m_id);
  }

  // The code of a close we requested (what the session meant, even if the socket had to be
  // cut), else the peer's, else 1006 (no close frame).
  CloseInfo close_info() const {
    if (m_close_request) {
      const auto& reason = m_close_request->reason;
      return {m_close_request->code, std::string(reason.data(), reason.size())};
    }
    if (m_peer_closed) {
      const auto& reason = m_ws.reason();
      const std::uint16_t code = reason.code == websocket::close_code::none ? 1005 : reason.code;
      return {code, std::string(reason.reason.data(), reason.reason.size())};
    }
    return {};
  }

  void log_end(const CloseInfo& info) const {
    const double duration_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - m_started).count();
    log::info("websocket closed", {{"remote", m_remote},
                                   {"path", m_path},
                                   {"conn", m_id},
                                   {"identity", m_identity},
                                   {"code", unsigned{info.code}},
                                   {"messages_in", m_messages_in},
                                   {"messages_out", m_messages_out},
                                   {"duration_ms", duration_ms}});
  }

  // Handler exceptions stay here: logged, no further callbacks but on_close, connection
  // closed with 1011 after what the handler already queued.
  template <class Callback>
  void call_handler(std::string_view callback, Callback&& invoke) {
    if (!m_handler || m_handler_failed) return;
    try {
      invoke();
      return;
    } catch (const std::exception& e) {
      log::error("websocket handler threw",
                 {{"callback", callback}, {"conn", m_id}, {"error", e.what()}});
    } catch (...) {
      log::error("websocket handler threw",
                 {{"callback", callback}, {"conn", m_id}, {"error", "unknown"}});
    }
    m_handler_failed = true;
    post_close(1011, "internal error");
  }

  ServerContext& m_context;
  websocket::stream<ExclusiveWriteStream<Stream>> m_ws;
  asio::any_io_executor m_executor;  // the connection's strand
  asio::steady_timer m_close_deadline;
  asio::steady_timer m_handler_deadline;  // set_deadline()
  std::uint64_t m_deadline_generation = 0;
  BeastRequest m_request;  // until the handshake completes
  std::shared_ptr<WebSocketHandler> m_handler;
  const std::uint64_t m_id;
  const std::string m_remote;
  const std::string m_path;
  const Clock::time_point m_started;
  ConnectionTicket m_ticket;
  std::string m_identity;

  beast::flat_buffer m_buffer;
  std::deque<std::shared_ptr<const std::string>> m_queue;
  std::size_t m_in_flight = 0;  // the first messages of m_queue, being written
  std::vector<asio::const_buffer> m_write_buffers;
  std::string m_write_copy;  // frame headers and small payloads of the write in flight
  std::atomic<std::size_t> m_queued_bytes{0};
  std::optional<websocket::close_reason> m_close_request;
  std::uint64_t m_messages_in = 0;
  std::uint64_t m_messages_out = 0;

  bool m_opened = false;
  bool m_reading = false;
  bool m_writing = false;  // a message or the close frame
  bool m_close_sent = false;
  bool m_peer_closed = false;
  bool m_finished = false;
  bool m_above_low_water = false;
  bool m_handler_failed = false;
  bool m_shutdown_pending = false;
};

}  // namespace

template <class Stream>
void launch_websocket_session(ServerContext& context, Stream stream, BeastRequest request,
                              std::shared_ptr<WebSocketHandler> handler, std::uint64_t id,
                              std::string remote_address, ConnectionTicket ticket) {
  std::make_shared<WebSocketSession<Stream>>(context, std::move(stream), std::move(request),
                                             std::move(handler), id, std::move(remote_address),
                                             std::move(ticket))
      ->run();
}

template void launch_websocket_session<PlainStream>(ServerContext&, PlainStream, BeastRequest,
                                                    std::shared_ptr<WebSocketHandler>,
                                                    std::uint64_t, std::string, ConnectionTicket);
template void launch_websocket_session<TlsStream>(ServerContext&, TlsStream, BeastRequest,
                                                  std::shared_ptr<WebSocketHandler>, std::uint64_t,
                                                  std::string, ConnectionTicket);

}  // namespace tandem::net
