// WriteTxn on the SQLite writer connection, inside a transaction the caller opened.
#pragma once

#include "storage/sqlite/sqlite_connection.h"
#include "storage/write_txn.h"

namespace tandem::storage::sqlite {

class SqliteWriteTxn final : public WriteTxn {
 public:
  explicit SqliteWriteTxn(SqliteConnection& connection) : m_connection(connection) {}

  std::optional<ClientRecord> load_client(std::string_view client_id) override;
  void save_client(std::string_view client_id, const ClientRecord& record) override;
  std::optional<sync::RowState> load_row_state(const TableSchema& table,
                                               const std::vector<Value>& key) override;
  void store_row_state(const TableSchema& table, const std::vector<Value>& key,
                       const sync::RowState& state, const sync::MergeEffect& effect,
                       const sync::Stamp& stamp) override;
  void savepoint() override;
  void rollback_to_savepoint() override;
  void release_savepoint() override;

  // The merge metadata alone (no stored row), for folding outside writes into it.
  std::optional<sync::RowState> load_metadata(const std::string& table, const std::string& key);
  void save_metadata(const std::string& table, const std::string& key, const sync::RowState& state);

  // Stamp recorded by the capture triggers for the writes that follow; clear before commit.
  void set_write_context(const sync::Stamp& stamp);
  void clear_write_context();

 private:
  std::optional<Row> load_row(const TableSchema& table, const std::vector<Value>& key);
  void write_row(const TableSchema& table, const std::vector<Value>& key,
                 const sync::RowState& state, const sync::MergeEffect& effect);

  SqliteConnection& m_connection;
};

// " WHERE "a" = ?N AND "b" = ?N+1" for the table's primary key, parameters from `first`.
std::string key_predicate(const TableSchema& table, int first);

}  // namespace tandem::storage::sqlite
