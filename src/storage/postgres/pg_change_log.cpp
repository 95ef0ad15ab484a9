#include "storage/postgres/pg_change_log.h"

namespace tandem::storage::postgres {

std::string text_array_literal(const std::vector<std::optional<std::string>>& elements) {
  std::string literal = "{";
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) literal += ',';
    if (!elements[i]) {
      literal += "NULL";
      continue;
    }
    literal += '"';
    for (char c : *elements[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

std::uint64_t append_changes(PgConnection& connection, std::uint64_t last_seq,
                             const std::vector<LogRecord>& records) {
  if (records.empty()) return last_seq;
  std::vector<std::optional<std::string>> seqs, tables, ops, pks, rows, olds, hlcs, nodes, ats;
  std::uint64_t seq = last_seq;
  for (const auto& given : records) {
    auto record = encode_log_record(given);
    seqs.emplace_back(std::to_string(++seq));
    tables.emplace_back(std::move(record.table));
    ops.emplace_back(std::move(record.op));
    pks.emplace_back(std::move(record.pk_json));
    rows.emplace_back(std::move(record.row_json));
    olds.push_back(std::move(record.old_json));
    hlcs.emplace_back(std::move(record.hlc));
    nodes.emplace_back(std::move(record.node));
    ats.emplace_back(std::to_string(record.at_ms));
  }
  connection.exec_prepared(
      "INSERT INTO tandem.changes (seq, tbl, op, pk, row_data, old_data, hlc, node, at_ms) "
      "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], "
      "$6::text[], $7::text[], $8::text[], $9::bigint[])",
      {text_array_literal(seqs), text_array_literal(tables), text_array_literal(ops),
       text_array_literal(pks), text_array_literal(rows), text_array_literal(olds),
       text_array_literal(hlcs), text_array_literal(nodes), text_array_literal(ats)});
  return seq;
}

std::uint64_t read_last_seq(PgConnection& connection) {
  auto result = connection.exec("SELECT coalesce(max(seq), 0) FROM tandem.changes");
  return static_cast<std::uint64_t>(result.integer(0, 0));
}

std::vector<sync::Change> read_changes(PgConnection& connection, std::uint64_t after_seq,
                                       std::size_t limit) {
  auto result = connection.exec_prepared(
      "SELECT seq, tbl, op, pk, row_data, old_data, hlc, node, at_ms FROM tandem.changes "
      "WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint",
      {std::to_string(after_seq), std::to_string(limit)});
  return decode_log_entries(static_cast<std::size_t>(result.rows()), [&](std::size_t index) {
    auto row = static_cast<int>(index);
    return LogEntry{static_cast<std::uint64_t>(result.integer(row, 0)),
                    result.text(row, 1),
                    result.text(row, 2),
                    result.text(row, 3),
                    result.text(row, 4),
                    result.optional_text(row, 5),
                    result.text(row, 6),
                    result.text(row, 7),
                    result.integer(row, 8)};
  });
}

}  // namespace tandem::storage::postgres
