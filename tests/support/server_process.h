// The real `tandem serve` binary as a child process, on a free loopback port, with its own
// data directory: what end-to-end tests talk to over real sockets.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "auth/token.h"

namespace tandem::testing {

// The HS256 secret every end-to-end server is started with.
inline constexpr const char* kTestSecret = "e2e-test-secret-0123456789abcdef0123456789";

// How to start the server beyond the defaults every test shares (loopback, a free port, the
// test secret, its own data directory).
struct ServerLaunch {
  std::string command = "serve";  // or "esink"
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to the test's environment
};

class ServerProcess {
 public:
  // Starts `tandem serve` with --data-dir `data_dir` and `extra_args`; waits until it listens.
  ServerProcess(std::string data_dir, std::vector<std::string> extra_args = {});
  ServerProcess(std::string data_dir, ServerLaunch how);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return m_port; }
  const std::string& data_dir() const { return m_data_dir; }
  std::string database_path() const { return m_data_dir + "/tandem.db"; }

  // SIGKILL: the crash a server must survive without losing acknowledged writes.
  void kill9();
  // kill9(), then starts the server again on the same data directory and port.
  void restart();
  // SIGTERM, then waits for exit; returns the exit status.
  int terminate();
  bool running();
  std::string log() const;  // what the server wrote to stderr

  // A token as `tandem token` mints it, signed with the test secret.
  static std::string token(const std::string& subject, auth::Role role = auth::Role::user,
                           std::chrono::seconds ttl = std::chrono::hours(24));
  // A token holding exactly `claims_json` (e.g. without exp, which no minted token lacks),
  // signed with the test secret.
  static std::string token_with_claims(const std::string& claims_json);

 private:
  void launch(std::uint16_t port);

  std::string m_data_dir;
  ServerLaunch m_launch;
  std::string m_log_path;
  pid_t m_pid = -1;
  std::uint16_t m_port = 0;
};

}  // namespace tandem::testing
