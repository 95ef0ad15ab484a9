#include "storage/postgres/pg_logical_capture.h"

#include <fmt/format.h>
#include <poll.h>

#include <map>
#include <random>

#include "common/logging.h"
#include "common/thread_role.h"
#include "storage/postgres/pg_change_log.h"
#include "storage/postgres/pg_schema.h"
#include "storage/postgres/pgoutput.h"

namespace tandem::storage::postgres {
namespace {

constexpr const char* kBarrierPrefix = "tandem-barrier";
constexpr std::size_t kMaxPendingChanges = 5000;

std::int64_t micros_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t to_unix_millis(PgTimestamp time) {
  return (time + kPgEpochUnixMicros) / 1000;
}

// A relation as the stream last described it, with each streamed column's position in
// the tracked table (or -1 for a column the table does not have any more/yet).
struct StreamRelation {
  std::string name;
  std::vector<std::string> columns;
};

}  // namespace

// One replication session: the connection, the decoder state, the pending batch.
class LogicalCapture::Stream {
 public:
  Stream(LogicalCapture& owner) : m_owner(owner) {}

  void run() {
    m_sql = std::make_unique<PgConnection>(
        ConnectOptions{m_owner.m_options.url, false, "tandem-capture"});
    m_last_seq = read_last_seq(*m_sql);
    auto stored = read_meta(*m_sql, "capture_lsn");
    m_applied_lsn = stored ? parse_lsn(*stored).value_or(0) : 0;
    ensure_slot();
    m_replication = std::make_unique<PgConnection>(
        ConnectOptions{m_owner.m_options.url, true, "tandem-capture-stream"});
    auto start = fmt::format(
        "START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names '{}', "
        "messages 'true')",
        quote_identifier_for_slot(m_owner.m_options.slot), format_lsn(m_applied_lsn), kPublication);
    m_replication->exec(start);
    log::info("logical capture streaming", {{"slot", m_owner.m_options.slot},
                                            {"from_lsn", format_lsn(m_applied_lsn)},
                                            {"last_seq", m_last_seq}});
    auto last_status = std::chrono::steady_clock::now();
    while (!m_owner.m_stopping) {
      bool got_data = read_available();
      if (!got_data) {
        flush();
        run_appends();
        wait_readable(std::chrono::milliseconds(100));
      }
      if (std::chrono::steady_clock::now() - last_status > std::chrono::seconds(1)) {
        send_status(false);
        last_status = std::chrono::steady_clock::now();
      }
    }
    flush();
    send_status(false);
  }

 private:
  static std::string quote_identifier_for_slot(const std::string& slot) {
    // Slot names are [a-z0-9_]; validated at configuration.
    return slot;
  }

  void ensure_slot() {
    auto found = m_sql->exec("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
                             {m_owner.m_options.slot});
    if (found.rows() > 0) return;
    m_sql->exec("SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
                {m_owner.m_options.slot});
    log::info("replication slot created", {{"slot", m_owner.m_options.slot}});
  }

  void wait_readable(std::chrono::milliseconds timeout) {
    pollfd descriptor{PQsocket(m_replication->raw()), POLLIN, 0};
    ::poll(&descriptor, 1, static_cast<int>(timeout.count()));
  }

  // Reads every message available without blocking; false when none was.
  bool read_available() {
    PGconn* connection = m_replication->raw();
    if (!PQconsumeInput(connection)) {
      throw PgError(ErrorCode::unavailable,
                    fmt::format("replication stream: {}", PQerrorMessage(connection)), "08006");
    }
    bool any = false;
    for (int handled = 0; handled < 10000; ++handled) {
      char* buffer = nullptr;
      int length = PQgetCopyData(connection, &buffer, 1);
      if (length == 0) return any;
      if (length == -1) {
        m_replication->check(PQgetResult(connection), "START_REPLICATION");
        throw PgError(ErrorCode::unavailable, "replication stream ended", "08006");
      }
      if (length < 0) {
        throw PgError(ErrorCode::unavailable,
                      fmt::format("replication stream: {}", PQerrorMessage(connection)), "08006");
      }
      std::string_view bytes(buffer, static_cast<std::size_t>(length));
      auto message = decode_replication_message(bytes);
      PQfreemem(buffer);
      if (!message) throw Error(ErrorCode::internal, std::string(message.error().message()));
      any = true;
      if (auto* data = std::get_if<XLogData>(&*message)) {
        handle(*data);
      } else {
        auto& keepalive = std::get<PrimaryKeepalive>(*message);
        // Everything the server sent before its keepalive has been read: once flushed, its
        // position can be confirmed (otherwise an idle slot would hold WAL forever).
        if (!m_in_transaction && m_pending.empty()) m_idle_lsn = keepalive.wal_end;
        if (keepalive.reply_requested) send_status(false);
      }
    }
    return any;
  }

  void handle(const XLogData& data) {
    auto decoded = decode_pgoutput(data.data);
    if (!decoded) throw Error(ErrorCode::internal, std::string(decoded.error().message()));
    std::visit([this](const auto& message) { on(message); }, *decoded);
  }

  void on(const BeginMessage& begin) {
    m_in_transaction = true;
    m_xid = begin.xid;
    m_commit_ms = to_unix_millis(begin.commit_time);
    m_stamp.reset();
    m_row_stamps.clear();
    m_barrier.reset();
    m_transaction.clear();
  }

  void on(const CommitMessage& commit) {
    m_in_transaction = false;
    // Replayed after a crash: already in the log.
    if (commit.end_lsn <= m_applied_lsn) {
      m_transaction.clear();
      return;
    }
    for (auto& change : m_transaction) {
      if (!change.stamp) ++m_pending_outside;
      m_pending.push_back(std::move(change));
    }
    m_transaction.clear();
    m_pending_lsn = commit.end_lsn;
    // A barrier waits for outside writes to be folded: Tandem's own writes need no fold, so
    // when only they are pending the barrier is passed at once and they are appended with
    // the next batch (a push does not wait for the log append of the previous one).
    if (m_pending.size() >= kMaxPendingChanges || (m_barrier && m_pending_outside > 0)) flush();
    if (m_barrier) {
      // Every outside write committed before the barrier's transaction is folded now.
      {
        std::lock_guard lock(m_owner.m_mutex);
        m_owner.m_barrier_seen = std::max(m_owner.m_barrier_seen, *m_barrier);
      }
      m_owner.m_cv.notify_all();
      m_barrier.reset();
    }
  }

  void on(const OriginMessage&) {}
  void on(const TypeMessage&) {}

  void on(const RelationMessage& relation) {
    StreamRelation described;
    described.name = relation.name;
    for (const auto& column : relation.columns)
      described.columns.push_back(column.name);
    m_relations[relation.oid] = std::move(described);
  }

  void on(const LogicalMessage& message) {
    if (message.prefix == kStampMessage && message.transactional) {
      m_stamp = sync::Stamp::parse(message.content);
      return;
    }
    if (message.prefix == kRowStampsMessage && message.transactional) {
      m_row_stamps.clear();
      std::string_view content = message.content;
      for (std::size_t start = 0; start <= content.size();) {
        auto end = std::min(content.find('\n', start), content.size());
        m_row_stamps.push_back(sync::Stamp::parse(content.substr(start, end - start)));
        start = end + 1;
      }
      return;
    }
    if (message.prefix == kBarrierPrefix && message.transactional) {
      auto separator = message.content.find(':');
      if (separator == std::string::npos ||
          message.content.substr(0, separator) != m_owner.m_instance)
        return;  // another process's barrier
      m_barrier = std::stoull(message.content.substr(separator + 1));
    }
  }

  void on(const InsertMessage& insert) {
    add(insert.relation_oid, sync::Op::insert, &insert.new_tuple, nullptr);
  }
  void on(const UpdateMessage& update) {
    add(update.relation_oid, sync::Op::update, &update.new_tuple,
        update.old_kind == OldTupleKind::full ? &update.old_tuple : nullptr);
  }
  void on(const DeleteMessage& remove) {
    add(remove.relation_oid, sync::Op::remove, nullptr, &remove.old_tuple);
  }
  void on(const TruncateMessage& truncate) {
    for (auto oid : truncate.relation_oids) {
      auto it = m_relations.find(oid);
      log::warn(
          "TRUNCATE of a tracked table is not propagated; clients keep their rows until "
          "a hard reset or a new snapshot",
          {{"table", it == m_relations.end() ? std::to_string(oid) : it->second.name}});
    }
  }

  std::optional<Row> tuple_row(const PgTable& table, const StreamRelation& relation,
                               const TupleData& tuple, const Row* fallback) {
    Row row;
    for (const auto& column : table.schema.columns)
      row.emplace(column.name, Value{});
    for (std::size_t i = 0; i < tuple.size() && i < relation.columns.size(); ++i) {
      const auto& name = relation.columns[i];
      auto it = row.find(name);
      if (it == row.end()) continue;
      const auto& column = tuple[i];
      if (column.kind == TupleColumn::Kind::text) {
        auto value = value_from_pg_text(table.type_of(name), column.data);
        if (!value) {
          throw Error(ErrorCode::internal,
                      fmt::format("table '{}', column '{}': {}", table.schema.name, name,
                                  value.error().message()));
        }
        it->second = std::move(*value);
      } else if (column.kind == TupleColumn::Kind::unchanged_toast && fallback) {
        // An unchanged TOASTed value is not resent; the full old row (REPLICA IDENTITY
        // FULL) has it.
        if (auto old = fallback->find(name); old != fallback->end()) it->second = old->second;
      }
    }
    return row;
  }

  void add(std::uint32_t relation_oid, sync::Op op, const TupleData* new_tuple,
           const TupleData* old_tuple) {
    auto relation = m_relations.find(relation_oid);
    if (relation == m_relations.end()) throw Error(ErrorCode::internal, "change before relation");
    // Each row change takes its stamp, even one that is dropped below.
    std::optional<sync::Stamp> stamp = m_stamp;
    if (!m_row_stamps.empty()) {
      stamp = std::move(m_row_stamps.front());
      m_row_stamps.pop_front();
    }
    const PgTable* table = m_owner.m_tables(relation->second.name);
    if (!table) return;
    CapturedChange change;
    change.table = relation->second.name;
    change.op = op;
    change.stamp = std::move(stamp);
    change.writer_xid = m_xid;
    change.at_ms = m_commit_ms;
    if (old_tuple) change.old_row = tuple_row(*table, relation->second, *old_tuple, nullptr);
    if (new_tuple) {
      change.new_row = tuple_row(*table, relation->second, *new_tuple,
                                 change.old_row ? &*change.old_row : nullptr);
    }
    if (op == sync::Op::update && !change.old_row) change.old_row = change.new_row;
    m_transaction.push_back(std::move(change));
  }

  // Appends the pending transactions in one database transaction with their end LSN.
  void flush() {
    if (m_pending.empty() && m_pending_lsn <= m_applied_lsn) return;
    m_sql->exec("BEGIN");
    try {
      auto records =
          record_changes(*m_sql, m_owner.m_tables, m_owner.m_clock, std::move(m_pending));
      m_last_seq = append_changes(*m_sql, m_last_seq, records);
      write_meta(*m_sql, "capture_lsn", format_lsn(m_pending_lsn));
      m_sql->exec("COMMIT");
    } catch (...) {
      m_sql->exec("ROLLBACK");
      throw;
    }
    m_pending.clear();
    m_pending_outside = 0;
    m_applied_lsn = m_pending_lsn;
    m_owner.m_on_appended(m_last_seq);
    send_status(false);
  }

  void run_appends() {
    for (;;) {
      AppendJob job;
      {
        std::lock_guard lock(m_owner.m_mutex);
        if (m_owner.m_appends.empty()) return;
        job = std::move(m_owner.m_appends.front());
        m_owner.m_appends.pop_front();
      }
      try {
        m_sql->exec("BEGIN");
        auto records =
            record_changes(*m_sql, m_owner.m_tables, m_owner.m_clock, std::move(job.changes));
        auto last = append_changes(*m_sql, m_last_seq, records);
        m_sql->exec("COMMIT");
        m_last_seq = last;
        m_owner.m_on_appended(m_last_seq);
        job.done.set_value();
      } catch (...) {
        try {
          m_sql->exec("ROLLBACK");
        } catch (...) {
        }
        job.done.set_exception(std::current_exception());
        throw;
      }
    }
  }

  void send_status(bool reply_requested) {
    Lsn confirmed = std::max(m_applied_lsn, m_pending.empty() ? m_idle_lsn : 0);
    StandbyStatusUpdate update{confirmed, confirmed, confirmed, micros_now() - kPgEpochUnixMicros,
                               reply_requested};
    auto bytes = encode_standby_status_update(update);
    PGconn* connection = m_replication->raw();
    if (PQputCopyData(connection, bytes.data(), static_cast<int>(bytes.size())) != 1 ||
        PQflush(connection) != 0) {
      throw PgError(ErrorCode::unavailable,
                    fmt::format("replication stream: {}", PQerrorMessage(connection)), "08006");
    }
  }

  LogicalCapture& m_owner;
  std::unique_ptr<PgConnection> m_sql;
  std::unique_ptr<PgConnection> m_replication;
  std::map<std::uint32_t, StreamRelation> m_relations;
  std::uint64_t m_last_seq = 0;
  Lsn m_applied_lsn = 0;  // end of the last transaction in the log
  Lsn m_pending_lsn = 0;  // end of the last transaction in m_pending
  Lsn m_idle_lsn = 0;
  bool m_in_transaction = false;
  std::uint32_t m_xid = 0;
  std::int64_t m_commit_ms = 0;
  std::optional<sync::Stamp> m_stamp;
  std::deque<std::optional<sync::Stamp>> m_row_stamps;  // for the next row changes, in order
  std::optional<std::uint64_t> m_barrier;               // this transaction is a barrier of ours
  std::vector<CapturedChange> m_transaction;
  std::vector<CapturedChange> m_pending;
  std::size_t m_pending_outside = 0;  // changes in m_pending without a Tandem stamp
};

LogicalCapture::LogicalCapture(LogicalCaptureOptions options, PgTableLookup tables,
                               sync::HlcClock& clock,
                               std::function<void(std::uint64_t)> on_appended)
    : m_options(std::move(options)),
      m_tables(std::move(tables)),
      m_clock(clock),
      m_on_appended(std::move(on_appended)) {
  std::random_device random;
  m_instance = fmt::format("{:08x}{:08x}", random(), random());
}

LogicalCapture::~LogicalCapture() {
  stop();
}

void LogicalCapture::start() {
  // The slot must exist before the first push, or its changes would not be streamed.
  PgConnection connection(ConnectOptions{m_options.url, false, "tandem-capture"});
  auto found =
      connection.exec("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {m_options.slot});
  if (found.rows() == 0) {
    connection.exec("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {m_options.slot});
    log::info("replication slot created", {{"slot", m_options.slot}});
  }
  m_thread = std::thread([this] { run(); });
}

void LogicalCapture::stop() {
  m_stopping = true;
  m_cv.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

void LogicalCapture::run() {
  set_thread_role(ThreadRole::capture);
  auto backoff = std::chrono::milliseconds(100);
  while (!m_stopping) {
    try {
      Stream stream(*this);
      stream.run();
      backoff = std::chrono::milliseconds(100);
    } catch (const std::exception& error) {
      log::error("logical capture interrupted; reconnecting",
                 {{"error", error.what()}, {"retry_ms", backoff.count()}});
      std::unique_lock lock(m_mutex);
      m_cv.wait_for(lock, backoff, [this] { return m_stopping.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
  std::lock_guard lock(m_mutex);
  for (auto& job : m_appends) {
    job.done.set_exception(
        std::make_exception_ptr(Error(ErrorCode::shutting_down, "capture stopped")));
  }
  m_appends.clear();
}

void LogicalCapture::barrier() {
  std::uint64_t token;
  {
    // A committed transaction, not a non-transactional message: PostgreSQL 15 flushes the
    // WAL for a commit at once, but leaves a lone message to the WAL writer (up to 200 ms).
    std::lock_guard connection_lock(m_barrier_mutex);
    {
      std::lock_guard lock(m_mutex);
      token = ++m_barrier_sent;
    }
    if (!m_barrier_connection || m_barrier_connection->broken()) {
      m_barrier_connection = std::make_unique<PgConnection>(
          ConnectOptions{m_options.url, false, "tandem-capture-barrier"});
    }
    m_barrier_connection->exec_prepared(
        "SELECT pg_logical_emit_message(true, $1, $2)",
        {std::string(kBarrierPrefix), fmt::format("{}:{}", m_instance, token)});
  }
  std::unique_lock lock(m_mutex);
  bool reached = m_cv.wait_for(lock, std::chrono::seconds(5),
                               [&] { return m_barrier_seen >= token || m_stopping.load(); });
  if (!reached || m_barrier_seen < token) {
    throw Error(ErrorCode::unavailable,
                "change capture is not keeping up (the replication stream did not reach the "
                "write's position in 5 s)");
  }
}

void LogicalCapture::append(std::vector<CapturedChange> changes) {
  std::future<void> done;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) throw Error(ErrorCode::shutting_down, "capture stopped");
    AppendJob job;
    job.changes = std::move(changes);
    done = job.done.get_future();
    m_appends.push_back(std::move(job));
  }
  done.get();
}

std::string LogicalCapture::describe(PgConnection& connection) {
  auto result = connection.exec(
      "SELECT active, confirmed_flush_lsn::text, "
      "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
      "FROM pg_replication_slots WHERE slot_name = $1",
      {m_options.slot});
  if (result.rows() == 0) return fmt::format("slot '{}' missing", m_options.slot);
  return fmt::format("slot '{}' {}, confirmed {}, lag {} bytes", m_options.slot,
                     result.text(0, 0) == "t" ? "active" : "inactive", result.text(0, 1),
                     result.is_null(0, 2) ? "?" : std::string(result.text(0, 2)));
}

void LogicalCapture::drop_slot(PgConnection& connection, const std::string& slot) {
  // The stream's walsender outlives our closed connection by a moment.
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto active =
        connection.exec("SELECT active FROM pg_replication_slots WHERE slot_name = $1", {slot});
    if (active.rows() == 0) return;
    if (active.text(0, 0) == "f") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  connection.exec(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
      {slot});
}

}  // namespace tandem::storage::postgres
