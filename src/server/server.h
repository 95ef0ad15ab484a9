// A Tandem server: one datasource, its change publisher and hub, the auth and rules, and the
// HTTP/WebSocket endpoints, wired from a Config.
#pragma once

#include <memory>

#include "config/config.h"

namespace tandem::storage {
class Datasource;
}

namespace tandem::server {

class Server {
 public:
  explicit Server(config::Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the datasource, tracks the configured tables (and the demo's), starts publishing
  // and listening. Throws tandem::Error with a message a person can act on.
  void start();
  std::uint16_t port() const;
  // Reads the rules file again and applies it (RulesControl::reload); a mistake is logged and
  // changes nothing. Blocks; call it from a thread that may (not an I/O thread).
  void reload_rules();
  // Graceful: stops accepting, lets sessions send their pending acks, closes them with a
  // close frame, then stops the publisher and the datasource. Blocks until done; idempotent.
  void stop();

  storage::Datasource& datasource();
  const config::Config& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace tandem::server
