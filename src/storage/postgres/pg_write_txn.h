// WriteTxn over one PostgreSQL transaction: what the shared PushApplier needs.
//
// Rows written by other programs are folded into the merge metadata by the capture path,
// asynchronously. A push must never merge against a row whose outside write is not folded
// yet (it would decide with stale stamps), so loading a row checks that the metadata was
// written by the same transaction that wrote the row version (xmin). When it was not, the
// transaction asks the capture to catch up (`ensure_folded`) and loads again.
//
// Two modes. Mutation by mutation (the default): every call runs its statements at once,
// inside the savepoint the applier opens per mutation. Batched (after `prefetch`): the
// clients and rows of a whole group are loaded with one query per table, mutations merge
// against that in-memory copy, and the writes are buffered and sent in pipeline mode by
// `flush`, without savepoints; in logical capture mode, consecutive inserts into one table
// become one multi-row INSERT. A batch either commits whole or fails with BatchFailed; the
// caller then rolls back and applies the group again mutation by mutation, so that a
// mutation the database refuses is reported alone.
#pragma once

#include <exception>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_pipeline.h"
#include "storage/postgres/pg_rows.h"
#include "storage/postgres/pg_schema.h"
#include "storage/write_txn.h"

namespace tandem::storage::postgres {

using PgTableLookup = std::function<const PgTable*(std::string_view)>;

// Logical decoding messages by which a push tells the capture the stamps of its row changes:
// `tandem` holds the stamp of the row changes that follow; `tandem-rows` holds one stamp per
// line for the next row changes of the transaction, one each, in order (a multi-row INSERT).
inline constexpr std::string_view kStampMessage = "tandem";
inline constexpr std::string_view kRowStampsMessage = "tandem-rows";

// A batched transaction could not complete; `cause` is why. Not a tandem::Error, so that the
// push applier does not take it for one mutation's refusal.
class BatchFailed : public std::exception {
 public:
  // NOLINTNEXTLINE(bugprone-throw-keyword-missing): the Error is kept, not thrown.
  explicit BatchFailed(Error cause) : m_cause(std::move(cause)) {}
  const Error& cause() const noexcept { return m_cause; }
  const char* what() const noexcept override { return "batched push failed"; }

 private:
  Error m_cause;
};

class PgWriteTxn final : public WriteTxn {
 public:
  PgWriteTxn(PgConnection& connection, PgTableLookup tables, CaptureMode mode,
             std::function<void()> ensure_folded);

  // Switches to batched mode and loads the clients and rows in bulk (locked, like the
  // single loads). Throws BatchFailed when the batch cannot be used.
  void prefetch(const std::vector<std::string>& client_ids,
                const std::vector<RowRef>& rows) override;
  // Batched mode: sends every buffered write. Throws BatchFailed; the transaction must then
  // be rolled back. Does nothing in the other mode.
  void flush();

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
  // A row of a batch as this transaction has made it so far.
  struct CachedRow {
    std::optional<sync::RowState> state;
    std::int64_t loaded_xid = 0;  // xmin of the row version loaded
    bool dirty = false;           // its metadata must be saved
    bool written = false;         // this transaction wrote the row
  };
  // Consecutive inserts of a batch into one table with the same columns (logical mode).
  struct InsertRun {
    const PgTable* table = nullptr;
    std::vector<std::string> columns;
    std::vector<std::vector<Param>> values;  // per column, one per row
    std::vector<std::string> stamps;         // one per row
    std::set<MetadataKey> keys;
    bool empty() const { return stamps.empty(); }
  };
  // One table's share of a prefetch: keys (as metadata keys) and their key values.
  struct TableKeys {
    std::vector<MetadataKey> names;
    std::vector<const std::vector<Value>*> keys;
  };

  const PgTable& table_of(const TableSchema& schema) const;
  std::int64_t current_xid();
  Statement stamp_statement(const sync::Stamp& stamp) const;
  std::optional<Statement> row_statement(const PgTable& table, const std::vector<Value>& key,
                                         const sync::RowState& state,
                                         const sync::MergeEffect& effect) const;
  void store_now(const PgTable& table, const MetadataKey& name, const std::vector<Value>& key,
                 const sync::RowState& state, const sync::MergeEffect& effect,
                 const sync::Stamp& stamp);
  void add_to_run(const PgTable& table, const MetadataKey& name, const std::vector<Value>& key,
                  const sync::RowState& state, const sync::Stamp& stamp);
  void close_run();
  void store_batched(const PgTable& table, const MetadataKey& name, CachedRow& cached,
                     const std::vector<Value>& key, const sync::RowState& state,
                     const sync::MergeEffect& effect, const sync::Stamp& stamp);
  void load_clients(const std::vector<std::string>& client_ids);
  void load_rows(const std::map<const PgTable*, TableKeys>& tables);
  void run_pending();

  PgConnection& m_connection;
  PgTableLookup m_tables;
  CaptureMode m_mode;
  std::function<void()> m_ensure_folded;
  std::int64_t m_xid = -1;
  std::map<MetadataKey, std::int64_t> m_loaded_xid;  // xmin of the row version loaded

  bool m_batched = false;
  std::map<MetadataKey, CachedRow> m_rows;
  std::map<std::string, std::optional<ClientRecord>, std::less<>> m_clients;
  std::set<std::string, std::less<>> m_dirty_clients;
  PgPipeline m_pending;
  InsertRun m_run;
};

}  // namespace tandem::storage::postgres
