// The capture mover: events written by the triggers into the events table become change-log
// entries. Each batch is one MySQL transaction that appends the entries to tandem_changes and
// deletes exactly the event rows it read, so a crash at any point either keeps both (the
// events are moved again, once) or neither: nothing is lost or logged twice.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_schema.h"
#include "sync/hlc.h"

namespace tandem::storage::mysql {

using MysqlTableLookup = std::function<const MysqlTable*(std::string_view table)>;

struct MoveOptions {
  std::string events_table = "pub_events";
  std::size_t batch = 1000;  // events per transaction
  // Fault injection for tests: runs inside the transaction after the append and before the
  // delete; an exception it throws (or a connection it kills) rolls the batch back.
  std::function<void()> before_delete;
};

struct MoveOutcome {
  std::uint64_t last_seq = 0;  // the log's last position after the move
  std::size_t moved = 0;       // events appended to the log
  std::size_t dropped = 0;     // events of untracked tables or unreadable, deleted unlogged
};

// Moves every committed event, batch by batch, in id order. Events written by other programs
// are stamped now by `clock` with node "$db". `last_seq` is the caller's last known position;
// each batch re-reads it under the capture lock (tandem_meta 'capture_owner' FOR UPDATE), so
// two movers on one database never hand out a position twice. Throws MysqlError; the batch
// in progress is rolled back.
MoveOutcome move_events(MysqlConnection& connection, const MysqlTableLookup& tables,
                        sync::HlcClock& clock, std::uint64_t last_seq, const MoveOptions& options);

// BEGIN ... COMMIT on one connection; rolls back when left without commit().
class MysqlTransaction {
 public:
  explicit MysqlTransaction(MysqlConnection& connection);
  ~MysqlTransaction();
  MysqlTransaction(const MysqlTransaction&) = delete;
  MysqlTransaction& operator=(const MysqlTransaction&) = delete;
  void commit();

 private:
  MysqlConnection& m_connection;
  bool m_open = true;
};

// Inside a transaction: takes the capture lock and returns the log's last position.
std::uint64_t lock_capture(MysqlConnection& connection);

}  // namespace tandem::storage::mysql
