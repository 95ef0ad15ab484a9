// Tandem's own tables in PostgreSQL (schema `tandem`), introspection of user tables, and the
// capture DDL of both capture modes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/table_schema.h"
#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_types.h"

namespace tandem::storage::postgres {

enum class CaptureMode { logical, trigger };
std::string_view capture_mode_name(CaptureMode mode);

// A tracked table: what clients see (schema) and the PostgreSQL type of each column, in the
// same order as schema.columns.
struct PgTable {
  TableSchema schema;
  std::vector<PgType> types;
  std::uint32_t oid = 0;

  const PgType& type_of(std::string_view column) const;
};

// Creates the `tandem` schema and its tables when missing (idempotent, safe to race).
void create_tandem_tables(PgConnection& connection);

// Reads a table's columns, types and primary key (possibly empty). not_found when there is no
// such table (in the search path).
Result<PgTable> describe_table(PgConnection& connection, const std::string& table);

// Reads a table's columns, types and primary key. not_found when there is no such table
// (in the search path), no_primary_key when it has none, invalid_identifier when the name
// resolves to a system schema's table (check_trackable_table: pg_catalog, tandem, ...).
Result<PgTable> introspect(PgConnection& connection, const std::string& table);

// Names of the tracked tables, in name order.
std::vector<std::string> tracked_table_names(PgConnection& connection);

// Trigger mode: a row trigger per table appends to tandem.capture. Generic over the
// columns (row_to_json), so an ALTER TABLE never breaks another program's writes.
void install_capture_trigger(PgConnection& connection, const std::string& table);
void drop_capture_trigger(PgConnection& connection, const std::string& table);

// Logical mode: the publication lists exactly the tracked tables.
inline constexpr const char* kPublication = "tandem_publication";
void sync_publication(PgConnection& connection, const std::vector<std::string>& tables);

// Updates and deletes must carry the whole old row (owner and routing columns), so tracked
// tables get REPLICA IDENTITY FULL; the previous setting is restored on untrack.
std::string replica_identity(PgConnection& connection, const std::string& table);
void set_replica_identity(PgConnection& connection, const std::string& table,
                          const std::string& identity);

// tandem.meta, a small key/value store.
std::optional<std::string> read_meta(PgConnection& connection, const std::string& key);
void write_meta(PgConnection& connection, const std::string& key, const std::string& value);

}  // namespace tandem::storage::postgres
