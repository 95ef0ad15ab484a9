// Accepts TCP connections and starts one HTTP session per connection; internal.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "net/server_context.h"

namespace tandem::net {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& io_context, ServerContext& context);

  // Binds and listens. Throws tandem::Error (config_invalid) naming address and port.
  void open(const std::string& address, std::uint16_t port);
  std::uint16_t port() const { return m_port; }

  void run();
  // Stops accepting; thread-safe.
  void stop();

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void retry_later();

  boost::asio::io_context& m_io_context;
  ServerContext& m_context;
  boost::asio::ip::tcp::acceptor m_acceptor;
  boost::asio::steady_timer m_retry_timer;
  std::uint16_t m_port = 0;
};

}  // namespace tandem::net
