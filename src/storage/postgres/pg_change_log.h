// Tandem's change log in PostgreSQL (tandem.changes): appended in batches by the one capture
// writer, read by every node's publisher. Entries use the JSON text forms of the SQLite log
// (change_log_codec.h), so both datasources decode them with one codec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/change_log_codec.h"
#include "storage/postgres/pg_connection.h"
#include "sync/change.h"

namespace tandem::storage::postgres {

// Appends records with consecutive positions after `last_seq` in one statement; returns
// the new last position. Runs inside the caller's transaction.
std::uint64_t append_changes(PgConnection& connection, std::uint64_t last_seq,
                             const std::vector<LogRecord>& records);

std::uint64_t read_last_seq(PgConnection& connection);

// Changes with seq > after_seq, in order, at most `limit` entries.
std::vector<sync::Change> read_changes(PgConnection& connection, std::uint64_t after_seq,
                                       std::size_t limit);

// A PostgreSQL array literal of text elements, for unnest()-based batch statements.
std::string text_array_literal(const std::vector<std::optional<std::string>>& elements);

}  // namespace tandem::storage::postgres
