// Child processes of the load generator (pgbench; PostgreSQL and `tandem serve` are started
// by the launchers of tests/support), and the watchdog that bounds a whole run: when its
// deadline passes it runs every cleanup still registered (stopping children, removing their
// directories) and exits, so a benchmark can never hang.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tandem::bench {

class ChildProcess {
 public:
  // Starts argv, stdout and stderr into `log_path`, working directory /tmp.
  static pid_t spawn(std::vector<std::string> argv, const std::string& log_path);

  struct Outcome {
    int status = -1;  // exit status; -1 when killed or timed out
    std::string output;
  };
  // Runs argv to completion (killed after `timeout`) and returns its output.
  static Outcome run(std::vector<std::string> argv, const std::string& log_path,
                     std::chrono::seconds timeout);

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

// A cleanup registered with the watchdog for the lifetime of this object. It runs on the
// watchdog's thread, so it captures what it needs (a pid, a path) or calls what is safe to
// call while the scenario's thread still uses the object.
class WatchdogCleanup {
 public:
  explicit WatchdogCleanup(std::function<void()> cleanup)
      : m_id(Watchdog::add_cleanup(std::move(cleanup))) {}
  ~WatchdogCleanup() { Watchdog::remove_cleanup(m_id); }
  WatchdogCleanup(const WatchdogCleanup&) = delete;
  WatchdogCleanup& operator=(const WatchdogCleanup&) = delete;

 private:
  int m_id;
};

}  // namespace tandem::bench
