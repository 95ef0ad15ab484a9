#include "storage/postgres/pg_capture.h"

#include <algorithm>
#include <map>

#include "common/value_json.h"
#include "storage/change_log_codec.h"
#include "storage/postgres/pg_rows.h"
#include "storage/push_applier.h"
#include "sync/row_state_codec.h"

namespace tandem::storage::postgres {
namespace {

std::vector<Value> key_values(const TableSchema& schema, const Row& pk) {
  std::vector<Value> key;
  for (const auto& column : schema.primary_key)
    key.push_back(pk.at(column));
  return key;
}

// One outside change to fold, in commit order.
struct PendingFold {
  const PgTable* table;
  sync::Change change;
  std::optional<Row> before;
  std::int64_t writer_xid;
};

// The merge metadata of a flush's keys as the database would hold it after each fold: the
// stored text, so that folding against it is exactly folding against tandem.rows.
using FoldStates = std::map<MetadataKey, std::optional<StoredMetadata>>;

// Folds one outside change into the row's merge metadata: the history gains a mutation
// stamped now, later than every write the server has accepted, as the change really is.
void fold(std::optional<StoredMetadata>& metadata, const PendingFold& pending) {
  sync::RowState state;
  if (metadata) {
    const Row* before = pending.before ? &*pending.before : nullptr;
    auto decoded = sync::decode_row_state(metadata->state, before);
    if (!decoded) throw decoded.error();
    state = std::move(*decoded);
  } else if (pending.before) {
    state = sync::RowState::preexisting(*pending.before);
  }
  sync::merge(state, mutation_of(pending.change));
  metadata = StoredMetadata{sync::encode_row_state(state), pending.writer_xid};
}

MetadataKey metadata_key(const PendingFold& pending) {
  return {pending.table->schema.name,
          sync::encode_key(key_values(pending.table->schema, pending.change.pk))};
}

// Three round trips whatever the number of changes: the metadata of every key involved is
// loaded (and locked) at once, folded in memory in commit order, and saved at once.
void fold_all(PgConnection& connection, const std::vector<PendingFold>& folds) {
  if (folds.empty()) return;
  std::vector<MetadataKey> keys;
  keys.reserve(folds.size());
  for (const auto& pending : folds)
    keys.push_back(metadata_key(pending));
  auto stored = load_metadata_batch(connection, keys, true);
  FoldStates states;
  for (std::size_t i = 0; i < folds.size(); ++i) {
    auto [it, added] = states.try_emplace(keys[i]);
    if (added) {
      if (auto found = stored.find(keys[i]); found != stored.end()) it->second = found->second;
    }
    fold(it->second, folds[i]);
  }
  std::vector<MetadataWrite> writes;
  writes.reserve(states.size());
  for (auto& [key, metadata] : states)
    writes.push_back({key.first, key.second, std::move(metadata->state), metadata->writer_xid});
  auto statement = save_metadata_statement(writes);
  connection.exec_prepared(statement.sql, statement.params);
}

// The outside change `record` as the merge sees it: the log codec splits an update of the
// key into a delete and an insert, so one record can be two folds.
void add_folds(const PgTable& table, const LogRecord& record, const CapturedChange& captured,
               std::vector<PendingFold>& folds) {
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
  for (auto& change : decode_log_entry(entry)) {
    std::optional<Row> before;
    if (change.op == sync::Op::remove) before = change.row;
    if (change.op == sync::Op::update) before = captured.old_row;
    folds.push_back({&table, std::move(change), std::move(before), captured.writer_xid});
  }
}

}  // namespace

std::vector<LogRecord> record_changes(PgConnection& connection, const PgTableLookup& tables,
                                      sync::HlcClock& clock, std::vector<CapturedChange> changes) {
  std::vector<LogRecord> records;
  records.reserve(changes.size());
  std::vector<PendingFold> folds;
  for (auto& captured : changes) {
    const PgTable* table = tables(captured.table);
    if (!table) continue;
    LogRecord record;
    record.table = captured.table;
    record.op = captured.op;
    record.at_ms = captured.at_ms;
    const Row& image = captured.op == sync::Op::remove ? *captured.old_row : *captured.new_row;
    record.pk = table->schema.key_row(image);
    record.row = image;
    if (captured.op == sync::Op::update) record.old = captured.old_row;
    if (captured.stamp) {
      record.stamp = *captured.stamp;
    } else {
      record.stamp = sync::Stamp{clock.now(), std::string(kDatabaseNode)};
      add_folds(*table, record, captured, folds);
    }
    records.push_back(std::move(record));
  }
  fold_all(connection, folds);
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
    changes.reserve(batch.size());
    for (auto& [id, change] : batch)
      changes.push_back(std::move(change));
    if (moved) *moved += changes.size();
    auto records = record_changes(connection, tables, clock, std::move(changes));
    last_seq = append_changes(connection, last_seq, records);
    if (result.rows() < kBatch) return last_seq;
  }
}

}  // namespace tandem::storage::postgres
