#include "storage/mysql/mysql_datasource.h"

#include <fmt/format.h>

#include <charconv>

#include "common/identifier.h"
#include "common/logging.h"
#include "storage/hard_reset.h"
#include "storage/mysql/mysql_change_log.h"
#include "storage/mysql/mysql_filter_sql.h"
#include "storage/mysql/mysql_rows.h"
#include "storage/push_applier.h"
#include "storage/tracked_tables.h"

namespace tandem::storage::mysql {
namespace {

std::string key_list(const TableSchema& schema) {
  std::string list;
  for (const auto& column : schema.primary_key) {
    if (!list.empty()) list += ", ";
    list += quote_name(column);
  }
  return list;
}

bool is_integer_kind(MysqlKind kind) {
  return kind == MysqlKind::integer || kind == MysqlKind::big_unsigned ||
         kind == MysqlKind::boolean || kind == MysqlKind::bit || kind == MysqlKind::year;
}

// MySQL compares a string with a number by converting the string ('abc' = 0 is true). For
// integer columns Tandem only lets integers, or text that is exactly an integer, match.
std::optional<Value> comparable(MysqlKind kind, const Value& value) {
  if (!is_integer_kind(kind) || value.kind() != Value::Kind::text) return param_for(kind, value);
  const auto& text = value.as_text();
  std::int64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return Value(number);
}

}  // namespace

// Reads are idempotent: a pooled connection that died while idle (a server restart,
// wait_timeout) costs one retry on a fresh connection instead of an error.
template <typename Fn>
auto MysqlDatasource::with_reader(Fn fn) {
  for (int attempt = 0;; ++attempt) {
    auto reader = m_readers.lease();
    try {
      return fn(*reader);
    } catch (const Error& error) {
      if (attempt > 0 || error.code() != ErrorCode::unavailable) throw;
    }
  }
}

MysqlDatasource::MysqlDatasource(MysqlSourceOptions options, sync::HlcClock& clock)
    : m_options(std::move(options)),
      m_clock(clock),
      m_readers([this] { return std::make_unique<MysqlConnection>(m_options.connect); }) {
  if (auto valid = check_identifier(m_options.events_table, "events table"); !valid)
    throw valid.error();
  m_writer_connection = std::make_unique<MysqlConnection>(m_options.connect);
  auto& writer = *m_writer_connection;
  create_tandem_tables(writer, m_options.events_table);
  auto tables = read_tables(writer);
  install_capture(writer, tables);
  set_tables(std::move(tables));
  m_last_seq = read_last_seq(writer);
  m_clock.advance_to(max_clock());
  // Events written while Tandem was down are logged before anyone reads.
  move_events_now(writer);
  log_head().publish(m_last_seq);
  log::info("mysql datasource ready", {{"database", m_options.connect.database},
                                       {"server", writer.server_version()},
                                       {"events_table", m_options.events_table},
                                       {"tables", m_tables.size()},
                                       {"head_seq", head_seq()}});
  m_writer = std::thread([this] { writer_loop(); });
}

MysqlDatasource::~MysqlDatasource() {
  close();
}

void MysqlDatasource::close() {
  m_queue.close();
  if (m_writer.joinable()) m_writer.join();
}

const MysqlTable* MysqlDatasource::find_table(std::string_view name) const {
  auto it = m_tables.find(name);
  return it == m_tables.end() ? nullptr : &it->second;
}

MysqlMembershipLookup MysqlDatasource::tracked_table_lookup() const {
  return [this](const std::string& name) { return table_copy(name); };
}

std::optional<MysqlTable> MysqlDatasource::table_copy(std::string_view name) const {
  std::shared_lock lock(m_schema_mutex);
  const MysqlTable* found = find_table(name);
  if (!found) return std::nullopt;
  return *found;
}

MysqlDatasource::TableMap MysqlDatasource::read_tables(MysqlConnection& connection) {
  return usable_tables<MysqlTable>(tracked_table_names(connection), [&](const std::string& name) {
    return introspect(connection, name);
  });
}

void MysqlDatasource::set_tables(TableMap tables) {
  std::unique_lock lock(m_schema_mutex);
  m_tables = std::move(tables);
}

void MysqlDatasource::install_capture(MysqlConnection& connection, const TableMap& tables) {
  for (const auto& [name, table] : tables)
    install_triggers(connection, table, m_options.events_table);
}

void MysqlDatasource::restore_triggers(MysqlConnection& connection, const std::string& name,
                                       const std::optional<MysqlTable>& previous) {
  try {
    if (previous) {
      install_triggers(connection, *previous, m_options.events_table);
    } else {
      drop_triggers(connection, name);
    }
  } catch (const Error& error) {
    log::error("mysql: cannot restore the capture triggers of a table",
               {{"table", name}, {"error", std::string(error.message())}});
  }
}

std::vector<TableSchema> MysqlDatasource::tables() {
  std::shared_lock lock(m_schema_mutex);
  std::vector<TableSchema> result;
  for (const auto& [name, table] : m_tables)
    result.push_back(table.schema);
  return result;
}

Result<TableSchema> MysqlDatasource::track(std::string_view table) {
  if (auto valid = check_identifier(table, "table"); !valid) return valid.error();
  if (table == m_options.events_table) {
    // Its triggers would write into the table that fires them: every write would fail.
    return Error(
        ErrorCode::invalid_identifier,
        fmt::format("'{}' is the events table (MYSQL_TABLE_TARGET); it cannot be tracked", table));
  }
  std::string name(table);
  return m_queue.run([this, name](MysqlConnection& connection) -> Result<TableSchema> {
    auto introspected = introspect(connection, name);
    if (!introspected) return introspected.error();
    // DDL commits at once in MySQL, so tracking is made all or nothing by undoing the steps
    // done when a later one fails; the table set changes last.
    auto previous = table_copy(name);
    bool registered = false;
    try {
      install_triggers(connection, *introspected, m_options.events_table);
      registered =
          connection
              .query("INSERT IGNORE INTO tandem_tracked_tables (name) VALUES (?)", {Value(name)})
              .affected_rows() > 0;
      set_tables(read_tables(connection));
    } catch (const Error&) {
      restore_triggers(connection, name, previous);
      if (registered) {
        connection.query("DELETE FROM tandem_tracked_tables WHERE name = ?", {Value(name)});
      }
      throw;
    }
    log::info("table tracked", {{"table", name}, {"columns", introspected->schema.columns.size()}});
    return introspected->schema;
  });
}

Status MysqlDatasource::untrack(std::string_view table) {
  std::string name(table);
  return m_queue.run([this, name](MysqlConnection& connection) -> Status {
    // Changes made before the untrack are still logged.
    move_events_now(connection);
    auto registered =
        connection.query("SELECT 1 FROM tandem_tracked_tables WHERE name = ?", {Value(name)});
    if (registered.rows() == 0)
      return Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", name));
    auto previous = table_copy(name);
    try {
      if (is_valid_identifier(name)) drop_triggers(connection, name);
      connection.query("DELETE FROM tandem_tracked_tables WHERE name = ?", {Value(name)});
    } catch (const Error&) {
      restore_triggers(connection, name, previous);
      throw;
    }
    set_tables(read_tables(connection));
    log::info("table untracked", {{"table", name}});
    return ok_status();
  });
}

std::vector<TableSchema> MysqlDatasource::reload() {
  m_queue.run([this](MysqlConnection& connection) {
    move_events_now(connection);
    auto tables = read_tables(connection);
    install_capture(connection, tables);
    set_tables(std::move(tables));
  });
  return tables();
}

Result<HardResetReport> MysqlDatasource::hard_reset(
    std::string_view table, std::function<void(std::uint64_t, std::uint64_t)> progress) {
  auto copy = table_copy(table);
  if (!copy) return Error(ErrorCode::not_found, fmt::format("table '{}' is not tracked", table));
  SnapshotRequest whole_table;
  whole_table.table = &copy->schema;
  auto total = count_rows(whole_table);
  auto read_page = [this](const SnapshotRequest& request) { return read_snapshot(request); };
  auto log_rows = [&](std::vector<Row>& rows) {
    std::vector<LogRecord> records;
    auto now = static_cast<std::int64_t>(sync::HlcClock::system_millis());
    for (auto& row : rows) {
      LogRecord record;
      record.table = copy->schema.name;
      record.op = sync::Op::insert;
      record.pk = copy->schema.key_row(row);
      record.row = std::move(row);
      record.stamp = sync::Stamp{};  // the zero stamp: every real write wins over it
      record.at_ms = now;
      records.push_back(std::move(record));
    }
    m_queue.run([this, &records](MysqlConnection& connection) {
      MysqlTransaction txn(connection);
      auto seq = append_changes(connection, lock_capture(connection), records);
      txn.commit();
      m_last_seq = seq;
      log_head().publish(seq);
    });
  };
  return log_table_in_chunks(copy->schema, total, read_page, log_rows, progress);
}

void MysqlDatasource::submit(PushRequest request, std::function<void(PushResult)> done) {
  m_queue.submit(std::move(request), std::move(done));
}

PushResult MysqlDatasource::refuse(MysqlConnection& connection, const PushRequest& request) {
  PushResult result;
  if (auto valid = check_client_id(request.client_id); !valid) {
    result.error = valid.error();
    return result;
  }
  for (const auto& item : request.mutations) {
    result.acked_seq = std::max(result.acked_seq, item.client_seq);
    MutationOutcome outcome;
    outcome.client_seq = item.client_seq;
    outcome.kind = MutationOutcome::Kind::rejected;
    outcome.code = ErrorCode::forbidden;
    outcome.message = std::string(kReadOnlyMessage);
    outcome.table = item.mutation.table;
    outcome.pk = item.mutation.pk;
    // The stored row, so that the client replaces its local version (the session shows it
    // only to a user who may read it).
    if (auto table = table_copy(item.mutation.table)) {
      std::string where;
      Params params;
      bool complete = true;
      for (const auto& column : table->schema.primary_key) {
        auto it = item.mutation.pk.find(column);
        auto value = it == item.mutation.pk.end() ? std::nullopt
                                                  : comparable(table->kind_of(column), it->second);
        if (!value) {
          complete = false;
          break;
        }
        where += fmt::format("{}{} = ?", where.empty() ? "" : " AND ", quote_name(column));
        params.push_back(*value);
      }
      if (complete) {
        try {
          auto found = connection.query(
              fmt::format("SELECT {} FROM {} WHERE {} LIMIT 1", row_json_sql(*table, ""),
                          quote_name(table->schema.name), where),
              params);
          if (found.rows() > 0)
            outcome.current_row = row_from_json_object(*table, found.text(0, 0));
        } catch (const Error& error) {
          log::warn("mysql: cannot read the row of a refused push",
                    {{"table", table->schema.name}, {"error", std::string(error.message())}});
        }
      }
    }
    result.exceptions.push_back(std::move(outcome));
  }
  return result;
}

void MysqlDatasource::writer_loop() {
  // Polls at a fixed rate: the time a move takes does not stretch the interval.
  auto next_poll = std::chrono::steady_clock::now();
  WriterQueue<MysqlConnection>::Writer writer;
  writer.wait = [&] {
    auto now = std::chrono::steady_clock::now();
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_poll - now);
    if (now >= next_poll) next_poll = now + m_options.poll_interval;
    return std::max(wait, std::chrono::milliseconds(0));
  };
  writer.connect = [this]() -> MysqlConnection& {
    if (m_writer_connection->broken())
      m_writer_connection = std::make_unique<MysqlConnection>(m_options.connect);
    return *m_writer_connection;
  };
  // Tandem does not write to a MySQL source: every push is answered with its refusal.
  writer.apply = [this](MysqlConnection& connection, std::vector<PushJob>& pushes) {
    for (auto& push : pushes) {
      PushResult result;
      try {
        result = refuse(connection, push.request);
      } catch (const Error& error) {
        result = failed_push(error);
      }
      push.done(std::move(result));
    }
  };
  writer.after = [this](MysqlConnection& connection, bool) {
    move_events_now(connection);
    if (std::chrono::steady_clock::now() - m_last_prune > std::chrono::minutes(1)) {
      m_last_prune = std::chrono::steady_clock::now();
      prune_log(connection);
    }
  };
  m_queue.serve(writer);
}

void MysqlDatasource::catch_up() {
  m_queue.run([this](MysqlConnection& connection) { move_events_now(connection); });
}

void MysqlDatasource::move_events_now(MysqlConnection& connection) {
  MoveOptions options;
  options.events_table = m_options.events_table;
  options.batch = m_options.batch;
  options.before_delete = m_options.before_delete;
  // Only the writer thread changes m_tables, so it reads them without the lock here.
  auto lookup = [this](std::string_view name) { return find_table(name); };
  auto outcome = move_events(connection, lookup, m_clock, m_last_seq, options);
  m_last_seq = outcome.last_seq;
  // Published after the commit: readers are never told about entries they cannot see.
  log_head().publish(m_last_seq);
}

void MysqlDatasource::prune_log(MysqlConnection& connection) {
  MysqlTransaction txn(connection);
  lock_capture(connection);
  auto hours = Value(static_cast<std::int64_t>(m_options.retention.count()));
  auto horizon = connection.query(
      "SELECT MAX(seq) FROM tandem_changes WHERE logged_at < NOW(3) - INTERVAL ? HOUR", {hours});
  if (horizon.is_null(0, 0)) return;
  auto seq = horizon.integer(0, 0);
  // The newest entry always stays, so that the log's last position survives a restart.
  auto last = read_last_seq(connection);
  if (static_cast<std::uint64_t>(seq) >= last) seq = static_cast<std::int64_t>(last) - 1;
  if (seq <= 0) return;
  connection.query("DELETE FROM tandem_changes WHERE seq <= ?", {Value(seq)});
  write_meta(connection, "horizon_seq", std::to_string(seq));
  txn.commit();
  log::info("change log pruned", {{"horizon_seq", seq}});
}

std::uint64_t MysqlDatasource::horizon_seq() {
  auto value =
      with_reader([](MysqlConnection& reader) { return read_meta(reader, "horizon_seq"); });
  return value ? std::stoull(*value) : 0;
}

std::vector<sync::Change> MysqlDatasource::read_log(std::uint64_t after_seq, std::uint64_t,
                                                    std::size_t limit) {
  return with_reader(
      [&](MysqlConnection& reader) { return mysql::read_changes(reader, after_seq, limit); });
}

std::uint64_t MysqlDatasource::count_rows(const SnapshotRequest& request) {
  auto table = table_copy(request.table->name);
  if (!table) return 0;
  return with_reader([&](MysqlConnection& reader) {
    Params params;
    auto sql = fmt::format("SELECT COUNT(*) FROM {} AS t", quote_name(table->schema.name));
    if (request.filter.kind() != RowFilter::Kind::always)
      sql += " WHERE " + mysql_filter_sql(request.filter, *table, tracked_table_lookup(), params);
    return static_cast<std::uint64_t>(reader.query(sql, params).integer(0, 0));
  });
}

SnapshotPage MysqlDatasource::read_snapshot(const SnapshotRequest& request) {
  auto table = table_copy(request.table->name);
  if (!table) return SnapshotPage{{}, true};
  auto result = with_reader([&](MysqlConnection& reader) {
    Params params;
    std::string where;
    if (request.filter.kind() != RowFilter::Kind::always)
      where += " WHERE " + mysql_filter_sql(request.filter, *table, tracked_table_lookup(), params);
    const auto& key = table->schema.primary_key;
    if (request.after_key) {
      std::string markers;
      for (std::size_t i = 0; i < key.size(); ++i) {
        params.push_back(param_for(table->kind_of(key[i]), request.after_key->at(i)));
        markers += i == 0 ? "?" : ", ?";
      }
      where += fmt::format("{} ({}) > ({})", where.empty() ? " WHERE" : " AND",
                           key_list(table->schema), markers);
    }
    auto sql = fmt::format("SELECT {} FROM {} AS t{} ORDER BY {} LIMIT {}",
                           row_json_sql(*table, ""), quote_name(table->schema.name), where,
                           key_list(table->schema), request.limit + 1);
    return reader.query(sql, params);
  });
  SnapshotPage page;
  page.done = result.rows() <= request.limit;
  for (std::size_t row = 0; row < result.rows() && row < request.limit; ++row)
    page.rows.push_back(row_from_json_object(*table, result.text(row, 0)));
  return page;
}

Result<std::vector<Row>> MysqlDatasource::lookup_rows(std::string_view table,
                                                      std::string_view column, const Value& value,
                                                      std::size_t limit) {
  if (auto valid = check_identifier(table, "table"); !valid) return valid.error();
  if (auto valid = check_identifier(column, "column"); !valid) return valid.error();
  return with_reader([&](MysqlConnection& reader) -> Result<std::vector<Row>> {
    auto introspected = introspect(reader, std::string(table), /*require_primary_key=*/false);
    if (!introspected) return introspected.error();
    if (!introspected->schema.has_column(column)) {
      return Error(ErrorCode::not_found,
                   fmt::format("table '{}' has no column '{}'", table, column));
    }
    auto bound = comparable(introspected->kind_of(column), value);
    if (!bound) return std::vector<Row>{};
    auto result = reader.query(
        fmt::format("SELECT {} FROM {} WHERE {} = ? LIMIT {}", row_json_sql(*introspected, ""),
                    quote_name(table), quote_name(column), limit),
        {*bound});
    std::vector<Row> rows;
    for (std::size_t row = 0; row < result.rows(); ++row)
      rows.push_back(row_from_json_object(*introspected, result.text(row, 0)));
    return rows;
  });
}

std::string MysqlDatasource::probe_and_describe() {
  auto pending = with_reader([&](MysqlConnection& reader) {
    return reader.exec(fmt::format("SELECT COUNT(*) FROM {}", quote_name(m_options.events_table)))
        .integer(0, 0);
  });
  return fmt::format("capture: triggers into `{}` polled every {} ms; {} pending",
                     m_options.events_table, m_options.poll_interval.count(), pending);
}

sync::Hlc MysqlDatasource::max_clock() {
  auto result = with_reader([](MysqlConnection& reader) {
    return reader.exec(
        "SELECT MAX(hlc) FROM (SELECT hlc FROM tandem_changes ORDER BY seq DESC LIMIT 10000) "
        "recent");
  });
  if (result.is_null(0, 0)) return sync::Hlc{};
  return sync::Hlc::parse(result.text(0, 0)).value_or(sync::Hlc{});
}

void MysqlDatasource::execute(const std::string& sql) {
  m_queue.run([&](MysqlConnection& connection) { connection.exec(sql); });
}

}  // namespace tandem::storage::mysql
