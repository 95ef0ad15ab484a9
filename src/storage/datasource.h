// The Datasource interface: everything the server needs from one database. SQLite is the
// embedded default; PostgreSQL and MySQL/MariaDB plug in behind the same interface.
//
// Errors: operations throw tandem::Error for unexpected failures (I/O, a lost connection);
// outcomes that depend on input (a refused mutation, an untrackable table) are values or
// Errors with a stable code, as documented per function.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/row_filter.h"
#include "common/table_schema.h"
#include "storage/log_head.h"
#include "sync/change.h"
#include "sync/hlc.h"
#include "sync/mutation.h"

namespace tandem::storage {

// Decides whether a user may apply a mutation, and may complete it (e.g. fill in the owner
// column). `existing` is the visible stored row (nullptr when absent). Called inside the
// write transaction, so the decision and the write see the same row.
using WriteAuthorizer =
    std::function<Status(const TableSchema& table, const Row* existing, sync::Mutation& mutation)>;

// Decides the row a user's write leaves, after the merge and before it is stored: `merged`
// is the live row, `inherits_others_values` tells that the write revives a deleted row with
// values other users wrote after its delete (which the writer would then read).
using ResultAuthorizer =
    std::function<Status(const TableSchema& table, const Row& merged, bool inherits_others_values)>;

struct ClientMutation {
  std::uint64_t client_seq = 0;  // per-client sequence number, strictly increasing
  sync::Mutation mutation;
};

// One push from one client: applied exactly once, whatever the number of retries.
struct PushRequest {
  std::string client_id;
  std::string user_id;
  std::vector<ClientMutation> mutations;  // in client_seq order
  WriteAuthorizer authorize;
  ResultAuthorizer authorize_result;  // optional: none accepts every merged row
};

struct MutationOutcome {
  enum class Kind { applied, superseded, rejected };
  std::uint64_t client_seq = 0;
  Kind kind = Kind::applied;
  ErrorCode code = ErrorCode::ok;  // rejected: why
  std::string message;
  // superseded/rejected: the stored row as the user may see it now (nullopt: no visible
  // row), so that the client can drop its local version.
  std::optional<Row> current_row;
  // The row is not echoed (current_row is empty) although one may exist: a later exception
  // of the same push echoes it, or the push's echoes reached their byte bound. The client
  // learns the row from the change stream.
  bool row_omitted = false;
  std::string table;
  Row pk;
};

struct PushResult {
  // Every mutation up to this client_seq has been applied or refused, durably.
  std::uint64_t acked_seq = 0;
  // Mutations that did not apply as sent (superseded by later writes, or refused).
  std::vector<MutationOutcome> exceptions;
  // When set, nothing was applied (e.g. the client id belongs to another user).
  std::optional<Error> error;
};

struct SnapshotRequest {
  const TableSchema* table = nullptr;
  // The rows the reader may see: exactly those `passes(filter, row, memberships)` accepts
  // for the row as the snapshot reads it back (common/row_filter.h), decided by the database
  // with every value bound, never spliced. A column the table lacks reads as NULL. Reading
  // throws Error(invalid_identifier) when a membership names an invalid table or column, and
  // Error(not_found) when its table is not tracked (membership tables are tracked tables: the
  // backends take their description from the tracked set instead of asking the database's
  // catalog for every page).
  RowFilter filter = RowFilter::always();
  std::optional<std::vector<Value>> after_key;  // resume strictly after this primary key
  std::size_t limit = 500;
};

struct SnapshotPage {
  std::vector<Row> rows;
  bool done = false;  // no rows after the last one
};

struct DatasourceHealth {
  bool reachable = false;
  std::string detail;
  std::uint64_t head_seq = 0;    // last published-ready change
  std::uint64_t oldest_seq = 0;  // oldest change still in the log (retention horizon)
  std::size_t tracked_tables = 0;
};

struct HardResetReport {
  std::uint64_t rows = 0;
};

// Threads (common/thread_role.h). A datasource has its own writer thread (and PostgreSQL's
// logical mode a capture thread); the calls below say which threads may make them:
//  - "never blocks": any thread, I/O threads included. Cached state and queues only.
//  - "may block": waits on the database or on the writer thread. The work pool, the change
//    publisher, admin jobs, main and tests; never an I/O thread (debug builds abort when
//    one does: the reader connections and the writer's job queue check it).

// Administration of the tracked tables. Every call may block.
class TableAdministration {
 public:
  virtual ~TableAdministration() = default;

  // Starts tracking: installs capture. Errors: invalid_identifier, not_found (no such
  // table), no_primary_key. Tracking a tracked table refreshes its schema.
  virtual Result<TableSchema> track(std::string_view table) = 0;
  virtual Status untrack(std::string_view table) = 0;
  // Re-reads every tracked table's schema after ALTER TABLE and reinstalls capture.
  virtual std::vector<TableSchema> reload() = 0;
  // Records every existing row of the table in the change log as an insert at the zero
  // stamp, so that rows that existed before tracking reach clients (and lose against every
  // real write under the merge rule). Runs in bounded chunks (hard_reset.h), each its own
  // transaction, so that pushes are not held up. `progress(done, total)` is called after
  // each chunk on the caller's thread; an exception it throws abandons the reset and
  // propagates (the chunks logged stay valid: a reset may be repeated). Errors: not_found
  // (not tracked).
  virtual Result<HardResetReport> hard_reset(
      std::string_view table, std::function<void(std::uint64_t, std::uint64_t)> progress) = 0;
};

// The policy every backend shares is written here once, in non-virtual functions (as
// LiteCore's DataFile does): the log head, which entries a reader may see, the health
// report. A backend implements the pure virtual primitives and publishes its log head.
class Datasource : public TableAdministration {
 public:
  ~Datasource() override = default;

  // --- Never blocks ---------------------------------------------------------------------
  virtual std::string_view kind() const = 0;  // "sqlite", "postgres", ...

  // Current schemas of the tracked tables (cached; refreshed by track/untrack/reload).
  // Ordering contract the live stream relies on: tables() includes a table (with its new
  // columns) before any change captured by track()/reload() for it can be read by
  // read_changes(). Changes made by another process (another server, `tandem tables` on the
  // file) are seen only after this process's reload().
  virtual std::vector<TableSchema> tables() = 0;

  // Queues pushes; `done` is called on the writer thread after the commit (several pushes
  // may share one transaction: group commit), or at once with shutting_down once closed.
  virtual void submit(PushRequest request, std::function<void(PushResult)> done) = 0;

  // Position of the newest change that can be read (0 when empty).
  std::uint64_t head_seq() const { return m_head.current(); }

  // --- May block: change log ------------------------------------------------------------
  // Brings the log up to date with what other programs committed before the call (while
  // the server was down, a demo's rows): their changes are stamped and logged, and
  // head_seq() covers them. The server calls it before it takes clients, so that the first
  // clients' checkpoints are exact (nothing they snapshot arrives again later).
  virtual void catch_up() = 0;
  // The oldest position a client may resume from; older checkpoints need a new snapshot.
  virtual std::uint64_t horizon_seq() = 0;
  // Changes with seq > after_seq up to head_seq(), in seq order, at most `limit`. Entries
  // past the head are never returned: they may belong to a transaction not published yet.
  std::vector<sync::Change> read_changes(std::uint64_t after_seq, std::size_t limit);
  // Blocks until a change after `after_seq` can be read, or the timeout passes. Returns
  // head_seq(). Called by the one publisher thread per datasource. A backend that must
  // look for other programs' writes while it waits (SQLite) overrides it.
  virtual std::uint64_t wait_for_changes(std::uint64_t after_seq,
                                         std::chrono::milliseconds timeout);

  // --- May block: reads -----------------------------------------------------------------
  virtual SnapshotPage read_snapshot(const SnapshotRequest& request) = 0;
  // How many rows a snapshot of the request's table (and filter) holds now: the total of
  // an initial sync's progress. `after_key` and `limit` are ignored.
  virtual std::uint64_t count_rows(const SnapshotRequest& request) = 0;

  // Rows of any table, tracked or not, whose `column` equals `value` (compared as the
  // database compares them), at most `limit`. Serves lookups such as Esink's token table
  // (AUTH_TABLE.AUTH_COLUMN). Identifiers are validated and quoted; the value is bound.
  // Errors: invalid_identifier; not_found (no such table or column).
  virtual Result<std::vector<Row>> lookup_rows(std::string_view table, std::string_view column,
                                               const Value& value, std::size_t limit) = 0;

  // Whether the database answers, the log's extent and the capture's state. Never throws:
  // an unreachable database is reported, with the reason as the detail.
  DatasourceHealth health();

  // Largest clock in durable state, so a restarted server's clock never goes backwards.
  virtual sync::Hlc max_clock() = 0;

  // Stops background threads; pending submits complete first. Idempotent.
  virtual void close() = 0;

 protected:
  // The thread that commits log entries publishes the new head after each commit.
  LogHead& log_head() { return m_head; }

  // Log entries with after_seq < seq <= head, in seq order, at most `limit` (a backend may
  // return entries past `head`: they are dropped).
  virtual std::vector<sync::Change> read_log(std::uint64_t after_seq, std::uint64_t head,
                                             std::size_t limit) = 0;
  // Asks the database something (throws Error when it cannot answer) and describes the
  // capture for health(): e.g. "capture: trigger", the replication slot's lag.
  virtual std::string probe_and_describe() = 0;

 private:
  LogHead m_head;
};

}  // namespace tandem::storage
