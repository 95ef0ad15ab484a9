// Logical-replication capture: reads the `pgoutput` stream of Tandem's slot over a libpq
// replication connection and appends each committed transaction's changes, in commit
// order, to tandem.changes. The slot's flush position is confirmed only after the append
// has committed, and the end LSN of the last appended transaction is stored with it
// (tandem.meta `capture_lsn`), so a crash at any moment neither loses a change (the slot
// replays from the confirmed position) nor duplicates one (replayed transactions at or below
// `capture_lsn` are skipped).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "storage/postgres/pg_capture.h"
#include "storage/postgres/pg_connection.h"
#include "sync/hlc.h"

namespace tandem::storage::postgres {

struct LogicalCaptureOptions {
  std::string url;
  std::string slot = "tandem";
};

class LogicalCapture {
 public:
  // `tables` must be safe to call from the capture thread; `on_appended(last_seq)` is called
  // after each append commits.
  LogicalCapture(LogicalCaptureOptions options, PgTableLookup tables, sync::HlcClock& clock,
                 std::function<void(std::uint64_t)> on_appended);
  ~LogicalCapture();

  // Creates the slot if missing and starts the capture thread.
  void start();
  void stop();

  // Returns once the outside writes of every transaction committed before this call have been
  // folded (and appended to the log); Tandem's own writes may still be on their way to the
  // log. Throws Error(unavailable) when the capture does not get there in time.
  void barrier();

  // Appends changes that do not come from the stream (hard reset) in log order.
  void append(std::vector<CapturedChange> changes);

  // Slot state and lag, for /health.
  std::string describe(PgConnection& connection);

  // Drops the slot (when nothing is tracked any more, or on request).
  static void drop_slot(PgConnection& connection, const std::string& slot);

 private:
  class Stream;
  void run();

  LogicalCaptureOptions m_options;
  PgTableLookup m_tables;
  sync::HlcClock& m_clock;
  std::function<void(std::uint64_t)> m_on_appended;
  std::string m_instance;  // tags this process's barriers

  std::thread m_thread;
  std::atomic<bool> m_stopping{false};

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::uint64_t m_barrier_sent = 0;
  std::uint64_t m_barrier_seen = 0;
  std::mutex m_barrier_mutex;
  std::unique_ptr<PgConnection> m_barrier_connection;
  struct AppendJob {
    std::vector<CapturedChange> changes;
    std::promise<void> done;
  };
  std::deque<AppendJob> m_appends;
};

}  // namespace tandem::storage::postgres
