#include "storage/sqlite/sqlite_datasource.h"

#include <fmt/format.h>

#include "common/identifier.h"
#include "common/logging.h"
#include "common/thread_role.h"
#include "storage/change_log_codec.h"
#include "storage/group_commit.h"
#include "storage/hard_reset.h"
#include "storage/push_applier.h"
#include "storage/sqlite/sqlite_filter_sql.h"
#include "storage/sqlite/sqlite_schema.h"
#include "storage/sqlite/sqlite_write_txn.h"
#include "sync/row_state_codec.h"

namespace tandem::storage::sqlite {

class SqliteDatasource::ReaderLease {
 public:
  ReaderLease(SqliteDatasource& owner, Reader reader)
      : m_owner(owner), m_reader(std::move(reader)) {}
  ReaderLease(ReaderLease&&) = default;
  ~ReaderLease() {
    if (!m_reader.connection) return;
    std::lock_guard lock(m_owner.m_readers_mutex);
    m_owner.m_idle_readers.push_back(std::move(m_reader));
  }
  SqliteConnection& operator*() { return *m_reader.connection; }
  SqliteConnection* operator->() { return m_reader.connection.get(); }

 private:
  SqliteDatasource& m_owner;
  Reader m_reader;
};

namespace {

std::int64_t now_millis() {
  return static_cast<std::int64_t>(sync::HlcClock::system_millis());
}

}  // namespace

SqliteDatasource::SqliteDatasource(SqliteOptions options, sync::HlcClock& clock)
    : m_options(std::move(options)), m_clock(clock), m_queue(m_options.max_group_commit) {
  m_writer_connection =
      std::make_unique<SqliteConnection>(m_options.path, SqliteConnection::Mode::read_write);
  auto& writer = *m_writer_connection;
  writer.exec("PRAGMA journal_mode=WAL");
  writer.exec(m_options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  sqlite::create_tandem_tables(writer);
  {
    SqliteTransaction txn(writer);
    SqliteWriteTxn(writer).clear_write_context();  // a crash may have left one behind
    commit_tables(txn, install_all(writer));
  }
  m_poll_connection =
      std::make_unique<SqliteConnection>(m_options.path, SqliteConnection::Mode::read_only);
  refresh_head(writer);
  m_clock.advance_to(max_clock());
  m_writer = std::thread([this] { writer_loop(); });
}

SqliteDatasource::~SqliteDatasource() {
  close();
}

void SqliteDatasource::close() {
  m_queue.close();
  if (m_writer.joinable()) m_writer.join();
}

SqliteDatasource::TableMap SqliteDatasource::install_all(SqliteConnection& connection) {
  std::vector<std::string> names;
  auto& list = connection.cached("SELECT name FROM tandem_tracked_tables ORDER BY name");
  while (list.step())
    names.push_back(list.column_text(0));
  TableMap tables;
  for (const auto& name : names) {
    auto schema = sqlite::introspect(connection, name);
    if (!schema) {
      log::warn("tracked table is unusable; it is skipped until fixed",
                {{"table", name}, {"reason", schema.error().message()}});
      continue;
    }
    sqlite::install_capture(connection, *schema);
    tables.emplace(name, std::move(*schema));
  }
  connection.clear_cache();
  return tables;
}

void SqliteDatasource::commit_tables(SqliteTransaction& txn, TableMap tables) {
  txn.commit();
  std::unique_lock lock(m_schema_mutex);
  m_tables = std::move(tables);
  ++m_schema_version;
}

std::vector<TableSchema> SqliteDatasource::tables() {
  std::shared_lock lock(m_schema_mutex);
  std::vector<TableSchema> result;
  for (const auto& [name, schema] : m_tables)
    result.push_back(schema);
  return result;
}

Result<TableSchema> SqliteDatasource::track(std::string_view table) {
  std::string name(table);
  return run_on_writer([this, name](SqliteConnection& connection) -> Result<TableSchema> {
    auto schema = sqlite::introspect(connection, name);
    if (!schema) return schema.error();
    SqliteTransaction txn(connection);
    auto& insert = connection.cached(
        "INSERT INTO tandem_tracked_tables(name, added_at_ms) VALUES (?1, ?2) "
        "ON CONFLICT(name) DO NOTHING");
    insert.bind_text(1, name);
    insert.bind_int(2, now_millis());
    insert.run();
    commit_tables(txn, install_all(connection));
    log::info("table tracked", {{"table", name}, {"columns", schema->columns.size()}});
    return schema;
  });
}

Status SqliteDatasource::untrack(std::string_view table) {
  std::string name(table);
  return run_on_writer([this, name](SqliteConnection& connection) -> Status {
    SqliteTransaction txn(connection);
    auto& remove = connection.cached("DELETE FROM tandem_tracked_tables WHERE name = ?1");
    remove.bind_text(1, name);
    remove.run();
    if (connection.changes() == 0) {
      return Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", name));
    }
    if (is_valid_identifier(name)) sqlite::drop_capture(connection, name);
    commit_tables(txn, install_all(connection));
    log::info("table untracked", {{"table", name}});
    return ok_status();
  });
}

std::vector<TableSchema> SqliteDatasource::reload() {
  run_on_writer([this](SqliteConnection& connection) {
    SqliteTransaction txn(connection);
    commit_tables(txn, install_all(connection));
  });
  return tables();
}

namespace {

std::string key_params(std::size_t count, std::size_t first) {
  std::string params;
  for (std::size_t i = 0; i < count; ++i)
    params += fmt::format("{}?{}", i > 0 ? ", " : "", first + i);
  return params;
}

}  // namespace

Result<HardResetReport> SqliteDatasource::hard_reset(
    std::string_view table, std::function<void(std::uint64_t, std::uint64_t)> progress) {
  std::string name(table);
  {
    std::shared_lock lock(m_schema_mutex);
    if (!m_tables.contains(name)) {
      return Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", name));
    }
  }
  auto total = run_on_writer([&](SqliteConnection& connection) {
    auto& count = connection.cached(fmt::format("SELECT count(*) FROM {}", quote_identifier(name)));
    count.step();
    auto rows = static_cast<std::uint64_t>(count.column_int(0));
    count.reset();
    return rows;
  });
  if (progress) progress(0, total);
  // Keyset pagination over the primary key, one transaction per chunk. Rows written between
  // chunks are captured by the triggers anyway; logging one of them again at the zero stamp
  // is harmless, since every real write wins over it.
  std::optional<std::vector<Value>> after;
  std::uint64_t done = 0;
  for (;;) {
    struct Chunk {
      std::uint64_t rows = 0;
      std::optional<std::vector<Value>> last;  // none: the table's end was reached
    };
    auto chunk = run_on_writer([&](SqliteConnection& connection) -> Result<Chunk> {
      // The writer thread is the only one that changes m_tables, so it may read unlocked;
      // each chunk uses the schema as it is now (a reload may have added a column).
      auto found = m_tables.find(name);
      if (found == m_tables.end()) {
        return Error(ErrorCode::not_found,
                     fmt::format("table '{}' was untracked during its hard reset", name));
      }
      const auto& schema = found->second;
      const auto key_count = schema.primary_key.size();
      std::string keys;
      for (const auto& column : schema.primary_key)
        keys += (keys.empty() ? "" : ", ") + quote_identifier(column);
      auto after_sql = after ? fmt::format("({}) > ({})", keys, key_params(key_count, 1)) : "";
      Chunk result;
      auto& bound =
          connection.cached(fmt::format("SELECT {} FROM {}{}{} ORDER BY {} LIMIT 1 OFFSET {}", keys,
                                        quote_identifier(name), after ? " WHERE " : "", after_sql,
                                        keys, static_cast<std::int64_t>(kHardResetChunkRows) - 1));
      for (std::size_t i = 0; after && i < key_count; ++i)
        bound.bind(static_cast<int>(i) + 1, (*after)[i]);
      if (bound.step()) {
        result.last.emplace();
        for (std::size_t i = 0; i < key_count; ++i)
          result.last->push_back(bound.column(static_cast<int>(i)));
      }
      bound.reset();
      std::vector<std::string> conditions;
      if (after) conditions.push_back(after_sql);
      if (result.last) {
        conditions.push_back(
            fmt::format("({}) <= ({})", keys, key_params(key_count, key_count + 1)));
      }
      std::string where;
      for (const auto& condition : conditions)
        where += (where.empty() ? " WHERE " : " AND ") + condition;
      SqliteTransaction txn(connection);
      auto& copy = connection.cached(fmt::format(
          "INSERT INTO tandem_changes(tbl, op, pk, row, old, hlc, node, at_ms) "
          "SELECT '{}', 'insert', {}, {}, NULL, '{}', '', {} FROM {} AS t{} ORDER BY {}",
          name, sqlite::key_json_sql(schema, "t"), sqlite::row_json_sql(schema, "t"),
          sync::Hlc{}.to_string(), sqlite::kNowMillisSql, quote_identifier(name), where, keys));
      for (std::size_t i = 0; after && i < key_count; ++i)
        copy.bind(static_cast<int>(i) + 1, (*after)[i]);
      for (std::size_t i = 0; result.last && i < key_count; ++i)
        copy.bind(static_cast<int>(key_count + i) + 1, (*result.last)[i]);
      copy.run();
      result.rows = static_cast<std::uint64_t>(connection.changes());
      copy.reset();
      txn.commit();
      refresh_head(connection);
      return result;
    });
    if (!chunk) return chunk.error();
    done += chunk->rows;
    total = std::max(total, done);
    if (!chunk->last) break;
    if (progress) progress(done, total);
    after = std::move(chunk->last);
  }
  if (progress) progress(done, done);
  log::info("hard reset", {{"table", name}, {"rows", done}});
  return HardResetReport{done};
}

void SqliteDatasource::submit(PushRequest request, std::function<void(PushResult)> done) {
  m_queue.submit(std::move(request), std::move(done));
}

void SqliteDatasource::writer_loop() {
  WriterQueue<SqliteConnection>::Writer writer;
  writer.wait = [] { return std::chrono::milliseconds(1000); };
  writer.connect = [this]() -> SqliteConnection& { return *m_writer_connection; };
  writer.apply = [this](SqliteConnection&, std::vector<PushJob>& pushes) {
    run_group_commit(pushes, [this](std::vector<PushJob>& group) { return apply_pushes(group); });
  };
  writer.after = [this](SqliteConnection& connection, bool) {
    if (std::chrono::steady_clock::now() - m_last_prune > std::chrono::minutes(1)) {
      m_last_prune = std::chrono::steady_clock::now();
      prune_log(connection);
    }
  };
  m_queue.serve(writer);
}

std::vector<PushResult> SqliteDatasource::apply_pushes(std::vector<PushJob>& jobs) {
  auto& connection = *m_writer_connection;
  std::vector<PushResult> results;
  results.reserve(jobs.size());
  SqliteTransaction txn(connection);
  fold_external_changes(connection);
  SqliteWriteTxn write(connection);
  PushApplier applier(
      [this](std::string_view name) -> const TableSchema* {
        // The writer thread is the only one that changes m_tables, so it may read unlocked.
        auto it = m_tables.find(name);
        return it == m_tables.end() ? nullptr : &it->second;
      },
      m_clock);
  for (auto& job : jobs)
    results.push_back(applier.apply(write, job.request));
  write.clear_write_context();
  txn.commit();
  refresh_head(connection);
  return results;
}

void SqliteDatasource::fold_external_changes(SqliteConnection& connection) {
  auto& pending = connection.cached(
      "SELECT seq, tbl, op, pk, row, old FROM tandem_changes WHERE hlc IS NULL ORDER BY seq");
  struct Pending {
    std::uint64_t seq;
    std::string table, op, pk, row;
    std::optional<std::string> old;
  };
  std::vector<Pending> entries;
  while (pending.step()) {
    entries.push_back(
        Pending{static_cast<std::uint64_t>(pending.column_int(0)), pending.column_text(1),
                pending.column_text(2), pending.column_text(3), pending.column_text(4),
                pending.column_is_null(5) ? std::nullopt : std::optional(pending.column_text(5))});
  }
  if (entries.empty()) return;
  SqliteWriteTxn write(connection);
  auto& stamp_entry =
      connection.cached("UPDATE tandem_changes SET hlc = ?1, node = ?2 WHERE seq = ?3");
  for (const auto& entry : entries) {
    // Stamped now, by this server's clock: later than every write the server has seen, as
    // the outside write really is.
    sync::Stamp stamp{m_clock.now(), std::string(kDatabaseNode)};
    LogEntry log_entry{
        entry.seq, entry.table,
        entry.op,  entry.pk,
        entry.row, entry.old ? std::optional<std::string_view>(*entry.old) : std::nullopt,
        "",        "",
        0};
    for (auto& change : decode_log_entry(log_entry)) {
      change.stamp = stamp;
      auto key_text = sync::encode_key([&] {
        std::vector<Value> key;
        for (const auto& [column, value] : change.pk)
          key.push_back(value);
        return key;
      }());
      // Key order in change.pk is by column name; the metadata key needs primary-key order.
      {
        std::shared_lock lock(m_schema_mutex);
        if (auto it = m_tables.find(change.table); it != m_tables.end()) {
          key_text = sync::encode_key(it->second.key_of(change.pk));
        }
      }
      auto state = write.load_metadata(change.table, key_text);
      if (!state) {
        // No history: an update or delete touches a row that existed before tracking.
        state = change.op == sync::Op::insert ? sync::RowState{} : sync::RowState::preexisting({});
      }
      sync::merge(*state, mutation_of(change));
      write.save_metadata(change.table, key_text, *state);
    }
    stamp_entry.bind_text(1, stamp.hlc.to_string());
    stamp_entry.bind_text(2, stamp.node);
    stamp_entry.bind_int(3, static_cast<std::int64_t>(entry.seq));
    stamp_entry.run();
  }
  log::debug("folded outside writes", {{"changes", entries.size()}});
}

std::uint64_t SqliteDatasource::latest_seq(SqliteConnection& connection) {
  auto& latest = connection.cached("SELECT coalesce(max(seq), 0) FROM tandem_changes");
  latest.step();
  auto value = static_cast<std::uint64_t>(latest.column_int(0));
  latest.reset();
  return value;
}

void SqliteDatasource::refresh_head(SqliteConnection& connection) {
  auto& head = connection.cached(
      "SELECT coalesce((SELECT min(seq) - 1 FROM tandem_changes WHERE hlc IS NULL), "
      "(SELECT max(seq) FROM tandem_changes), 0)");
  head.step();
  auto value = static_cast<std::uint64_t>(head.column_int(0));
  head.reset();
  auto& horizon = connection.cached("SELECT value FROM tandem_meta WHERE key = 'horizon_seq'");
  std::uint64_t horizon_value = horizon.step() ? std::stoull(horizon.column_text(0)) : 0;
  horizon.reset();
  m_horizon.store(horizon_value, std::memory_order_release);
  log_head().publish(value);
}

void SqliteDatasource::prune_log(SqliteConnection& connection) {
  auto cutoff = now_millis() -
                std::chrono::duration_cast<std::chrono::milliseconds>(m_options.retention).count();
  std::uint64_t head = head_seq();
  SqliteTransaction txn(connection);
  auto& last = connection.cached(
      "SELECT max(seq) FROM tandem_changes WHERE at_ms < ?1 AND seq <= ?2 AND hlc IS NOT NULL");
  last.bind_int(1, cutoff);
  last.bind_int(2, static_cast<std::int64_t>(head));
  std::optional<std::int64_t> through;
  if (last.step() && !last.column_is_null(0)) through = last.column_int(0);
  last.reset();
  if (!through) return;
  auto& remove = connection.cached("DELETE FROM tandem_changes WHERE seq <= ?1");
  remove.bind_int(1, *through);
  remove.run();
  auto& horizon = connection.cached(
      "INSERT INTO tandem_meta(key, value) VALUES ('horizon_seq', ?1) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  horizon.bind_text(1, std::to_string(*through));
  horizon.run();
  txn.commit();
  refresh_head(connection);
  log::info("change log pruned", {{"through_seq", *through}});
}

std::uint64_t SqliteDatasource::horizon_seq() {
  return m_horizon.load(std::memory_order_acquire);
}

std::uint64_t SqliteDatasource::wait_for_changes(std::uint64_t after_seq,
                                                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto slice = std::min(deadline, std::chrono::steady_clock::now() + m_options.poll_interval);
    if (auto head = log_head().wait_after(after_seq, slice); head > after_seq) return head;
    // Another program may have written the file: data_version changes when another
    // connection commits. Its changes are unstamped until the writer folds them.
    auto& version = m_poll_connection->cached("PRAGMA data_version");
    version.step();
    auto current = version.column_int(0);
    version.reset();
    if (current != m_last_data_version || m_fold_failed.exchange(false)) {
      m_last_data_version = current;
      auto& unstamped =
          m_poll_connection->cached("SELECT 1 FROM tandem_changes WHERE hlc IS NULL LIMIT 1");
      bool has_unstamped = unstamped.step();
      unstamped.reset();
      try {
        if (has_unstamped) {
          m_queue.post([this](SqliteConnection& connection) {
            try {
              SqliteTransaction txn(connection);
              fold_external_changes(connection);
              txn.commit();
              refresh_head(connection);
            } catch (const Error&) {
              m_fold_failed = true;  // the next poll tries again
              throw;
            }
          });
        } else if (latest_seq(*m_poll_connection) > head_seq()) {
          // Stamped entries another process logged (`tandem tables reset` on the file).
          m_queue.post([this](SqliteConnection& connection) { refresh_head(connection); });
        }
      } catch (const Error&) {
        return head_seq();  // closing
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) return head_seq();
  }
}

SqliteDatasource::ReaderLease SqliteDatasource::lease_reader() {
  expect_may_block("a database reader connection");
  Reader reader;
  {
    std::lock_guard lock(m_readers_mutex);
    if (!m_idle_readers.empty()) {
      reader = std::move(m_idle_readers.back());
      m_idle_readers.pop_back();
    }
  }
  if (!reader.connection) {
    reader.connection =
        std::make_unique<SqliteConnection>(m_options.path, SqliteConnection::Mode::read_only);
  }
  // Statements cached before a schema change may name columns that no longer exist.
  auto current = m_schema_version.load();
  if (reader.schema_version != current) {
    reader.connection->clear_cache();
    reader.schema_version = current;
  }
  return ReaderLease(*this, std::move(reader));
}

std::vector<sync::Change> SqliteDatasource::read_log(std::uint64_t after_seq, std::uint64_t head,
                                                     std::size_t limit) {
  std::vector<sync::Change> changes;
  auto reader = lease_reader();
  auto& statement = reader->cached(
      "SELECT seq, tbl, op, pk, row, old, hlc, node, at_ms FROM tandem_changes "
      "WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3");
  statement.bind_int(1, static_cast<std::int64_t>(after_seq));
  statement.bind_int(2, static_cast<std::int64_t>(head));
  statement.bind_int(3, static_cast<std::int64_t>(limit));
  while (statement.step()) {
    auto table = statement.column_text(1);
    auto op = statement.column_text(2);
    auto pk = statement.column_text(3);
    auto row = statement.column_text(4);
    std::optional<std::string> old;
    if (!statement.column_is_null(5)) old = statement.column_text(5);
    auto hlc = statement.column_text(6);
    auto node = statement.column_text(7);
    LogEntry entry{static_cast<std::uint64_t>(statement.column_int(0)),
                   table,
                   op,
                   pk,
                   row,
                   old ? std::optional<std::string_view>(*old) : std::nullopt,
                   hlc,
                   node,
                   statement.column_int(8)};
    for (auto& change : decode_log_entry(entry))
      changes.push_back(std::move(change));
  }
  statement.reset();
  return changes;
}

std::uint64_t SqliteDatasource::count_rows(const SnapshotRequest& request) {
  auto reader = lease_reader();
  auto sql = fmt::format("SELECT count(*) FROM {} AS t", quote_identifier(request.table->name));
  if (request.filter.kind() == RowFilter::Kind::always) {
    auto& statement = reader->cached(sql);
    std::uint64_t count = 0;
    if (statement.step()) count = static_cast<std::uint64_t>(statement.column_int(0));
    statement.reset();
    return count;
  }
  auto filter = sqlite_filter_sql(request.filter, *request.table, *reader, 1);
  // Not cached: filters vary with rules and readers, and the cache is never trimmed.
  auto statement = reader->prepare(sql + " WHERE " + filter.condition);
  for (std::size_t i = 0; i < filter.params.size(); ++i)
    statement->bind(static_cast<int>(i) + 1, filter.params[i]);
  std::uint64_t count = 0;
  if (statement->step()) count = static_cast<std::uint64_t>(statement->column_int(0));
  statement->reset();
  return count;
}

SnapshotPage SqliteDatasource::read_snapshot(const SnapshotRequest& request) {
  const TableSchema& table = *request.table;
  auto reader = lease_reader();
  bool filtered = request.filter.kind() != RowFilter::Kind::always;
  SqliteFilterSql filter;
  if (filtered) filter = sqlite_filter_sql(request.filter, table, *reader, 1);
  int first_key = static_cast<int>(filter.params.size()) + 1;
  std::string columns;
  for (const auto& column : table.columns) {
    if (!columns.empty()) columns += ", ";
    columns += quote_identifier(column.name);
  }
  std::string key_list;
  std::string key_params;
  for (std::size_t i = 0; i < table.primary_key.size(); ++i) {
    if (i > 0) {
      key_list += ", ";
      key_params += ", ";
    }
    key_list += quote_identifier(table.primary_key[i]);
    key_params += fmt::format("?{}", first_key + static_cast<int>(i));
  }
  std::vector<std::string> conditions;
  if (filtered) conditions.push_back(filter.condition);
  if (request.after_key) conditions.push_back(fmt::format("({}) > ({})", key_list, key_params));
  std::string where;
  for (const auto& condition : conditions)
    where += (where.empty() ? " WHERE " : " AND ") + condition;
  auto sql = fmt::format("SELECT {} FROM {} AS t{} ORDER BY {} LIMIT {}", columns,
                         quote_identifier(table.name), where, key_list, request.limit + 1);

  // Not cached when filtered: filters vary with rules and readers, and the cache is never
  // trimmed.
  std::unique_ptr<SqliteStatement> one_off;
  if (filtered) one_off = reader->prepare(sql);
  auto& statement = filtered ? *one_off : reader->cached(sql);
  for (std::size_t i = 0; i < filter.params.size(); ++i)
    statement.bind(static_cast<int>(i) + 1, filter.params[i]);
  if (request.after_key) {
    for (std::size_t i = 0; i < request.after_key->size(); ++i) {
      statement.bind(first_key + static_cast<int>(i), (*request.after_key)[i]);
    }
  }
  SnapshotPage page;
  page.done = true;
  while (statement.step()) {
    if (page.rows.size() == request.limit) {
      page.done = false;
      break;
    }
    Row row;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      row.emplace(table.columns[i].name, statement.column(static_cast<int>(i)));
    }
    page.rows.push_back(std::move(row));
  }
  statement.reset();
  return page;
}

Result<std::vector<Row>> SqliteDatasource::lookup_rows(std::string_view table,
                                                       std::string_view column, const Value& value,
                                                       std::size_t limit) {
  if (auto valid = check_identifier(table, "table"); !valid) return valid.error();
  if (auto valid = check_identifier(column, "column"); !valid) return valid.error();
  auto reader = lease_reader();
  auto described = sqlite::introspect_columns(*reader, std::string(table));
  if (!described) return described.error();
  if (!described->has_column(column)) {
    return Error(ErrorCode::not_found, fmt::format("table '{}' has no column '{}'", table, column));
  }
  auto& statement =
      reader->cached(fmt::format("SELECT * FROM {} WHERE {} = ?1 LIMIT {}", quote_identifier(table),
                                 quote_identifier(column), limit));
  statement.bind(1, value);
  std::vector<Row> rows;
  while (statement.step()) {
    Row row;
    for (int i = 0; i < statement.column_count(); ++i)
      row.emplace(statement.column_name(i), statement.column(i));
    rows.push_back(std::move(row));
  }
  statement.reset();
  return rows;
}

std::string SqliteDatasource::probe_and_describe() {
  auto reader = lease_reader();
  reader->cached("SELECT 1").step();
  return m_options.path;
}

sync::Hlc SqliteDatasource::max_clock() {
  auto reader = lease_reader();
  auto& statement = reader->cached("SELECT max(hlc) FROM tandem_changes");
  sync::Hlc result;
  if (statement.step() && !statement.column_is_null(0)) {
    result = sync::Hlc::parse(statement.column_text(0)).value_or(sync::Hlc{});
  }
  statement.reset();
  return result;
}

void SqliteDatasource::catch_up() {
  run_on_writer([this](SqliteConnection& connection) {
    SqliteTransaction txn(connection);
    fold_external_changes(connection);
    txn.commit();
    refresh_head(connection);
  });
}

void SqliteDatasource::execute(const std::string& sql) {
  run_on_writer([&](SqliteConnection& connection) { connection.exec(sql); });
}

}  // namespace tandem::storage::sqlite
