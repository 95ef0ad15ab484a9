#include "net/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "common/error.h"
#include "common/logging.h"
#include "common/thread_role.h"
#include "net/listener.h"
#include "net/server_context.h"
#include "net/tls_context.h"

namespace tandem::net {
namespace asio = boost::asio;

namespace {

// After the grace period, sessions get one second to send their close frames (see
// WebSocketSession::close_now); this leaves them time to do so before the io_context stops.
constexpr auto kForcedCloseLinger = std::chrono::seconds(2);

}  // namespace

struct HttpServer::Impl {
 public:
  Impl(ServerOptions options, Router router)
      : m_context(std::move(options), std::move(router)),
        m_io_context(std::max(1, m_context.options.threads)),
        m_control(asio::make_strand(m_io_context)),
        m_stop_timer(m_control) {}

  void start() {
    if (m_started.exchange(true)) {
      throw Error(ErrorCode::internal, "HttpServer::start() called twice");
    }
    const ServerOptions& options = m_context.options;
    if (options.tls) m_context.tls.emplace(make_tls_context(*options.tls));
    // The cap must bite before accept() fails for want of descriptors: a refused client
    // gets an answer, a failed accept() none.
    m_context.connections.set_max_total(fit_to_fd_limit(options.max_connections));
    m_listener = std::make_shared<Listener>(m_io_context, m_context);
    m_listener->open(options.address, options.port);
    m_port = m_listener->port();
    m_listener->run();
    // Keeps run() from returning while the acceptor is between two accepts (e.g. retrying
    // after EMFILE); released by stop().
    m_work.emplace(asio::make_work_guard(m_io_context));
    const int threads = std::max(1, options.threads);
    for (int i = 0; i < threads; ++i)
      m_threads.emplace_back([this] { run_io(); });
    m_running = true;
    if (m_stop_requested) asio::post(m_control, [this] { begin_shutdown(); });
    log::info("http server listening", {{"address", options.address},
                                        {"port", unsigned{m_port}},
                                        {"tls", options.tls.has_value()},
                                        {"threads", threads},
                                        {"max_connections", m_context.connections.max_total()}});
  }

  std::uint16_t port() const { return m_port; }

  void stop() {
    if (m_stop_requested.exchange(true)) return;
    m_context.stopping = true;
    if (!m_running) return;
    asio::post(m_control, [this] { begin_shutdown(); });
  }

  void wait() {
    std::lock_guard lock(m_wait_mutex);
    for (auto& thread : m_threads) {
      if (thread.get_id() == std::this_thread::get_id()) {
        throw Error(ErrorCode::internal, "HttpServer::wait() called from an I/O thread");
      }
    }
    if (m_threads.empty()) return;
    for (auto& thread : m_threads)
      thread.join();
    m_threads.clear();
    log::info("http server stopped", {{"port", unsigned{m_port}}});
  }

  std::size_t open_websockets() const { return m_context.open_websockets.load(); }

 private:
  void run_io() {
    set_thread_role(ThreadRole::io);
    for (;;) {
      try {
        m_io_context.run();
        return;
      } catch (const std::exception& e) {
        // Sessions catch handler exceptions; reaching here is a bug, but one connection's bug
        // must not take the server down.
        log::error("unexpected exception in I/O thread", {{"error", e.what()}});
      }
    }
  }

  void begin_shutdown() {
    if (m_shutdown_begun) return;  // stop() may race with the end of start()
    m_shutdown_begun = true;
    log::info("http server stopping",
              {{"connections", m_context.sessions.size()}, {"open_websockets", open_websockets()}});
    m_listener->stop();
    m_work.reset();
    const auto sessions = m_context.sessions.begin_stop([this] { m_io_context.stop(); });
    for (const auto& session : sessions)
      session->shutdown();
    m_stop_timer.expires_after(m_context.options.shutdown_grace);
    m_stop_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) on_grace_expired();
    });
  }

  void on_grace_expired() {
    const auto sessions = m_context.sessions.snapshot();
    log::warn("shutdown grace period over, closing remaining connections",
              {{"connections", sessions.size()}});
    for (const auto& session : sessions)
      session->force_close();
    m_stop_timer.expires_after(kForcedCloseLinger);
    m_stop_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) m_io_context.stop();
    });
  }

  // Declaration order is destruction order reversed: the io_context goes before the context
  // that its abandoned handlers' sessions still refer to, and the I/O objects go before it.
  ServerContext m_context;
  asio::io_context m_io_context;
  asio::strand<asio::io_context::executor_type> m_control;
  asio::steady_timer m_stop_timer;
  std::shared_ptr<Listener> m_listener;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> m_work;
  std::mutex m_wait_mutex;
  std::vector<std::thread> m_threads;
  std::uint16_t m_port = 0;
  std::atomic<bool> m_started{false};
  std::atomic<bool> m_running{false};
  std::atomic<bool> m_stop_requested{false};
  bool m_shutdown_begun = false;  // on m_control
};

HttpServer::HttpServer(ServerOptions options, Router router)
    : m_impl(std::make_unique<Impl>(std::move(options), std::move(router))) {}

HttpServer::~HttpServer() {
  m_impl->stop();
  m_impl->wait();
}

void HttpServer::start() {
  m_impl->start();
}
std::uint16_t HttpServer::port() const {
  return m_impl->port();
}
void HttpServer::stop() {
  m_impl->stop();
}
void HttpServer::wait() {
  m_impl->wait();
}
std::size_t HttpServer::open_websockets() const {
  return m_impl->open_websockets();
}

}  // namespace tandem::net
