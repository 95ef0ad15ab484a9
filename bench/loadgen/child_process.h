// Child processes of the load generator (PostgreSQL's programs, pgbench, `tandem serve`),
// and the watchdog that bounds a whole run: when its deadline passes it stops every child
// still registered and exits, so a benchmark can never hang.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace tandem::bench {

class ChildProcess {
 public:
  // Starts argv (as the `postgres` user when `as_postgres` and we are root), stdout and
  // stderr into `log_path`, working directory /tmp.
  static pid_t spawn(std::vector<std::string> argv, const std::string& log_path,
                     bool as_postgres = false);

  struct Outcome {
    int status = -1;  // exit status; -1 when killed or timed out
    std::string output;
  };
  // Runs argv to completion (killed after `timeout`) and returns its output.
  static Outcome run(std::vector<std::string> argv, const std::string& log_path,
                     std::chrono::seconds timeout, bool as_postgres = false);

  // Waits up to `timeout` for `pid` to exit; true when it did (reaped).
  static bool wait_exit(pid_t pid, std::chrono::milliseconds timeout);
};

// Cleanup actions run by the watchdog (and only then): stopping children.
class Watchdog {
 public:
  // Starts the watchdog thread: after `limit`, runs the cleanups and exits with status 3.
  static void arm(std::chrono::seconds limit);
  static int add_cleanup(std::function<void()> cleanup);
  static void remove_cleanup(int id);
};

}  // namespace tandem::bench
