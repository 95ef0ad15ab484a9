#include "storage/postgres/pg_datasource.h"

#include <fmt/format.h>

#include "common/identifier.h"
#include "common/logging.h"
#include "storage/group_commit.h"
#include "storage/hard_reset.h"
#include "storage/postgres/pg_capture.h"
#include "storage/postgres/pg_change_log.h"
#include "storage/postgres/pg_filter_sql.h"
#include "storage/postgres/pg_logical_capture.h"
#include "storage/postgres/pg_rows.h"
#include "storage/postgres/pg_write_txn.h"
#include "storage/push_applier.h"
#include "storage/tracked_tables.h"

namespace tandem::storage::postgres {

// BEGIN ... COMMIT on one connection; rolls back when left without commit().
class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& connection) : m_connection(connection) {
    m_connection.exec_prepared("BEGIN", {});
  }
  ~PgTransaction() {
    if (m_open) {
      try {
        m_connection.exec("ROLLBACK");
      } catch (...) {
      }
    }
  }
  void commit() {
    m_connection.exec_prepared("COMMIT", {});
    m_open = false;
  }

 private:
  PgConnection& m_connection;
  bool m_open = true;
};

namespace {

std::int64_t now_millis() {
  return static_cast<std::int64_t>(sync::HlcClock::system_millis());
}

}  // namespace

PostgresDatasource::PostgresDatasource(PostgresOptions options, sync::HlcClock& clock)
    : m_options(std::move(options)),
      m_clock(clock),
      m_queue(m_options.max_group_commit),
      m_readers([this] {
        return std::make_unique<PgConnection>(
            ConnectOptions{m_options.url, false, "tandem-reader"});
      }) {
  m_writer_connection =
      std::make_unique<PgConnection>(ConnectOptions{m_options.url, false, "tandem-writer"});
  auto& writer = *m_writer_connection;
  create_tandem_tables(writer);
  if (m_options.capture == CaptureMode::logical) {
    auto level = writer.exec("SHOW wal_level");
    if (level.text(0, 0) != "logical") {
      throw Error(ErrorCode::config_invalid,
                  fmt::format("logical capture needs wal_level=logical (the server has '{}'); "
                              "set it and restart PostgreSQL, or use capture mode 'trigger'",
                              level.text(0, 0)));
    }
  }
  {
    PgTransaction txn(writer);
    auto tables = read_tables(writer);
    install_capture(writer, tables);
    commit_tables(txn, std::move(tables));
  }
  m_last_seq = read_last_seq(writer);
  log_head().publish(m_last_seq);
  m_clock.advance_to(max_clock());
  if (m_options.capture == CaptureMode::logical) {
    if (!m_tables.empty()) start_logical_capture();
  } else {
    // Rows captured while the server was down are logged before anyone reads.
    PgTransaction txn(writer);
    move_capture(writer);
    txn.commit();
    log_head().publish(m_last_seq);
  }
  log::info("postgres datasource ready",
            {{"capture", std::string(capture_mode_name(m_options.capture))},
             {"tables", m_tables.size()},
             {"head_seq", head_seq()}});
  m_writer = std::thread([this] { writer_loop(); });
}

PostgresDatasource::~PostgresDatasource() {
  close();
}

void PostgresDatasource::start_logical_capture() {
  auto capture = std::make_unique<LogicalCapture>(
      LogicalCaptureOptions{m_options.url, m_options.slot},
      [this](std::string_view name) -> const PgTable* {
        std::shared_lock lock(m_schema_mutex);
        return find_table(name);
      },
      m_clock, [this](std::uint64_t seq) { log_head().publish(seq); });
  capture->start();
  std::lock_guard lock(m_logical_mutex);
  m_logical = std::move(capture);
}

void PostgresDatasource::follow_tracking(PgConnection& connection) {
  if (m_options.capture != CaptureMode::logical) return;
  bool tracking = false;
  {
    std::shared_lock lock(m_schema_mutex);
    tracking = !m_tables.empty();
  }
  if (tracking && !m_logical) {
    start_logical_capture();
  } else if (!tracking && m_logical) {
    // Nothing is tracked: a slot left behind would make PostgreSQL keep WAL forever.
    std::unique_ptr<LogicalCapture> capture;
    {
      std::lock_guard lock(m_logical_mutex);
      capture = std::move(m_logical);
    }
    capture->stop();
    LogicalCapture::drop_slot(connection, m_options.slot);
    write_meta(connection, "capture_lsn", "0/0");
    log::info("replication slot dropped: no table is tracked", {{"slot", m_options.slot}});
  }
}

void PostgresDatasource::close() {
  m_queue.close();
  if (m_writer.joinable()) m_writer.join();
  if (m_logical) m_logical->stop();
}

PgMembershipLookup PostgresDatasource::tracked_table_lookup() const {
  return [this](const std::string& name) -> Result<PgTable> {
    std::shared_lock lock(m_schema_mutex);
    if (const PgTable* found = find_table(name)) return *found;
    return Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", name));
  };
}

const PgTable* PostgresDatasource::find_table(std::string_view name) const {
  auto it = m_tables.find(name);
  return it == m_tables.end() ? nullptr : &it->second;
}

PostgresDatasource::TableMap PostgresDatasource::read_tables(PgConnection& connection) {
  return usable_tables<PgTable>(tracked_table_names(connection), [&](const std::string& name) {
    return introspect(connection, name);
  });
}

void PostgresDatasource::commit_tables(PgTransaction& txn, TableMap tables) {
  // The capture thread looks tables up under this lock: holding it from before COMMIT until
  // the new set is in place, no change committed after this transaction is decoded without
  // its table, and no reader sees a set that did not commit.
  std::unique_lock lock(m_schema_mutex);
  txn.commit();
  // The capture threads hold `const PgTable*` from the lookup after the lock is released;
  // moving the map keeps its nodes where they are, so those pointers stay valid.
  m_retired_tables.push_back(std::move(m_tables));
  m_tables = std::move(tables);
}

void PostgresDatasource::install_capture(PgConnection& connection, const TableMap& tables) {
  std::vector<std::string> names;
  for (const auto& [name, table] : tables)
    names.push_back(name);
  for (const auto& name : names) {
    if (replica_identity(connection, name) != "f") set_replica_identity(connection, name, "f");
    if (m_options.capture == CaptureMode::trigger) install_capture_trigger(connection, name);
  }
  if (m_options.capture == CaptureMode::logical) sync_publication(connection, names);
}

std::vector<TableSchema> PostgresDatasource::tables() {
  std::shared_lock lock(m_schema_mutex);
  std::vector<TableSchema> result;
  for (const auto& [name, table] : m_tables)
    result.push_back(table.schema);
  return result;
}

// Tracking is all or nothing: the registry row, replica identity, triggers and publication
// change in one transaction, and the in-memory table set only when it commits.
Result<TableSchema> PostgresDatasource::track(std::string_view table) {
  std::string name(table);
  return run_on_writer([this, name](PgConnection& connection) -> Result<TableSchema> {
    auto introspected = introspect(connection, name);
    if (!introspected) return introspected.error();
    PgTransaction txn(connection);
    auto added = connection.exec(
        "INSERT INTO tandem.tracked_tables (name, previous_replica_identity) VALUES ($1, $2) "
        "ON CONFLICT (name) DO NOTHING RETURNING name",
        {name, replica_identity(connection, name)});
    auto tables = read_tables(connection);
    install_capture(connection, tables);
    commit_tables(txn, std::move(tables));
    try {
      follow_tracking(connection);
    } catch (const Error& error) {
      // Capture could not start (e.g. no free replication slot): a table tracked without it
      // would never send a change, so the tracking is undone.
      log::error("capture did not start; the table is not tracked",
                 {{"table", name}, {"error", std::string(error.message())}});
      if (added.rows() > 0) {
        if (auto undone = remove_tracking(connection, name); !undone) {
          log::error("cannot undo the tracking",
                     {{"table", name}, {"error", std::string(undone.error().message())}});
        }
      }
      throw;
    }
    log::info("table tracked", {{"table", name}, {"columns", introspected->schema.columns.size()}});
    return introspected->schema;
  });
}

Status PostgresDatasource::untrack(std::string_view table) {
  std::string name(table);
  return run_on_writer([this, name](PgConnection& connection) -> Status {
    auto removed = remove_tracking(connection, name);
    if (removed) log::info("table untracked", {{"table", name}});
    return removed;
  });
}

Status PostgresDatasource::remove_tracking(PgConnection& connection, const std::string& name) {
  PgTransaction txn(connection);
  auto removed = connection.exec(
      "DELETE FROM tandem.tracked_tables WHERE name = $1 RETURNING previous_replica_identity",
      {name});
  if (removed.rows() == 0)
    return Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", name));
  if (introspect(connection, name)) {
    drop_capture_trigger(connection, name);
    set_replica_identity(connection, name, std::string(removed.text(0, 0)));
  }
  auto tables = read_tables(connection);
  install_capture(connection, tables);
  commit_tables(txn, std::move(tables));
  follow_tracking(connection);
  return ok_status();
}

std::vector<TableSchema> PostgresDatasource::reload() {
  run_on_writer([this](PgConnection& connection) {
    PgTransaction txn(connection);
    auto tables = read_tables(connection);
    install_capture(connection, tables);
    commit_tables(txn, std::move(tables));
    // Prepared statements name columns; ALTER TABLE invalidates them.
    m_writer_connection =
        std::make_unique<PgConnection>(ConnectOptions{m_options.url, false, "tandem-writer"});
  });
  m_readers.clear();
  return tables();
}

Result<HardResetReport> PostgresDatasource::hard_reset(
    std::string_view table, std::function<void(std::uint64_t, std::uint64_t)> progress) {
  PgTable copy;
  {
    std::shared_lock lock(m_schema_mutex);
    const PgTable* found = find_table(table);
    if (!found) return Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", table));
    copy = *found;
  }
  SnapshotRequest whole_table;
  whole_table.table = &copy.schema;
  auto total = count_rows(whole_table);
  auto read_page = [this](const SnapshotRequest& request) { return read_snapshot(request); };
  auto log_rows = [&](std::vector<Row>& rows) {
    std::vector<CapturedChange> changes;
    for (auto& row : rows) {
      CapturedChange change;
      change.table = copy.schema.name;
      change.op = sync::Op::insert;
      change.new_row = std::move(row);
      change.stamp = sync::Stamp{};  // the zero stamp: every real write wins over it
      change.at_ms = now_millis();
      changes.push_back(std::move(change));
    }
    append_owned_by_capture(std::move(changes));
  };
  return log_table_in_chunks(copy.schema, total, read_page, log_rows, progress);
}

void PostgresDatasource::append_owned_by_capture(std::vector<CapturedChange> changes) {
  if (m_options.capture == CaptureMode::logical) {
    std::lock_guard lock(m_logical_mutex);
    if (!m_logical) throw Error(ErrorCode::unavailable, "logical capture is not running");
    m_logical->append(std::move(changes));
    return;
  }
  run_on_writer([this, &changes](PgConnection& connection) {
    PgTransaction txn(connection);
    auto lookup = [this](std::string_view name) -> const PgTable* {
      std::shared_lock lock(m_schema_mutex);
      return find_table(name);
    };
    auto records = record_changes(connection, lookup, m_clock, std::move(changes));
    auto last = append_changes(connection, m_last_seq, records);
    txn.commit();
    m_last_seq = last;
    log_head().publish(last);
  });
}

void PostgresDatasource::submit(PushRequest request, std::function<void(PushResult)> done) {
  m_queue.submit(std::move(request), std::move(done));
}

void PostgresDatasource::writer_loop() {
  auto wait = m_options.capture == CaptureMode::trigger ? m_options.poll_interval
                                                        : std::chrono::milliseconds(1000);
  WriterQueue<PgConnection>::Writer writer;
  writer.wait = [wait] { return wait; };
  writer.connect = [this]() -> PgConnection& {
    if (m_writer_connection->broken()) {
      m_writer_connection =
          std::make_unique<PgConnection>(ConnectOptions{m_options.url, false, "tandem-writer"});
    }
    return *m_writer_connection;
  };
  writer.apply = [this](PgConnection&, std::vector<PushJob>& pushes) {
    run_group_commit(
        pushes, [this](std::vector<PushJob>& group) { return apply_pushes(group); },
        [](const Error& error) { return error.code() == ErrorCode::unavailable; });
  };
  writer.after = [this](PgConnection& connection, bool pushed) {
    // A push's transaction moves the capture itself.
    if (!pushed && m_options.capture == CaptureMode::trigger) {
      PgTransaction txn(connection);
      move_capture(connection);
      txn.commit();
      log_head().publish(m_last_seq);
    }
    if (std::chrono::steady_clock::now() - m_last_prune > std::chrono::minutes(1)) {
      m_last_prune = std::chrono::steady_clock::now();
      prune_log(connection);
    }
  };
  m_queue.serve(writer);
}

std::vector<PushResult> PostgresDatasource::apply_pushes(std::vector<PushJob>& jobs) {
  if (m_logical) m_logical->barrier();
  try {
    return apply_in_transaction(jobs, true);
  } catch (const BatchFailed& failed) {
    if (failed.cause().code() == ErrorCode::unavailable) throw failed.cause();
    // A mutation the database refuses (a constraint) fails the whole batch: apply the group
    // again with a savepoint per mutation, so that it alone is refused.
    log::debug("batched push failed; applying it mutation by mutation",
               {{"error", std::string(failed.cause().message())}});
    return apply_in_transaction(jobs, false);
  }
}

std::vector<PushResult> PostgresDatasource::apply_in_transaction(std::vector<PushJob>& jobs,
                                                                 bool batched) {
  auto& connection = *m_writer_connection;
  // Log positions taken by a transaction that rolls back are given out again.
  auto last_seq = m_last_seq;
  try {
    std::vector<PushResult> results;
    PgTransaction txn(connection);
    if (m_options.capture == CaptureMode::trigger) move_capture(connection);
    // Only the writer thread changes m_tables, so it reads them without the lock here.
    auto lookup = [this](std::string_view name) { return find_table(name); };
    PgWriteTxn write(connection, lookup, m_options.capture,
                     [this, &connection] { ensure_folded(connection); });
    PushApplier applier(
        [this](std::string_view name) -> const TableSchema* {
          const PgTable* table = find_table(name);
          return table ? &table->schema : nullptr;
        },
        m_clock);
    if (batched) {
      std::vector<const PushRequest*> requests;
      requests.reserve(jobs.size());
      for (const auto& job : jobs)
        requests.push_back(&job.request);
      applier.prefetch(write, requests);
    }
    results.reserve(jobs.size());
    for (auto& job : jobs)
      results.push_back(applier.apply(write, job.request));
    write.flush();
    if (m_options.capture == CaptureMode::trigger) move_capture(connection);
    txn.commit();
    if (m_options.capture == CaptureMode::trigger) log_head().publish(m_last_seq);
    return results;
  } catch (...) {
    m_last_seq = last_seq;
    throw;
  }
}

void PostgresDatasource::ensure_folded(PgConnection& connection) {
  if (m_logical) {
    m_logical->barrier();
  } else {
    move_capture(connection);
  }
}

void PostgresDatasource::move_capture(PgConnection& connection) {
  auto lookup = [this](std::string_view name) { return find_table(name); };
  // The caller publishes the new head after its transaction commits: readers must never be
  // told about entries they cannot see yet.
  m_last_seq = move_captured(connection, lookup, m_clock, m_last_seq);
}

void PostgresDatasource::prune_log(PgConnection& connection) {
  auto hours = std::to_string(m_options.retention.count());
  auto pruned = connection.exec(
      "WITH gone AS (DELETE FROM tandem.changes WHERE logged_at < now() - make_interval(hours => "
      "$1::int) RETURNING seq) SELECT max(seq) FROM gone",
      {hours});
  if (!pruned.is_null(0, 0)) {
    write_meta(connection, "horizon_seq", std::string(pruned.text(0, 0)));
    log::info("change log pruned", {{"horizon_seq", std::string(pruned.text(0, 0))}});
  }
}

std::uint64_t PostgresDatasource::horizon_seq() {
  auto reader = m_readers.lease();
  auto value = read_meta(*reader, "horizon_seq");
  return value ? std::stoull(*value) : 0;
}

std::vector<sync::Change> PostgresDatasource::read_log(std::uint64_t after_seq, std::uint64_t,
                                                       std::size_t limit) {
  auto reader = m_readers.lease();
  return postgres::read_changes(*reader, after_seq, limit);
}

std::uint64_t PostgresDatasource::count_rows(const SnapshotRequest& request) {
  PgTable table;
  {
    std::shared_lock lock(m_schema_mutex);
    const PgTable* found = find_table(request.table->name);
    if (!found) return 0;
    table = *found;
  }
  Params params;
  auto sql = fmt::format("SELECT count(*) FROM {} AS t", quote_identifier(table.schema.name));
  if (request.filter.kind() != RowFilter::Kind::always)
    sql += " WHERE " + pg_filter_sql(request.filter, table, tracked_table_lookup(), params);
  auto reader = m_readers.lease();
  return static_cast<std::uint64_t>(reader->exec(sql, params).integer(0, 0));
}

SnapshotPage PostgresDatasource::read_snapshot(const SnapshotRequest& request) {
  PgTable table;
  {
    std::shared_lock lock(m_schema_mutex);
    const PgTable* found = find_table(request.table->name);
    if (!found) return SnapshotPage{{}, true};
    table = *found;
  }
  Params params;
  std::string where;
  if (request.filter.kind() != RowFilter::Kind::always)
    where += " WHERE " + pg_filter_sql(request.filter, table, tracked_table_lookup(), params);
  auto reader = m_readers.lease();
  // Qualified by the table alias: the select list casts every column to text under its own
  // name, and an unqualified ORDER BY would sort by that text (10 before 9).
  std::string key_list;
  for (const auto& column : table.schema.primary_key) {
    if (!key_list.empty()) key_list += ", ";
    key_list += "t." + quote_identifier(column);
  }
  if (request.after_key) {
    std::string after;
    for (std::size_t i = 0; i < table.schema.primary_key.size(); ++i) {
      const auto& column = table.schema.primary_key[i];
      params.push_back(to_param(table, column, (*request.after_key).at(i)));
      if (!after.empty()) after += ", ";
      after += fmt::format("${}::{}", params.size(), table.type_of(column).name);
    }
    where += fmt::format("{} ({}) > ({})", where.empty() ? " WHERE" : " AND", key_list, after);
  }
  auto sql =
      fmt::format("SELECT {} FROM {} AS t{} ORDER BY {} LIMIT {}", text_columns_sql(table, "t"),
                  quote_identifier(table.schema.name), where, key_list, request.limit + 1);
  auto result = reader->exec(sql, params);
  SnapshotPage page;
  int rows = result.rows();
  page.done = static_cast<std::size_t>(rows) <= request.limit;
  for (int row = 0; row < rows && static_cast<std::size_t>(row) < request.limit; ++row)
    page.rows.push_back(row_from_result(table, result, row, 0));
  return page;
}

Result<std::vector<Row>> PostgresDatasource::lookup_rows(std::string_view table_name,
                                                         std::string_view column,
                                                         const Value& value, std::size_t limit) {
  if (auto valid = check_identifier(column, "column"); !valid) return valid.error();
  auto reader = m_readers.lease();
  auto table = describe_table(*reader, std::string(table_name));
  if (!table) return table.error();
  if (!table->schema.has_column(column)) {
    return Error(ErrorCode::not_found,
                 fmt::format("table '{}' has no column '{}'", table_name, column));
  }
  auto sql = fmt::format("SELECT {} FROM {} AS t WHERE t.{} = $1::{} LIMIT {}",
                         text_columns_sql(*table, "t"), quote_identifier(table->schema.name),
                         quote_identifier(column), table->type_of(column).name, limit);
  auto result = reader->exec(sql, {to_param(*table, std::string(column), value)});
  std::vector<Row> rows;
  rows.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row)
    rows.push_back(row_from_result(*table, result, row, 0));
  return rows;
}

std::string PostgresDatasource::probe_and_describe() {
  auto reader = m_readers.lease();
  reader->exec("SELECT 1");
  auto detail = fmt::format("capture: {}", capture_mode_name(m_options.capture));
  std::lock_guard lock(m_logical_mutex);
  if (m_logical) detail += "; " + m_logical->describe(*reader);
  return detail;
}

sync::Hlc PostgresDatasource::max_clock() {
  auto reader = m_readers.lease();
  auto result = reader->exec(
      "SELECT max(hlc) FROM (SELECT hlc FROM tandem.changes ORDER BY seq DESC LIMIT 10000) recent");
  if (result.is_null(0, 0)) return sync::Hlc{};
  return sync::Hlc::parse(result.text(0, 0)).value_or(sync::Hlc{});
}

void PostgresDatasource::catch_up() {
  run_on_writer([this](PgConnection& connection) {
    if (m_logical) {
      m_logical->barrier();  // returns once the capture has logged every outside write
      return;
    }
    PgTransaction txn(connection);
    move_capture(connection);
    txn.commit();
    log_head().publish(m_last_seq);
  });
}

void PostgresDatasource::execute(const std::string& sql) {
  run_on_writer([&](PgConnection& connection) { connection.exec(sql); });
}

}  // namespace tandem::storage::postgres
