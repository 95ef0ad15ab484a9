// The capture path common to both modes: a committed change to a tracked table, as the
// trigger or the logical decoding stream delivers it, becomes a change-log record. Changes
// made through Tandem carry their mutation's stamp; changes made by other programs are
// stamped here by the server's clock (node "$db") and folded into the merge metadata, so that
// later pushes merge against them (docs/architecture.md, "PostgreSQL").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/postgres/pg_change_log.h"
#include "storage/postgres/pg_write_txn.h"
#include "sync/hlc.h"

namespace tandem::storage::postgres {

struct CapturedChange {
  std::string table;
  sync::Op op = sync::Op::insert;
  std::optional<Row> new_row;        // insert, update
  std::optional<Row> old_row;        // update, delete
  std::optional<sync::Stamp> stamp;  // set for changes written by Tandem
  std::int64_t writer_xid = 0;       // the writing transaction (32-bit xid)
  std::int64_t at_ms = 0;
};

// Log records for `changes` (in commit order). Outside changes are stamped and folded into
// tandem.rows on `connection`, inside the caller's transaction. Changes to tables that are
// no longer tracked are dropped.
std::vector<LogRecord> record_changes(PgConnection& connection, const PgTableLookup& tables,
                                      sync::HlcClock& clock, std::vector<CapturedChange> changes);

// Trigger mode: moves every committed row of tandem.capture into the log, inside the caller's
// transaction (a DELETE ... RETURNING sees exactly the committed rows; rows of transactions
// still running stay for the next pass). Returns the new last seq.
std::uint64_t move_captured(PgConnection& connection, const PgTableLookup& tables,
                            sync::HlcClock& clock, std::uint64_t last_seq,
                            std::size_t* moved = nullptr);

}  // namespace tandem::storage::postgres
