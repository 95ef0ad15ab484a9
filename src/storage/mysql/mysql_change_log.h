// Tandem's change log in MySQL (tandem_changes): appended by the one capture mover, read by
// the publisher. Entries use the JSON text forms of the other datasources' logs
// (change_log_codec.h), so one codec decodes them all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/change_log_codec.h"
#include "storage/mysql/mysql_connection.h"
#include "sync/change.h"

namespace tandem::storage::mysql {

// Appends records at consecutive positions after `last_seq` (multi-row INSERTs with bound
// values). Runs inside the caller's transaction; returns the new last position.
std::uint64_t append_changes(MysqlConnection& connection, std::uint64_t last_seq,
                             const std::vector<LogRecord>& records);

std::uint64_t read_last_seq(MysqlConnection& connection);

// Changes with seq > after_seq, in order, at most `limit` entries.
std::vector<sync::Change> read_changes(MysqlConnection& connection, std::uint64_t after_seq,
                                       std::size_t limit);

}  // namespace tandem::storage::mysql
