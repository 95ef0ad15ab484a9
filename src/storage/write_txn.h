// The primitives a datasource offers inside one write transaction. The push applier (shared
// by every datasource) is written against this, so that the exactly-once and merge logic
// exists once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/table_schema.h"
#include "sync/merge.h"

namespace tandem::storage {

struct ClientRecord {
  std::string user_id;
  std::uint64_t last_seq = 0;  // the last client_seq applied for this client
};

// A row a coming call will load.
struct RowRef {
  const TableSchema* table = nullptr;
  std::vector<Value> key;
};

class WriteTxn {
 public:
  virtual ~WriteTxn() = default;

  // A hint given before a group of pushes: the clients and rows the following calls will
  // load, so that an implementation can load them in bulk. The calls must give the same
  // results with or without it; the default ignores it.
  virtual void prefetch(const std::vector<std::string>& /*client_ids*/,
                        const std::vector<RowRef>& /*rows*/) {}

  virtual std::optional<ClientRecord> load_client(std::string_view client_id) = 0;
  virtual void save_client(std::string_view client_id, const ClientRecord& record) = 0;

  // The stored row with its merge state; nullopt when neither a row nor metadata exists.
  virtual std::optional<sync::RowState> load_row_state(const TableSchema& table,
                                                       const std::vector<Value>& key) = 0;

  // Makes the stored row match `state` as `effect` describes, and saves the metadata. The
  // change log records the write with `stamp`. Throws Error(invalid_mutation) when the
  // database refuses the row (a constraint); the caller rolls back to its savepoint.
  virtual void store_row_state(const TableSchema& table, const std::vector<Value>& key,
                               const sync::RowState& state, const sync::MergeEffect& effect,
                               const sync::Stamp& stamp) = 0;

  // Nested savepoint around one mutation, so that a refused mutation leaves the others.
  // Used through MutationSavepoint.
  virtual void savepoint() = 0;
  virtual void rollback_to_savepoint() = 0;
  virtual void release_savepoint() = 0;
};

// The value a stored row gets in `column` when `state` is written at `key`: its part of the
// key, the merged value, or nullptr when the merge has none (left to the column's default).
inline const Value* stored_value(const ColumnSchema& column, const std::vector<Value>& key,
                                 const sync::RowState& state) {
  if (column.primary_key_position > 0)
    return &key.at(static_cast<std::size_t>(column.primary_key_position - 1));
  auto it = state.values.find(column.name);
  return it == state.values.end() ? nullptr : &it->second;
}

// The savepoint around one mutation: released when the mutation is kept, rolled back when
// it is refused, and rolled back on the way out when an exception leaves the mutation
// (the whole transaction then rolls back too).
class MutationSavepoint {
 public:
  explicit MutationSavepoint(WriteTxn& txn) : m_txn(&txn) { txn.savepoint(); }
  ~MutationSavepoint() {
    if (!m_txn) return;
    try {
      m_txn->rollback_to_savepoint();
    } catch (...) {
      // An exception is already on its way: it rolls the transaction back.
    }
  }
  MutationSavepoint(const MutationSavepoint&) = delete;
  MutationSavepoint& operator=(const MutationSavepoint&) = delete;

  void release() {
    m_txn->release_savepoint();
    m_txn = nullptr;
  }
  // Throws when the database fails to roll back.
  void rollback() {
    m_txn->rollback_to_savepoint();
    m_txn = nullptr;
  }

 private:
  WriteTxn* m_txn;
};

}  // namespace tandem::storage
