// Sync protocol v1 messages (docs/protocol.md is the specification; this is its C++ form).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/error.h"
#include "common/table_schema.h"
#include "common/value.h"
#include "sync/change.h"
#include "sync/mutation.h"

namespace tandem::protocol {

inline constexpr int kProtocolVersion = 1;

// Where a client stands. `seq`: the change-log position its replica is consistent with.
// With `snapshot` set, the client is inside a snapshot taken at `seq` and has every row of
// the tables before `table` and of `table` up to the key `after`.
struct Checkpoint {
  std::uint64_t seq = 0;
  struct SnapshotCursor {
    std::string table;
    std::vector<Value> after;  // primary key of the last row received; empty: none yet
  };
  std::optional<SnapshotCursor> snapshot;
  // The digest of the permission rules under which the replica's rows were chosen, as the
  // last snapshot_begin gave it (docs/protocol.md); empty when none was given. Sent by
  // clients in hello; the server's checkpoints leave it out.
  std::string rules;
};

// ---- client -> server ----------------------------------------------------------------

struct Hello {
  int protocol = kProtocolVersion;
  std::string token;
  std::string client_id;
  std::optional<Checkpoint> checkpoint;  // none: a new replica
};

struct PushedMutation {
  std::uint64_t client_seq = 0;
  sync::Mutation mutation;  // stamp.node is the client id, filled by the server
};

struct Push {
  std::vector<PushedMutation> mutations;
};

struct Ping {
  std::optional<std::int64_t> id;
};

using ClientMessage = std::variant<Hello, Push, Ping>;

// ---- server -> client ----------------------------------------------------------------

// Which rows of a table a user reads (docs/protocol.md, "welcome"): every row ("public"),
// their own by an owner column ("private"), or those permission rules let them ("filtered").
enum class TableAccess { everyone, owner, rules };

struct TableInfo {
  TableSchema schema;
  TableAccess access = TableAccess::everyone;
  std::string owner_column;  // TableAccess::owner only
  bool writable = false;     // whether this user may write it
};

struct Welcome {
  std::string user;
  std::string role;
  std::vector<TableInfo> tables;
  std::uint64_t server_seq = 0;  // the log's head when the session started
  bool snapshot = false;         // whether a snapshot follows
};

// The tracked tables changed while the session runs (docs/protocol.md, "schema"): the whole
// list the user can read, in the form of welcome's `tables`. May arrive any time after
// welcome; changes to a table never arrive before the schema message that announces it.
struct Schema {
  std::vector<TableInfo> tables;
};

struct SnapshotBegin {
  std::uint64_t seq = 0;
  bool reset = true;                  // false when resuming an interrupted snapshot
  std::optional<std::uint64_t> rows;  // how many rows the snapshot holds (for progress)
  // The digest of the rules that choose the user's rows (Checkpoint::rules); empty when the
  // server has no rules file or the user is an admin.
  std::string rules;
};

struct SnapshotRows {
  std::string table;
  const std::vector<Row>* rows = nullptr;  // borrowed while encoding
  Checkpoint checkpoint;
};

struct SnapshotEnd {
  Checkpoint checkpoint;
};

struct AckException {
  std::uint64_t client_seq = 0;
  bool rejected = false;  // false: superseded
  ErrorCode code = ErrorCode::ok;
  std::string message;
  std::string table;
  Row pk;
  std::optional<Row> row;  // the row as the user may see it now; none: no visible row
  // No `row` on the wire: the row is echoed by a later exception of the same ack, or not at
  // all (the ack's echoes are bounded); the client keeps what it knows of the row.
  bool row_omitted = false;
};

struct Ack {
  std::uint64_t client_seq = 0;
  std::vector<AckException> exceptions;
};

struct ErrorMessage {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  bool fatal = false;  // the server closes the connection after sending it
};

struct Pong {
  std::optional<std::int64_t> id;
};

using ServerMessage = std::variant<Welcome, SnapshotBegin, SnapshotRows, SnapshotEnd, Ack,
                                   ErrorMessage, Pong, Schema>;

// ---- server -> client, as a client decodes them ---------------------------------------
// The server encodes snapshot pages and change frames from borrowed or pre-encoded data; a
// client decodes them into these owning forms.

struct SnapshotBeginReceived {
  SnapshotBegin begin;
  std::optional<std::uint64_t> rows;  // the server's estimate of the rows to come, if sent
};

struct SnapshotRowsReceived {
  std::string table;
  std::vector<Row> rows;
  Checkpoint checkpoint;
};

struct ChangeReceived {
  sync::Change change;               // `old` is empty: the wire carries only the names in `changed`
  std::vector<std::string> changed;  // update: the columns the change wrote
};

struct ChangesReceived {
  std::vector<ChangeReceived> changes;
  Checkpoint checkpoint;
};

using ServerMessageReceived =
    std::variant<Welcome, SnapshotBeginReceived, SnapshotRowsReceived, SnapshotEnd, ChangesReceived,
                 Ack, ErrorMessage, Pong, Schema>;

}  // namespace tandem::protocol
