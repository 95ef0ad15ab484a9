// The logical replication stream of PostgreSQL's `pgoutput` plugin, protocol version 1
// (PostgreSQL 15 docs, "Streaming Replication Protocol" and "Logical Replication Message
// Formats"):
//  - the replication framing carried in CopyData messages of a COPY BOTH started by
//    `START_REPLICATION SLOT s LOGICAL 0/0 (proto_version '1', publication_names 'p', ...)`:
//    XLogData ('w') and primary keepalive ('k') from the server, the standby status update
//    ('r') the client answers with;
//  - the pgoutput messages inside XLogData (also what `pg_logical_slot_peek_binary_changes`
//    returns, one message per row).
//
// Pure functions over bytes: no connection, no allocation beyond the decoded values. Input
// that is truncated, has trailing bytes or an unknown tag is a `malformed_message` error
// naming the message and the offset; decoding never reads outside the given bytes.
// Protocol versions 2 and 3 (streamed and two-phase transactions) are not decoded: their
// messages are unknown tags here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace tandem::storage::postgres {

// A WAL position. Printed by PostgreSQL as two hex halves, "16/B374D848".
using Lsn = std::uint64_t;
// A PostgreSQL timestamp on the wire: microseconds since 2000-01-01 00:00:00 UTC.
using PgTimestamp = std::int64_t;

// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
inline constexpr std::int64_t kPgEpochUnixMicros = 946'684'800'000'000;

std::string format_lsn(Lsn lsn);                      // "16/B374D848"
std::optional<Lsn> parse_lsn(std::string_view text);  // the inverse; nullopt if malformed

// --- Replication framing (the payload of one CopyData message) --------------------------

// 'w': WAL data; `data` is one pgoutput message (decode with decode_pgoutput).
struct XLogData {
  Lsn wal_start = 0;
  Lsn wal_end = 0;
  PgTimestamp send_time = 0;
  std::string data;
  friend bool operator==(const XLogData&, const XLogData&) = default;
};

// 'k': the server's keepalive. With `reply_requested` the client must answer with a standby
// status update soon, or the server drops it after wal_sender_timeout.
struct PrimaryKeepalive {
  Lsn wal_end = 0;
  PgTimestamp send_time = 0;
  bool reply_requested = false;
  friend bool operator==(const PrimaryKeepalive&, const PrimaryKeepalive&) = default;
};

using ReplicationMessage = std::variant<XLogData, PrimaryKeepalive>;

Result<ReplicationMessage> decode_replication_message(std::string_view bytes);

// 'r': the client's progress report. The server may recycle WAL up to `flushed`; report
// the end LSN of the last commit that is durably applied, never more.
struct StandbyStatusUpdate {
  Lsn written = 0;
  Lsn flushed = 0;
  Lsn applied = 0;
  PgTimestamp clock = 0;  // the client's clock
  bool reply_requested = false;
};

// The 34 bytes to send as one CopyData message.
std::string encode_standby_status_update(const StandbyStatusUpdate& update);

// --- pgoutput messages --------------------------------------------------------------------

// One column of a TupleData.
struct TupleColumn {
  enum class Kind : char {
    null = 'n',
    unchanged_toast = 'u',  // a TOASTed value the update did not change; its value is not sent
    text = 't',             // `data` is the type's text output
    binary = 'b',           // `data` is the type's binary send form (only if requested)
  };
  Kind kind = Kind::null;
  std::string data;  // empty for null and unchanged_toast
  friend bool operator==(const TupleColumn&, const TupleColumn&) = default;
};

using TupleData = std::vector<TupleColumn>;

// Which old row an Update or Delete carries: the replica identity key columns only ('K';
// the other columns are null) or the full old row ('O', REPLICA IDENTITY FULL).
enum class OldTupleKind : char { key = 'K', full = 'O' };

struct BeginMessage {
  Lsn final_lsn = 0;  // the LSN of the commit record
  PgTimestamp commit_time = 0;
  std::uint32_t xid = 0;
  friend bool operator==(const BeginMessage&, const BeginMessage&) = default;
};

struct CommitMessage {
  std::uint8_t flags = 0;  // currently unused, 0
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;  // the end of the commit record: the LSN to confirm once applied
  PgTimestamp commit_time = 0;
  friend bool operator==(const CommitMessage&, const CommitMessage&) = default;
};

struct OriginMessage {
  Lsn commit_lsn = 0;  // on the origin server
  std::string name;
  friend bool operator==(const OriginMessage&, const OriginMessage&) = default;
};

struct RelationColumn {
  std::uint8_t flags = 0;  // bit 1: part of the replica identity key
  std::string name;
  std::uint32_t type_oid = 0;
  std::int32_t type_modifier = -1;
  bool is_key() const noexcept { return (flags & 1) != 0; }
  friend bool operator==(const RelationColumn&, const RelationColumn&) = default;
};

// Sent before the first change of a relation in a session and whenever its definition
// changed; later messages name the relation by `oid` only.
struct RelationMessage {
  std::uint32_t oid = 0;
  std::string namespace_name;  // empty for pg_catalog
  std::string name;
  char replica_identity = 'd';  // 'd' default, 'n' nothing, 'f' full, 'i' index
  std::vector<RelationColumn> columns;
  friend bool operator==(const RelationMessage&, const RelationMessage&) = default;
};

// Describes a non-builtin type (enum, domain, extension type) before its first use.
struct TypeMessage {
  std::uint32_t oid = 0;
  std::string namespace_name;
  std::string name;
  friend bool operator==(const TypeMessage&, const TypeMessage&) = default;
};

struct InsertMessage {
  std::uint32_t relation_oid = 0;
  TupleData new_tuple;
  friend bool operator==(const InsertMessage&, const InsertMessage&) = default;
};

// The old tuple is present only when the replica identity key changed ('K') or the table
// has REPLICA IDENTITY FULL ('O').
struct UpdateMessage {
  std::uint32_t relation_oid = 0;
  std::optional<OldTupleKind> old_kind;
  TupleData old_tuple;  // empty when old_kind is nullopt
  TupleData new_tuple;
  friend bool operator==(const UpdateMessage&, const UpdateMessage&) = default;
};

struct DeleteMessage {
  std::uint32_t relation_oid = 0;
  OldTupleKind old_kind = OldTupleKind::key;
  TupleData old_tuple;
  friend bool operator==(const DeleteMessage&, const DeleteMessage&) = default;
};

struct TruncateMessage {
  std::uint8_t options = 0;  // bit 1: CASCADE, bit 2: RESTART IDENTITY
  std::vector<std::uint32_t> relation_oids;
  bool cascade() const noexcept { return (options & 1) != 0; }
  bool restart_identity() const noexcept { return (options & 2) != 0; }
  friend bool operator==(const TruncateMessage&, const TruncateMessage&) = default;
};

// From pg_logical_emit_message(transactional, prefix, content), with `messages 'true'`.
struct LogicalMessage {
  bool transactional = false;
  Lsn lsn = 0;
  std::string prefix;
  std::string content;
  friend bool operator==(const LogicalMessage&, const LogicalMessage&) = default;
};

using PgOutputMessage =
    std::variant<BeginMessage, CommitMessage, OriginMessage, RelationMessage, TypeMessage,
                 InsertMessage, UpdateMessage, DeleteMessage, TruncateMessage, LogicalMessage>;

// Decodes exactly one pgoutput message occupying all of `bytes`.
Result<PgOutputMessage> decode_pgoutput(std::string_view bytes);

}  // namespace tandem::storage::postgres
