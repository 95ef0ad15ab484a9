#include "storage/postgres/pg_capture.h"

#include <algorithm>

#include "common/value_json.h"
#include "storage/change_log_codec.h"
#include "storage/postgres/pg_rows.h"
#include "storage/push_applier.h"
#include "sync/row_state_codec.h"

namespace tandem::storage::postgres {
namespace {

Row key_row(const TableSchema& schema, const Row& row) {
  Row key;
  for (const auto& column : schema.primary_key) {
    auto it = row.find(column);
    key.emplace(column, it == row.end() ? Value{} : it->second);
  }
  return key;
}

std::vector<Value> key_values(const TableSchema& schema, const Row& pk) {
  std::vector<Value> key;
  for (const auto& column : schema.primary_key)
    key.push_back(pk.at(column));
  return key;
}

// Folds one outside change into the row's merge metadata: the history gains a mutation
// stamped now, later than every write the server has accepted, as the change really is.
void fold(PgConnection& connection, const PgTable& table, const sync::Change& change,
          const std::optional<Row>& before, std::int64_t writer_xid) {
  auto key_text = sync::encode_key(key_values(table.schema, change.pk));
  auto metadata = load_metadata(connection, table.schema.name, key_text, true);
  sync::RowState state;
  if (metadata) {
    auto decoded = sync::decode_row_state(metadata->state, before ? &*before : nullptr);
    if (!decoded) throw decoded.error();
    state = std::move(*decoded);
  } else if (before) {
    state = sync::RowState::preexisting(*before);
  }
  sync::merge(state, mutation_of(change));
  save_metadata(connection, table.schema.name, key_text, state, writer_xid);
}

}  // namespace

std::vector<LogRecord> record_changes(PgConnection& connection, const PgTableLookup& tables,
                                      sync::HlcClock& clock, std::vector<CapturedChange> changes) {
  std::vector<LogRecord> records;
  records.reserve(changes.size());
  for (auto& captured : changes) {
    const PgTable* table = tables(captured.table);
    if (!table) continue;
    LogRecord record;
    record.table = captured.table;
    record.op = captured.op;
    record.at_ms = captured.at_ms;
    const Row& image = captured.op == sync::Op::remove ? *captured.old_row : *captured.new_row;
    record.pk = key_row(table->schema, image);
    record.row = image;
    if (captured.op == sync::Op::update) record.old = captured.old_row;
    if (captured.stamp) {
      record.stamp = *captured.stamp;
    } else {
      record.stamp = sync::Stamp{clock.now(), std::string(kDatabaseNode)};
      // The log codec splits an update of the key into a delete and an insert; fold those.
      // LogEntry holds views: the texts must outlive it.
      std::string old_json = record.old ? to_json(*record.old).dump() : std::string();
      std::string pk_json = to_json(record.pk).dump();
      std::string row_json = to_json(record.row).dump();
      std::string hlc = record.stamp.hlc.to_string();
      LogEntry entry{0,
                     record.table,
                     sync::op_name(record.op),
                     pk_json,
                     row_json,
                     record.old ? std::optional<std::string_view>(old_json) : std::nullopt,
                     hlc,
                     record.stamp.node,
                     record.at_ms};
      for (const auto& change : decode_log_entry(entry)) {
        std::optional<Row> before;
        if (change.op == sync::Op::remove) before = change.row;
        if (change.op == sync::Op::update) before = captured.old_row;
        fold(connection, *table, change, before, captured.writer_xid);
      }
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::uint64_t move_captured(PgConnection& connection, const PgTableLookup& tables,
                            sync::HlcClock& clock, std::uint64_t last_seq, std::size_t* moved) {
  constexpr int kBatch = 2000;
  if (moved) *moved = 0;
  for (;;) {
    auto result = connection.exec_prepared(
        "DELETE FROM tandem.capture WHERE id IN (SELECT id FROM tandem.capture ORDER BY id "
        "LIMIT " +
            std::to_string(kBatch) +
            ") "
            "RETURNING id, tbl, op, new_data, old_data, stamp, writer_xid, at_ms",
        {});
    std::vector<std::pair<std::int64_t, CapturedChange>> batch;
    for (int row = 0; row < result.rows(); ++row) {
      CapturedChange change;
      change.table = std::string(result.text(row, 1));
      const PgTable* table = tables(change.table);
      if (!table) continue;  // untracked meanwhile
      auto op = sync::parse_op(result.text(row, 2));
      if (!op) throw Error(ErrorCode::internal, "corrupt capture row: bad op");
      change.op = *op;
      if (auto text = result.optional_text(row, 3))
        change.new_row = row_from_text_json(*table, *text);
      if (auto text = result.optional_text(row, 4))
        change.old_row = row_from_text_json(*table, *text);
      if (auto text = result.optional_text(row, 5)) change.stamp = sync::Stamp::parse(*text);
      change.writer_xid = result.integer(row, 6);
      change.at_ms = result.integer(row, 7);
      batch.emplace_back(result.integer(row, 0), std::move(change));
    }
    // Ids follow the order rows were written; two writes of one row are ordered by its lock.
    std::sort(batch.begin(), batch.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<CapturedChange> changes;
    for (auto& [id, change] : batch)
      changes.push_back(std::move(change));
    if (moved) *moved += changes.size();
    auto records = record_changes(connection, tables, clock, std::move(changes));
    last_seq = append_changes(connection, last_seq, records);
    if (result.rows() < kBatch) return last_seq;
  }
}

}  // namespace tandem::storage::postgres
