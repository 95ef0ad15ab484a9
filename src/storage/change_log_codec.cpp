#include "storage/change_log_codec.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/value_json.h"

namespace tandem::storage {
namespace {

Row parse_row(std::string_view text, std::uint64_t seq, std::string_view what) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  auto row = row_from_json(json);
  if (!row) {
    throw Error(ErrorCode::internal, fmt::format("corrupt change log entry {} ({}): {}", seq, what,
                                                 row.error().message()));
  }
  return std::move(*row);
}

}  // namespace

EncodedLogRecord encode_log_record(const LogRecord& record) {
  EncodedLogRecord encoded;
  encoded.table = record.table;
  encoded.op = std::string(sync::op_name(record.op));
  encoded.pk_json = to_json(record.pk).dump();
  encoded.row_json = to_json(record.row).dump();
  if (record.old) encoded.old_json = to_json(*record.old).dump();
  encoded.hlc = record.stamp.hlc.to_string();
  encoded.node = record.stamp.node;
  encoded.at_ms = record.at_ms;
  return encoded;
}

std::vector<sync::Change> decode_log_entry(const LogEntry& entry) {
  sync::Change change;
  change.seq = entry.seq;
  change.table = std::string(entry.table);
  auto op = sync::parse_op(entry.op);
  if (!op)
    throw Error(ErrorCode::internal,
                fmt::format("corrupt change log entry {}: op '{}'", entry.seq, entry.op));
  change.op = *op;
  change.pk = parse_row(entry.pk_json, entry.seq, "pk");
  change.row = parse_row(entry.row_json, entry.seq, "row");
  auto hlc = sync::Hlc::parse(entry.hlc);
  change.stamp = sync::Stamp{hlc.value_or(sync::Hlc{}), std::string(entry.node)};
  change.committed_at_ms = entry.at_ms;
  if (change.op != sync::Op::update || !entry.old_json) return {std::move(change)};

  Row before = parse_row(*entry.old_json, entry.seq, "old");
  for (const auto& [column, value] : change.row) {
    auto it = before.find(column);
    if (it == before.end() || !(it->second == value)) {
      change.old.emplace(column, it == before.end() ? Value{} : it->second);
    }
  }
  bool key_changed = false;
  for (const auto& [column, value] : change.pk) {
    if (change.old.contains(column)) key_changed = true;
  }
  if (!key_changed) return {std::move(change)};

  sync::Change removed;
  removed.seq = change.seq;
  removed.table = change.table;
  removed.op = sync::Op::remove;
  for (const auto& [column, value] : change.pk)
    removed.pk.emplace(column, before.at(column));
  removed.row = std::move(before);
  removed.stamp = change.stamp;
  removed.committed_at_ms = change.committed_at_ms;
  change.op = sync::Op::insert;
  change.old.clear();
  return {std::move(removed), std::move(change)};
}

std::vector<sync::Change> decode_log_entries(std::size_t count,
                                             const std::function<LogEntry(std::size_t)>& entry_at) {
  std::vector<sync::Change> changes;
  changes.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    for (auto& change : decode_log_entry(entry_at(i)))
      changes.push_back(std::move(change));
  }
  return changes;
}

sync::Mutation mutation_of(const sync::Change& change) {
  sync::Mutation mutation;
  mutation.table = change.table;
  mutation.op = change.op;
  mutation.pk = change.pk;
  mutation.stamp = change.stamp;
  if (change.op == sync::Op::insert) {
    for (const auto& [column, value] : change.row) {
      if (!change.pk.contains(column)) mutation.values.emplace(column, value);
    }
  } else if (change.op == sync::Op::update) {
    for (const auto& [column, value] : change.old)
      mutation.values.emplace(column, change.row.at(column));
  }
  return mutation;
}

}  // namespace tandem::storage
