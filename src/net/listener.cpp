#include "net/listener.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <chrono>

#include "common/error.h"
#include "common/logging.h"
#include "net/http_session.h"

namespace tandem::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Accept errors such as EMFILE persist for a while; retrying at once would spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

[[noreturn]] void throw_listen_error(const std::string& address, std::uint16_t port,
                                     const std::string& reason) {
  throw Error(ErrorCode::config_invalid,
              "cannot listen on " + address + ":" + std::to_string(port) + ": " + reason);
}

tcp::endpoint resolve(asio::io_context& io_context, const std::string& address,
                      std::uint16_t port) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (!ec) return {ip, port};
  // Not a literal address: accept a host name such as "localhost".
  tcp::resolver resolver(io_context);
  const auto results = resolver.resolve(address, std::to_string(port), ec);
  if (ec || results.empty()) {
    throw_listen_error(address, port, ec ? ec.message() : "no address for host");
  }
  return results.begin()->endpoint();
}

}  // namespace

Listener::Listener(asio::io_context& io_context, ServerContext& context)
    : m_io_context(io_context),
      m_context(context),
      m_acceptor(asio::make_strand(io_context)),
      m_retry_timer(m_acceptor.get_executor()) {}

void Listener::open(const std::string& address, std::uint16_t port) {
  const tcp::endpoint endpoint = resolve(m_io_context, address, port);
  boost::system::error_code ec;
  const auto check = [&] {
    if (ec) throw_listen_error(address, port, ec.message());
  };
  m_acceptor.open(endpoint.protocol(), ec);
  check();
  m_acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  check();
  m_acceptor.bind(endpoint, ec);
  check();
  m_acceptor.listen(asio::socket_base::max_listen_connections, ec);
  check();
  m_port = m_acceptor.local_endpoint(ec).port();
  check();
}

void Listener::run() {
  do_accept();
}

void Listener::stop() {
  asio::post(m_acceptor.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->m_acceptor.close(ignored);
    self->m_retry_timer.cancel();
  });
}

void Listener::do_accept() {
  // Each connection gets its own strand: its handlers never run concurrently, while
  // different connections use every I/O thread.
  m_acceptor.async_accept(
      asio::make_strand(m_io_context),
      boost::beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !m_acceptor.is_open()) return;
  if (ec) {
    log::warn("accept failed", {{"error", ec.message()}});
    return retry_later();
  }
  if (m_context.stopping) return;              // the socket closes as it goes out of scope
  socket.set_option(tcp::no_delay(true), ec);  // WebSocket messages are latency-sensitive
  launch_http_session(m_context, std::move(socket));
  do_accept();
}

void Listener::retry_later() {
  m_retry_timer.expires_after(kAcceptRetryDelay);
  m_retry_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && self->m_acceptor.is_open()) self->do_accept();
  });
}

}  // namespace tandem::net
