// The real `tandem serve` binary as a child process, on a free loopback port, with its own
// data directory: what end-to-end tests talk to over real sockets (and what the load
// generator, bench/loadgen, measures).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "auth/token.h"

namespace tandem::testing {

// The HS256 secret every end-to-end server is started with.
inline constexpr const char* kTestSecret = "e2e-test-secret-0123456789abcdef0123456789";

// How to start the server beyond the defaults every test shares (loopback, a free port, the
// test secret, its own data directory).
struct ServerLaunch {
  ServerLaunch() = default;
  explicit ServerLaunch(std::string command, std::vector<std::string> args = {},
                        std::map<std::string, std::string> env = {})
      : command(std::move(command)), args(std::move(args)), env(std::move(env)) {}

  std::string command = "serve";  // or "esink"
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to the test's environment
  std::string binary;                      // the tandem binary; empty: $TANDEM_BINARY (ctest)
  int threads = 2;                         // --threads
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
  pid_t pid() const { return m_pid; }  // -1 once the process has exited or was stopped
  const std::string& data_dir() const { return m_data_dir; }
  std::string database_path() const { return m_data_dir + "/tandem.db"; }

  // SIGKILL: the crash a server must survive without losing acknowledged writes.
  void kill9();
  // kill9(), then starts the server again on the same data directory and port.
  void restart();
  // SIGTERM, then waits for exit (SIGKILL after `grace`); returns the exit status, 128 + the
  // signal when one ended the process.
  int terminate(std::chrono::milliseconds grace = std::chrono::minutes(1));
  // False once the process has exited (it is reaped then, and exit_status() says how).
  bool running();
  // How the process ended, as terminate() returns it; -1 while it runs.
  int exit_status() const { return m_exit_status; }
  std::string log() const;                               // what the server wrote to stderr
  std::string log_tail(std::size_t bytes = 2000) const;  // the end of log()

  // A token as `tandem token` mints it, signed with the test secret.
  static std::string token(const std::string& subject, auth::Role role = auth::Role::user,
                           std::chrono::seconds ttl = std::chrono::hours(24));
  // A token holding exactly `claims_json` (e.g. without exp, which no minted token lacks),
  // signed with the test secret.
  static std::string token_with_claims(const std::string& claims_json);

 private:
  void launch(std::uint16_t port);
  void reaped(int wait_status);

  std::string m_data_dir;
  ServerLaunch m_launch;
  std::string m_log_path;
  pid_t m_pid = -1;
  int m_exit_status = -1;
  std::uint16_t m_port = 0;
};

}  // namespace tandem::testing
