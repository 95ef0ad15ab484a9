#include "storage/mysql/mysql_capture.h"

#include <fmt/format.h>

#include "common/logging.h"
#include "storage/mysql/mysql_change_log.h"
#include "storage/mysql/mysql_rows.h"
#include "storage/push_applier.h"

namespace tandem::storage::mysql {
namespace {

std::optional<sync::Op> op_of_event(std::string_view type) {
  std::string lower;
  for (char c : type)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "insert") return sync::Op::insert;
  if (lower == "update") return sync::Op::update;
  if (lower == "delete") return sync::Op::remove;
  return std::nullopt;
}

std::string delete_sql(const std::string& events_table, std::size_t count) {
  std::string sql = fmt::format("DELETE FROM {} WHERE id IN (", quote_name(events_table));
  for (std::size_t i = 0; i < count; ++i)
    sql += i == 0 ? "?" : ",?";
  return sql + ")";
}

// Deletes exactly `ids`; returns how many rows went.
std::uint64_t delete_events(MysqlConnection& connection, const std::string& events_table,
                            const std::vector<std::int64_t>& ids) {
  std::uint64_t deleted = 0;
  std::size_t next = 0;
  while (next < ids.size()) {
    std::size_t left = ids.size() - next;
    std::size_t group = left >= 100 ? 100 : left >= 10 ? 10 : 1;
    Params params;
    for (std::size_t i = 0; i < group; ++i)
      params.emplace_back(ids[next + i]);
    deleted += connection.query(delete_sql(events_table, group), params).affected_rows();
    next += group;
  }
  return deleted;
}

}  // namespace

MysqlTransaction::MysqlTransaction(MysqlConnection& connection) : m_connection(connection) {
  m_connection.exec("START TRANSACTION");
}

MysqlTransaction::~MysqlTransaction() {
  if (!m_open) return;
  try {
    if (!m_connection.broken()) m_connection.exec("ROLLBACK");
  } catch (...) {
  }
}

void MysqlTransaction::commit() {
  m_connection.exec("COMMIT");
  m_open = false;
}

std::uint64_t lock_capture(MysqlConnection& connection) {
  connection.query("SELECT value FROM tandem_meta WHERE name = 'capture_owner' FOR UPDATE");
  return read_last_seq(connection);
}

MoveOutcome move_events(MysqlConnection& connection, const MysqlTableLookup& tables,
                        sync::HlcClock& clock, std::uint64_t last_seq, const MoveOptions& options) {
  MoveOutcome outcome;
  outcome.last_seq = last_seq;
  const auto events = quote_name(options.events_table);
  const auto peek_sql = fmt::format("SELECT id FROM {} ORDER BY id LIMIT 1", events);
  const auto read_sql = fmt::format(
      "SELECT id, table_name, type, data, old_data, "
      "CAST(UNIX_TIMESTAMP(created_at) * 1000 AS SIGNED) FROM {} ORDER BY id LIMIT {}",
      events, options.batch);
  for (;;) {
    // The common case, nothing to move, costs one indexed read and no transaction.
    if (connection.query(peek_sql).rows() == 0) return outcome;
    MysqlTransaction txn(connection);
    std::uint64_t seq = lock_capture(connection);
    // READ COMMITTED: exactly the committed events; rows of transactions still running
    // are not seen and are moved by a later pass.
    auto result = connection.query(read_sql);
    std::vector<std::int64_t> ids;
    std::vector<LogRecord> records;
    ids.reserve(result.rows());
    std::size_t dropped = 0;
    for (std::size_t row = 0; row < result.rows(); ++row) {
      ids.push_back(result.integer(row, 0));
      auto table_name = result.text(row, 1);
      const MysqlTable* table = tables(table_name);
      auto op = op_of_event(result.text(row, 2));
      if (!table || !op || result.is_null(row, 3)) {
        ++dropped;  // untracked meanwhile, or not an event Tandem's triggers write
        continue;
      }
      try {
        LogRecord record;
        record.table = std::string(table_name);
        record.op = *op;
        record.row = row_from_json_object(*table, result.text(row, 3));
        if (*op == sync::Op::update && !result.is_null(row, 4))
          record.old = row_from_json_object(*table, result.text(row, 4));
        record.pk = table->schema.key_row(record.row);
        record.stamp = sync::Stamp{clock.now(), std::string(kDatabaseNode)};
        record.at_ms = result.is_null(row, 5) ? static_cast<std::int64_t>(clock.system_millis())
                                              : result.integer(row, 5);
        records.push_back(std::move(record));
      } catch (const Error& error) {
        ++dropped;
        log::error("mysql event unreadable; dropped",
                   {{"event_id", ids.back()}, {"error", std::string(error.message())}});
      }
    }
    seq = append_changes(connection, seq, records);
    if (options.before_delete) options.before_delete();
    auto deleted = delete_events(connection, options.events_table, ids);
    if (deleted != ids.size()) {
      // Someone else deleted events meanwhile: log nothing of this batch and read again.
      throw Error(ErrorCode::unavailable,
                  fmt::format("{} of {} events vanished while being moved; the batch is retried",
                              ids.size() - deleted, ids.size()));
    }
    txn.commit();
    outcome.last_seq = seq;
    outcome.moved += records.size();
    outcome.dropped += dropped;
    if (result.rows() < options.batch) return outcome;
  }
}

}  // namespace tandem::storage::mysql
