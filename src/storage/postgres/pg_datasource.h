// The production datasource: PostgreSQL through libpq.
//
// Threads: one writer thread owns the read-write connection and applies every write
// (pushes with group commit, tracking, hard resets) in order. The capture path appends to
// tandem.changes and is the only owner of `seq`: in trigger mode it runs on the writer
// thread (moving committed rows of tandem.capture into the log inside each transaction and
// every poll interval); in logical mode a capture thread reads the `pgoutput` stream
// (pg_logical_capture.h). Reads use a small pool of connections and may run on any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "storage/connection_pool.h"
#include "storage/datasource.h"
#include "storage/group_commit.h"
#include "storage/postgres/pg_capture.h"
#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_filter_sql.h"
#include "storage/postgres/pg_schema.h"
#include "storage/writer_queue.h"
#include "sync/hlc.h"

namespace tandem::storage::postgres {

class LogicalCapture;
class PgTransaction;

struct PostgresOptions {
  std::string url;  // postgres://user:password@host:port/database
  CaptureMode capture = CaptureMode::logical;
  std::string slot = "tandem";  // logical mode: the replication slot's name
  std::size_t reader_connections = 4;
  std::size_t max_group_commit = 256;
  std::chrono::milliseconds poll_interval{10};  // trigger mode: how often capture is moved
  std::chrono::hours retention{24 * 7};
};

class PostgresDatasource final : public Datasource {
 public:
  // Connects, creates the tandem schema, loads the tracked tables and starts capture.
  // Throws Error(unavailable) when PostgreSQL cannot be reached and Error(config_invalid)
  // when logical capture is asked for but the server does not allow it.
  PostgresDatasource(PostgresOptions options, sync::HlcClock& clock);
  ~PostgresDatasource() override;

  std::string_view kind() const override { return "postgres"; }

  std::vector<TableSchema> tables() override;
  Result<TableSchema> track(std::string_view table) override;
  Status untrack(std::string_view table) override;
  std::vector<TableSchema> reload() override;
  Result<HardResetReport> hard_reset(
      std::string_view table, std::function<void(std::uint64_t, std::uint64_t)> progress) override;

  void submit(PushRequest request, std::function<void(PushResult)> done) override;

  void catch_up() override;
  std::uint64_t horizon_seq() override;

  SnapshotPage read_snapshot(const SnapshotRequest& request) override;
  std::uint64_t count_rows(const SnapshotRequest& request) override;
  Result<std::vector<Row>> lookup_rows(std::string_view table, std::string_view column,
                                       const Value& value, std::size_t limit) override;
  sync::Hlc max_clock() override;
  void close() override;

  CaptureMode capture_mode() const { return m_options.capture; }

  // Runs SQL on the writer connection outside Tandem's capture context, like any other
  // program (demo set-up, tests).
  void execute(const std::string& sql);

 protected:
  std::vector<sync::Change> read_log(std::uint64_t after_seq, std::uint64_t head,
                                     std::size_t limit) override;
  std::string probe_and_describe() override;

 private:
  template <typename Fn>
  auto run_on_writer(Fn job) {
    return m_queue.run(std::move(job));
  }
  void writer_loop();
  std::vector<PushResult> apply_pushes(std::vector<PushJob>& jobs);
  // One transaction; `batched`: PgWriteTxn's batched mode (throws BatchFailed).
  std::vector<PushResult> apply_in_transaction(std::vector<PushJob>& jobs, bool batched);
  void ensure_folded(PgConnection& connection);
  void start_logical_capture();
  // Logical mode: starts capture when the first table is tracked, stops it and drops the
  // slot when the last one is untracked.
  void follow_tracking(PgConnection& connection);
  void append_owned_by_capture(std::vector<CapturedChange> changes);
  void move_capture(PgConnection& connection);
  using TableMap = std::map<std::string, PgTable, std::less<>>;
  // The tracked tables as the registry has them (inside the caller's transaction); a table
  // that cannot be used any more is skipped with a warning.
  TableMap read_tables(PgConnection& connection);
  // Replica identity, triggers (trigger mode) and publication (logical mode) for `tables`.
  void install_capture(PgConnection& connection, const TableMap& tables);
  // Commits `txn` and makes `tables` the tracked set in one step.
  void commit_tables(PgTransaction& txn, TableMap tables);
  // Untracks `name` (one transaction) and stops capture when nothing is tracked any more.
  // Errors: not_found.
  Status remove_tracking(PgConnection& connection, const std::string& name);
  void prune_log(PgConnection& connection);
  const PgTable* find_table(std::string_view name) const;  // caller holds m_schema_mutex
  // A tracked table's description, copied under the schema lock (membership tables of
  // snapshot filters).
  PgMembershipLookup tracked_table_lookup() const;

  PostgresOptions m_options;
  sync::HlcClock& m_clock;

  std::unique_ptr<PgConnection> m_writer_connection;
  std::thread m_writer;
  WriterQueue<PgConnection> m_queue;

  ConnectionPool<PgConnection> m_readers;

  mutable std::shared_mutex m_schema_mutex;
  TableMap m_tables;
  // Every table set commit_tables replaced, kept for the datasource's lifetime (a few KiB per
  // track, untrack or reload, which are admin operations).
  std::list<TableMap> m_retired_tables;

  std::uint64_t m_last_seq = 0;  // trigger mode: the writer's own counter (writer thread only)
  std::chrono::steady_clock::time_point m_last_prune{};

  // Replaced only by the writer thread, under m_logical_mutex; other threads use it under
  // that mutex (the capture thread never takes it).
  std::mutex m_logical_mutex;
  std::unique_ptr<LogicalCapture> m_logical;
};

}  // namespace tandem::storage::postgres
