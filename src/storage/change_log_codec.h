// The change log's entries as every datasource stores them (JSON text columns): encoding a
// record for the log, and decoding entries back into Changes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/change.h"

namespace tandem::storage {

// A change as capture appends it to the log.
struct LogRecord {
  std::string table;
  sync::Op op = sync::Op::insert;
  Row pk;
  Row row;                 // insert/update: after; delete: before
  std::optional<Row> old;  // update: the whole row before
  sync::Stamp stamp;
  std::int64_t at_ms = 0;
};

// A record's columns as the log stores them (what LogEntry reads back).
struct EncodedLogRecord {
  std::string table;
  std::string op;
  std::string pk_json;
  std::string row_json;
  std::optional<std::string> old_json;
  std::string hlc;
  std::string node;
  std::int64_t at_ms = 0;
};

EncodedLogRecord encode_log_record(const LogRecord& record);

// An entry as a reader finds it in the log.
struct LogEntry {
  std::uint64_t seq = 0;
  std::string_view table;
  std::string_view op;
  std::string_view pk_json;
  std::string_view row_json;
  std::optional<std::string_view> old_json;  // update: the whole row before
  std::string_view hlc;
  std::string_view node;
  std::int64_t at_ms = 0;
};

// One entry gives one change, or two when an outside UPDATE changed the primary key
// (a delete of the old key, then an insert of the new one). For an update, `old` keeps only
// the columns that changed. Throws Error(internal) on a corrupt entry.
std::vector<sync::Change> decode_log_entry(const LogEntry& entry);

// The changes of `count` entries read from a log, entry i as `entry_at(i)` gives it (the
// columns seq, tbl, op, pk, row, old, hlc, node, at_ms of a reader's result).
std::vector<sync::Change> decode_log_entries(std::size_t count,
                                             const std::function<LogEntry(std::size_t)>& entry_at);

// The mutation that a logged change amounts to, for folding outside writes into the merge
// metadata: insert -> all columns but the key; update -> the changed columns.
sync::Mutation mutation_of(const sync::Change& change);

}  // namespace tandem::storage
