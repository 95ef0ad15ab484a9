// Schema introspection and change-capture DDL for SQLite.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "common/table_schema.h"
#include "storage/sqlite/sqlite_connection.h"

namespace tandem::storage::sqlite {

// Creates Tandem's own tables when missing (idempotent).
void create_tandem_tables(SqliteConnection& connection);

// Reads a table's columns and primary key (possibly empty). not_found when there is no such
// table.
Result<TableSchema> introspect_columns(SqliteConnection& connection, const std::string& table);

// Reads a table's columns and primary key. not_found when there is no such table;
// no_primary_key when it has none (rowid alone does not identify a row across replicas);
// invalid_identifier for SQLite's and Tandem's own tables (check_trackable_table).
Result<TableSchema> introspect(SqliteConnection& connection, const std::string& table);

// Maps a declared SQLite type ("VARCHAR(20)", "BOOLEAN", ...) to a Tandem column type.
ColumnType map_declared_type(std::string_view declared);

// Drops and recreates the three capture triggers of a table for its current columns.
void install_capture(SqliteConnection& connection, const TableSchema& table);
void drop_capture(SqliteConnection& connection, const std::string& table);

// SQL expression building the JSON object of a row's columns from `prefix` ("NEW", "OLD" or
// a table alias); blobs become {"$hex": "..."} because JSON has no bytes.
std::string row_json_sql(const TableSchema& table, const std::string& prefix);
std::string key_json_sql(const TableSchema& table, const std::string& prefix);

// SQL expression for the current time in milliseconds since the epoch.
inline constexpr const char* kNowMillisSql =
    "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

}  // namespace tandem::storage::sqlite
