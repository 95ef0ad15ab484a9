// The embedded datasource: one SQLite file in WAL mode.
//
// Threads: one writer thread owns the only read-write connection and applies every write
// (pushes, tracking, folding of outside writes) in order; queued pushes share a transaction
// (group commit: one fsync for many pushes). Reads use a small pool of read-only
// connections and may run on any thread. wait_for_changes has one caller (the publisher).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "storage/datasource.h"
#include "storage/group_commit.h"
#include "storage/sqlite/sqlite_connection.h"
#include "storage/writer_queue.h"
#include "sync/hlc.h"

namespace tandem::storage::sqlite {

struct SqliteOptions {
  std::string path;  // the database file; its directory must exist
  // FULL: a commit survives power loss; NORMAL: survives a crash of the process only.
  bool synchronous_full = true;
  std::size_t reader_connections = 4;
  std::size_t max_group_commit = 256;           // pushes per transaction at most
  std::chrono::milliseconds poll_interval{20};  // how often outside writes are looked for
  std::chrono::hours retention{24 * 7};         // change log entries older than this go
};

class SqliteDatasource final : public Datasource {
 public:
  // Opens (creating if needed) the database, creates Tandem's tables, loads the tracked
  // tables and reinstalls their capture. Throws Error(unavailable) if it cannot open.
  SqliteDatasource(SqliteOptions options, sync::HlcClock& clock);
  ~SqliteDatasource() override;

  std::string_view kind() const override { return "sqlite"; }

  std::vector<TableSchema> tables() override;
  Result<TableSchema> track(std::string_view table) override;
  Status untrack(std::string_view table) override;
  std::vector<TableSchema> reload() override;
  Result<HardResetReport> hard_reset(
      std::string_view table, std::function<void(std::uint64_t, std::uint64_t)> progress) override;

  void submit(PushRequest request, std::function<void(PushResult)> done) override;

  void catch_up() override;
  std::uint64_t horizon_seq() override;
  // Also looks for other programs' commits to the file (data_version) while it waits.
  std::uint64_t wait_for_changes(std::uint64_t after_seq,
                                 std::chrono::milliseconds timeout) override;

  SnapshotPage read_snapshot(const SnapshotRequest& request) override;
  std::uint64_t count_rows(const SnapshotRequest& request) override;
  Result<std::vector<Row>> lookup_rows(std::string_view table, std::string_view column,
                                       const Value& value, std::size_t limit) override;
  sync::Hlc max_clock() override;
  void close() override;

  // Runs `job` on the writer thread with the writer connection and waits for it.
  template <typename Fn>
  auto run_on_writer(Fn job) {
    return m_queue.run(std::move(job));
  }

  // Runs SQL on the writer connection (outside Tandem's capture context, like any other
  // program writing the file). For the demo set-up and tests.
  void execute(const std::string& sql);

 protected:
  std::vector<sync::Change> read_log(std::uint64_t after_seq, std::uint64_t head,
                                     std::size_t limit) override;
  std::string probe_and_describe() override;

 private:
  void writer_loop();
  std::vector<PushResult> apply_pushes(std::vector<PushJob>& jobs);
  void fold_external_changes(SqliteConnection& connection);
  void prune_log(SqliteConnection& connection);
  void refresh_head(SqliteConnection& connection);
  static std::uint64_t latest_seq(SqliteConnection& connection);
  using TableMap = std::map<std::string, TableSchema, std::less<>>;
  // Reads every tracked table and (re)installs its capture, inside the caller's transaction.
  TableMap install_all(SqliteConnection& connection);
  // Commits `txn`, then makes `tables` the tracked set: a failed track, untrack or reload
  // leaves the set as it was.
  void commit_tables(SqliteTransaction& txn, TableMap tables);

  // A reader connection for the duration of a call.
  class ReaderLease;
  ReaderLease lease_reader();

  SqliteOptions m_options;
  sync::HlcClock& m_clock;

  std::unique_ptr<SqliteConnection> m_writer_connection;
  std::thread m_writer;
  WriterQueue<SqliteConnection> m_queue;

  struct Reader {
    std::unique_ptr<SqliteConnection> connection;
    std::uint64_t schema_version = 0;  // of the statements in its cache
  };
  std::mutex m_readers_mutex;
  std::vector<Reader> m_idle_readers;
  std::atomic<std::uint64_t> m_schema_version{1};

  mutable std::shared_mutex m_schema_mutex;
  TableMap m_tables;

  std::atomic<std::uint64_t> m_horizon{0};

  std::unique_ptr<SqliteConnection> m_poll_connection;  // used by wait_for_changes only
  std::int64_t m_last_data_version = -1;
  // Set by the writer when folding other programs' writes failed (the file was busy).
  std::atomic<bool> m_fold_failed{false};
  std::chrono::steady_clock::time_point m_last_prune{};
};

}  // namespace tandem::storage::sqlite
