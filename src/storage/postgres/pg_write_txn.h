// WriteTxn over one PostgreSQL transaction: what the shared PushApplier needs.
//
// Rows written by other programs are folded into the merge metadata by the capture path,
// asynchronously. A push must never merge against a row whose outside write is not folded
// yet (it would decide with stale stamps), so loading a row checks that the metadata was
// written by the same transaction that wrote the row version (xmin). When it was not, the
// transaction asks the capture to catch up (`ensure_folded`) and loads again.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_schema.h"
#include "storage/write_txn.h"

namespace tandem::storage::postgres {

using PgTableLookup = std::function<const PgTable*(std::string_view)>;

class PgWriteTxn final : public WriteTxn {
 public:
  PgWriteTxn(PgConnection& connection, PgTableLookup tables, CaptureMode mode,
             std::function<void()> ensure_folded);

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

 private:
  const PgTable& table_of(const TableSchema& schema) const;
  std::int64_t current_xid();
  void set_stamp(const sync::Stamp& stamp);
  void write_row(const PgTable& table, const std::vector<Value>& key, const sync::RowState& state,
                 const sync::MergeEffect& effect);

  PgConnection& m_connection;
  PgTableLookup m_tables;
  CaptureMode m_mode;
  std::function<void()> m_ensure_folded;
  std::int64_t m_xid = -1;
  std::map<std::string, std::int64_t> m_loaded_xid;  // key -> xmin of the row version loaded
};

}  // namespace tandem::storage::postgres
