// `tandem serve` as every scenario runs it: the tests' launcher
// (tests/support/server_process.h) with the release binary, under the watchdog. Tokens for it
// are testing::ServerProcess::token (signed with the test secret it is started with).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loadgen/child_process.h"
#include "loadgen/scenarios.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace tandem::bench {

class BenchServer {
 public:
  // Starts `tandem serve` from --tandem with --threads of --server-threads, logging at warn,
  // without connection limits (the load generator is a handful of loopback addresses holding
  // up to tens of thousands of connections) and with `args` (e.g. --database-url, --track),
  // on `data_dir` or, when it is empty, a new temporary directory; waits until it listens.
  // Prints its pid and port on stderr, for profiling from outside (perf record -p PID).
  // When the run's time limit passes, the watchdog kills it and removes its own directory.
  BenchServer(const CommonOptions& common, std::vector<std::string> args,
              std::string data_dir = {});
  // SIGTERM (a clean shutdown, as between the runs of one scenario on one cluster), SIGKILL
  // after 15 s.
  ~BenchServer();
  BenchServer(const BenchServer&) = delete;
  BenchServer& operator=(const BenchServer&) = delete;

  std::uint16_t port() const { return m_server.port(); }
  pid_t pid() const { return m_server.pid(); }  // -1 once it has exited
  std::string log_tail() const { return m_server.log_tail(); }
  // False once the server has exited; the first call to see it says so on stderr, with the
  // end of its log.
  bool alive();

 private:
  std::unique_ptr<testing::TempDir> m_own_dir;  // when no data directory was given
  testing::ServerProcess m_server;
  WatchdogCleanup m_on_timeout;
};

// While the returned object lives, the watchdog removes `dir` when it stops the run (the
// directory's destructor removes it otherwise).
WatchdogCleanup remove_on_timeout(const testing::TempDir& dir);

}  // namespace tandem::bench
