// The local replica: the user's tables in a SQLite file plus Tandem's bookkeeping beside them
// (docs/client.md, "The local database"). Every method runs one SQLite transaction, so the
// data, the outbox, the merge metadata and the checkpoint always change together.
//
// Each row has a *base*: the row as the server last reported it (snapshot page, change, or the
// row in an ack exception), with the merge metadata learned from change stamps. The visible
// row is the base with the row's unacknowledged local mutations merged on top by
// sync::merge, the rule the server applies. When the outbox is empty the visible row is the
// base, which follows the server's change log in order: that is what makes every replica end
// equal to the server, whatever the stamps.
//
// Thread-safety: every method may be called from any thread; writes are serialized by one
// mutex, queries use a separate read-only connection (WAL), so reads never wait for sync.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/messages.h"
#include "storage/sqlite/sqlite_connection.h"
#include "sync/hlc.h"

namespace tandem::client {

enum class Origin { local, remote };

// One change to the visible content of the replica, reported to listeners after the
// transaction that made it has committed.
struct ChangeEvent {
  std::string table;
  sync::Op op = sync::Op::insert;
  Row pk;
  Origin origin = Origin::remote;
};

// A local mutation the server refused (ack exception with status "rejected").
struct Rejection {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::string table;
  Row pk;
};

struct ApplyResult {
  std::vector<ChangeEvent> events;
  std::vector<Rejection> rejections;
};

class LocalStore {
 public:
  // Opens (creating if needed) the replica at `path`. Throws tandem::Error when the file
  // cannot be opened or is not a Tandem replica's SQLite file.
  explicit LocalStore(const std::string& path);
  ~LocalStore();
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  const std::string& client_id() const { return m_client_id; }
  const std::string& path() const { return m_path; }

  // Makes the local schema match `tables` (the tables the user may see): creates missing
  // tables, adds new columns, drops columns and tables no longer listed (with their
  // bookkeeping and queued mutations). Used by `welcome`, and by `schema` when the server
  // sends it. Returns nothing to listeners: a dropped table is not a row change.
  void apply_tables(const std::vector<protocol::TableInfo>& tables);
  std::optional<protocol::TableInfo> table(std::string_view name) const;
  std::vector<protocol::TableInfo> tables() const;

  // ---- local writes (any thread) ----
  // invalid_mutation, unknown_table or forbidden for a write the replica can already tell
  // is wrong; else the write is applied locally and queued, and the events are returned.
  Result<std::vector<ChangeEvent>> insert(std::string_view table, const Row& row);
  Result<std::vector<ChangeEvent>> update(std::string_view table, const Row& pk, const Row& values);
  Result<std::vector<ChangeEvent>> remove(std::string_view table, const Row& pk);

  // ---- what the sync thread applies ----
  std::optional<protocol::Checkpoint> checkpoint() const;
  void begin_snapshot(const protocol::SnapshotBegin& begin);
  ApplyResult apply_snapshot_rows(const protocol::SnapshotRowsReceived& page);
  ApplyResult end_snapshot(const protocol::SnapshotEnd& end);
  ApplyResult apply_changes(const protocol::ChangesReceived& frame);
  // `sent_at_seq`: the checkpoint's seq when the acknowledged push was sent (see the .cpp).
  ApplyResult apply_ack(const protocol::Ack& ack, std::uint64_t sent_at_seq);

  // ---- outbox ----
  std::vector<protocol::PushedMutation> outbox_batch(std::size_t max_mutations) const;
  std::int64_t pending_count() const;

  // ---- reads (any thread) ----
  // Runs one SQL statement on a read-only connection; `params` are bound in order; each
  // result row is passed to `on_row` as column name -> value in column order; returning
  // false stops. bad_request for SQL that is not one read-only statement.
  using RowVisitor =
      std::function<bool(const std::vector<std::string>& names, const std::vector<Value>& row)>;
  Status query(std::string_view sql, const std::vector<Value>& params, const RowVisitor& on_row);

 private:
  struct Base;
  Result<std::vector<ChangeEvent>> write(sync::Mutation mutation);
  void ensure_bookkeeping();
  void load_meta();
  void set_meta(const std::string& key, const std::string& value);
  std::optional<std::string> meta(const std::string& key) const;
  void save_checkpoint(const protocol::Checkpoint& checkpoint);
  void create_or_alter(const protocol::TableInfo& table);
  void drop_table(const std::string& name);

  Base load_base(const std::string& table, const std::string& key) const;
  void save_base(const std::string& table, const std::string& key, const Row& pk, const Base& base);
  std::vector<sync::Mutation> pending_for(const std::string& table, const std::string& key) const;
  std::optional<Row> read_visible(const protocol::TableInfo& table, const Row& pk) const;
  void write_visible(const protocol::TableInfo& table, const Row& pk,
                     const std::optional<Row>& row);
  // Recomputes the visible row from base + pending mutations; records an event if it changed.
  void refresh(const protocol::TableInfo& table, const std::string& key, const Row& pk,
               Origin origin, std::vector<ChangeEvent>& events);
  void apply_change(const protocol::ChangeReceived& received, std::vector<ChangeEvent>& events);
  void observe(const sync::Hlc& hlc);

  std::string m_path;
  mutable std::mutex m_mutex;  // m_db, m_tables, m_next_seq, m_epoch
  std::unique_ptr<storage::SqliteConnection> m_db;
  std::mutex m_read_mutex;
  std::unique_ptr<storage::SqliteConnection> m_reader;
  std::map<std::string, protocol::TableInfo, std::less<>> m_tables;
  sync::HlcClock m_clock;
  std::string m_client_id;
  std::uint64_t m_next_seq = 1;
  std::int64_t m_epoch = 0;
};

// Canonical key text of a row's primary key (a JSON array of its values in key order).
std::string key_text(const TableSchema& schema, const Row& pk);

}  // namespace tandem::client
