#include "storage/mysql/mysql_change_log.h"

#include "storage/change_log_codec.h"

namespace tandem::storage::mysql {
namespace {

constexpr std::size_t kColumns = 9;

// One statement text per group size (100, 10, 1), so that few statements are prepared.
const std::string& insert_sql(std::size_t rows) {
  static const auto build = [](std::size_t count) {
    std::string sql =
        "INSERT INTO tandem_changes (seq, tbl, op, pk, row_data, old_data, hlc, node, at_ms) "
        "VALUES ";
    for (std::size_t i = 0; i < count; ++i)
      sql += i == 0 ? "(?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?)";
    return sql;
  };
  static const std::string hundred = build(100), ten = build(10), one = build(1);
  return rows == 100 ? hundred : rows == 10 ? ten : one;
}

}  // namespace

std::uint64_t append_changes(MysqlConnection& connection, std::uint64_t last_seq,
                             const std::vector<LogRecord>& records) {
  std::uint64_t seq = last_seq;
  std::size_t next = 0;
  while (next < records.size()) {
    std::size_t left = records.size() - next;
    std::size_t group = left >= 100 ? 100 : left >= 10 ? 10 : 1;
    Params params;
    params.reserve(group * kColumns);
    for (std::size_t i = 0; i < group; ++i) {
      auto record = encode_log_record(records[next + i]);
      params.emplace_back(static_cast<std::int64_t>(++seq));
      params.emplace_back(std::move(record.table));
      params.emplace_back(std::move(record.op));
      params.emplace_back(std::move(record.pk_json));
      params.emplace_back(std::move(record.row_json));
      params.push_back(record.old_json ? Value(std::move(*record.old_json)) : Value{});
      params.emplace_back(std::move(record.hlc));
      params.emplace_back(std::move(record.node));
      params.emplace_back(record.at_ms);
    }
    connection.query(insert_sql(group), params);
    next += group;
  }
  return seq;
}

std::uint64_t read_last_seq(MysqlConnection& connection) {
  auto result = connection.exec("SELECT COALESCE(MAX(seq), 0) FROM tandem_changes");
  return static_cast<std::uint64_t>(result.integer(0, 0));
}

std::vector<sync::Change> read_changes(MysqlConnection& connection, std::uint64_t after_seq,
                                       std::size_t limit) {
  auto result = connection.query(
      "SELECT seq, tbl, op, pk, row_data, old_data, hlc, node, at_ms FROM tandem_changes "
      "WHERE seq > ? ORDER BY seq LIMIT ?",
      {Value(static_cast<std::int64_t>(after_seq)), Value(static_cast<std::int64_t>(limit))});
  return decode_log_entries(result.rows(), [&](std::size_t row) {
    std::optional<std::string_view> old;
    if (!result.is_null(row, 5)) old = result.text(row, 5);
    return LogEntry{static_cast<std::uint64_t>(result.integer(row, 0)),
                    result.text(row, 1),
                    result.text(row, 2),
                    result.text(row, 3),
                    result.text(row, 4),
                    old,
                    result.text(row, 6),
                    result.text(row, 7),
                    result.integer(row, 8)};
  });
}

}  // namespace tandem::storage::mysql
