#include "loadgen/ws_pool.h"

#include <netinet/in.h>
#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "loadgen/measure.h"

namespace tandem::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxMessage = 256 << 20;

class Connection final : public WsConnection, public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io_context, std::size_t index, WsHandler& handler)
      : m_io_context(io_context), m_ws(io_context), m_index(index), m_handler(handler) {}

  std::size_t index() const override { return m_index; }

  void send(std::string text) override {
    asio::post(m_io_context, [self = shared_from_this(), text = std::move(text)]() mutable {
      if (self->m_failed) return;
      self->m_out.push_back(std::move(text));
      if (!self->m_writing) self->write_next();
    });
  }

  void start(const std::string& source_address, std::uint16_t port) {
    auto& socket = beast::get_lowest_layer(m_ws).socket();
    beast::error_code ec;
    socket.open(tcp::v4(), ec);
    if (!ec) {
      // The port is chosen at connect time, per destination: with several source
      // addresses the load generator is not limited to one range of ephemeral ports.
      int one = 1;
      ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
      socket.bind(tcp::endpoint(asio::ip::make_address(source_address), 0), ec);
    }
    if (ec) return fail(ec);
    beast::get_lowest_layer(m_ws).expires_after(std::chrono::seconds(60));
    socket.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                         [self = shared_from_this(), port](beast::error_code error) {
                           if (error) return self->fail(error);
                           self->m_ws.async_handshake("127.0.0.1:" + std::to_string(port), "/sync",
                                                      [self](beast::error_code handshake_error) {
                                                        self->on_handshake(handshake_error);
                                                      });
                         });
  }

  void cut() {
    asio::post(m_io_context, [self = shared_from_this()] {
      self->m_closing = true;
      beast::error_code ignored;
      beast::get_lowest_layer(self->m_ws).socket().close(ignored);
    });
  }

 private:
  void on_handshake(beast::error_code ec) {
    if (ec) return fail(ec);
    beast::get_lowest_layer(m_ws).expires_never();
    m_ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    m_ws.read_message_max(kMaxMessage);
    m_ws.text(true);
    m_handler.on_open(*this);
    read_next();
  }

  void read_next() {
    m_ws.async_read(m_buffer, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail(ec);
      auto received = now_us();
      auto data = self->m_buffer.cdata();
      self->m_handler.on_message(
          *self, std::string_view(static_cast<const char*>(data.data()), data.size()), received);
      self->m_buffer.consume(self->m_buffer.size());
      self->read_next();
    });
  }

  void write_next() {
    if (m_out.empty()) return;
    m_writing = true;
    m_ws.async_write(asio::buffer(m_out.front()),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->m_writing = false;
                       if (ec) return self->fail(ec);
                       self->m_out.pop_front();
                       self->write_next();
                     });
  }

  void fail(beast::error_code ec) {
    if (m_failed) return;
    m_failed = true;
    beast::error_code ignored;
    beast::get_lowest_layer(m_ws).socket().close(ignored);
    m_handler.on_close(*this,
                       m_closing ? std::string("closed by the load generator") : ec.message());
  }

  asio::io_context& m_io_context;
  websocket::stream<beast::tcp_stream> m_ws;
  beast::flat_buffer m_buffer;
  std::deque<std::string> m_out;
  std::size_t m_index;
  WsHandler& m_handler;
  bool m_writing = false;
  bool m_failed = false;
  bool m_closing = false;
};

}  // namespace

class WsPool::Impl {
 public:
  explicit Impl(int threads) {
    for (int i = 0; i < threads; ++i) {
      auto context = std::make_unique<asio::io_context>(1);
      m_guards.emplace_back(asio::make_work_guard(*context));
      m_contexts.push_back(std::move(context));
    }
    for (auto& context : m_contexts)
      m_threads.emplace_back([&context = *context] { context.run(); });
  }

  void connect(std::size_t index, const std::string& source, std::uint16_t port,
               WsHandler& handler) {
    auto& context = *m_contexts[index % m_contexts.size()];
    auto connection = std::make_shared<Connection>(context, index, handler);
    {
      std::lock_guard lock(m_mutex);
      m_connections.push_back(connection);
    }
    asio::post(context, [connection, source, port] { connection->start(source, port); });
  }

  void stop() {
    std::vector<std::shared_ptr<Connection>> connections;
    {
      std::lock_guard lock(m_mutex);
      if (m_stopped) return;
      m_stopped = true;
      connections.swap(m_connections);
    }
    for (auto& connection : connections)
      connection->cut();
    m_guards.clear();
    connections.clear();
    // Handlers of cut connections finish quickly; a bounded wait, then a hard stop.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (auto& context : m_contexts) {
      while (!context->stopped() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      context->stop();
    }
    for (auto& thread : m_threads)
      thread.join();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> m_contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> m_guards;
  std::vector<std::thread> m_threads;
  std::mutex m_mutex;
  std::vector<std::shared_ptr<Connection>> m_connections;
  bool m_stopped = false;
};

WsPool::WsPool(int threads) : m_impl(std::make_unique<Impl>(threads)) {}

WsPool::~WsPool() {
  m_impl->stop();
}

void WsPool::connect(std::size_t index, const std::string& source_address, std::uint16_t port,
                     WsHandler& handler) {
  m_impl->connect(index, source_address, port, handler);
}

void WsPool::stop() {
  m_impl->stop();
}

std::uint64_t raise_fd_limit(std::uint64_t wanted) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max < wanted) limit.rlim_max = wanted;  // allowed as root
  limit.rlim_cur = std::max<rlim_t>(limit.rlim_cur, wanted);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

}  // namespace tandem::bench
