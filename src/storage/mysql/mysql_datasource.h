// The MySQL/MariaDB source, for Esink users (docs/mysql-source.md).
//
// Capture: AFTER INSERT/UPDATE/DELETE triggers on each tracked table write the row as JSON
// into the events table (Esink's MYSQL_TABLE_TARGET, default pub_events). The writer thread
// polls it every poll_interval and moves the events into tandem_changes, one transaction per
// batch (mysql_capture.h): exactly once, in commit order per row.
//
// Writes through Tandem are not supported in this version: the source is read-only, every
// pushed mutation is rejected with `forbidden` (write to MySQL directly; the change comes
// back through the triggers).
//
// Threads: one writer thread owns the read-write connection and runs the capture mover,
// tracking, hard-reset chunks and push refusals in order. Reads use a small pool of
// connections and may run on any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "storage/connection_pool.h"
#include "storage/datasource.h"
#include "storage/mysql/mysql_capture.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_filter_sql.h"
#include "storage/mysql/mysql_schema.h"
#include "storage/writer_queue.h"
#include "sync/hlc.h"

namespace tandem::storage::mysql {

struct MysqlSourceOptions {
  MysqlConnectOptions connect;
  std::string events_table = "pub_events";  // validated like a table name
  std::chrono::milliseconds poll_interval{20};
  std::chrono::hours retention{24 * 7};
  std::size_t batch = 1000;  // events moved per transaction
  // Tests only: see MoveOptions::before_delete.
  std::function<void()> before_delete;
};

class MysqlDatasource final : public Datasource {
 public:
  // Connects, creates Tandem's tables and the events table (never dropping it), reinstalls
  // the triggers of the tracked tables, moves the events written while Tandem was down and
  // starts polling. Throws Error(unavailable) when MySQL cannot be reached and
  // Error(invalid_identifier) for a bad events table name.
  MysqlDatasource(MysqlSourceOptions options, sync::HlcClock& clock);
  ~MysqlDatasource() override;

  std::string_view kind() const override { return "mysql"; }

  std::vector<TableSchema> tables() override;
  Result<TableSchema> track(std::string_view table) override;
  Status untrack(std::string_view table) override;
  std::vector<TableSchema> reload() override;
  Result<HardResetReport> hard_reset(
      std::string_view table, std::function<void(std::uint64_t, std::uint64_t)> progress) override;

  // Read-only source: every mutation comes back rejected (forbidden), with the stored row
  // as current_row so that the client drops its local version; acked_seq covers them all.
  void submit(PushRequest request, std::function<void(PushResult)> done) override;

  void catch_up() override;
  std::uint64_t horizon_seq() override;

  SnapshotPage read_snapshot(const SnapshotRequest& request) override;
  std::uint64_t count_rows(const SnapshotRequest& request) override;
  Result<std::vector<Row>> lookup_rows(std::string_view table, std::string_view column,
                                       const Value& value, std::size_t limit) override;
  sync::Hlc max_clock() override;
  void close() override;

  const std::string& database() const { return m_options.connect.database; }

  // Runs SQL on the writer connection like any other program would (tests, demo set-up).
  void execute(const std::string& sql);

  // The message of the `forbidden` refusal of pushes.
  static constexpr std::string_view kReadOnlyMessage =
      "the MySQL source is read-only; write to MySQL directly";

 protected:
  std::vector<sync::Change> read_log(std::uint64_t after_seq, std::uint64_t head,
                                     std::size_t limit) override;
  std::string probe_and_describe() override;

 private:
  void writer_loop();
  void move_events_now(MysqlConnection& connection);
  using TableMap = std::map<std::string, MysqlTable, std::less<>>;
  // The tracked tables as the registry has them; an unusable one is skipped with a warning.
  TableMap read_tables(MysqlConnection& connection);
  void set_tables(TableMap tables);
  void install_capture(MysqlConnection& connection, const TableMap& tables);
  // After a failed track or untrack: the table's triggers as they were before it (none when
  // it was not tracked). Failures are logged.
  void restore_triggers(MysqlConnection& connection, const std::string& name,
                        const std::optional<MysqlTable>& previous);
  void prune_log(MysqlConnection& connection);
  PushResult refuse(MysqlConnection& connection, const PushRequest& request);
  const MysqlTable* find_table(std::string_view name) const;  // caller holds m_schema_mutex
  // table_copy as a lookup (membership tables of snapshot filters).
  MysqlMembershipLookup tracked_table_lookup() const;
  std::optional<MysqlTable> table_copy(std::string_view name) const;

  template <typename Fn>
  auto with_reader(Fn fn);

  MysqlSourceOptions m_options;
  sync::HlcClock& m_clock;

  std::unique_ptr<MysqlConnection> m_writer_connection;
  std::thread m_writer;
  WriterQueue<MysqlConnection> m_queue{256};

  ConnectionPool<MysqlConnection> m_readers;

  mutable std::shared_mutex m_schema_mutex;
  TableMap m_tables;

  std::uint64_t m_last_seq = 0;  // writer thread only
  std::chrono::steady_clock::time_point m_last_prune{};
};

}  // namespace tandem::storage::mysql
