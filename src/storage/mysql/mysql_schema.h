// Tandem's own tables in the MySQL/MariaDB database (tandem_tracked_tables, tandem_changes,
// tandem_meta), the Esink-compatible events table, introspection of user tables and the
// capture triggers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/table_schema.h"
#include "storage/mysql/mysql_connection.h"

namespace tandem::storage::mysql {

// How a column's value is rendered by JSON_OBJECT in the triggers and reads
// (mysql_rows.h) and turned into a Value.
enum class MysqlKind {
  integer,       // tinyint..bigint (signed), unsigned up to int: JSON number
  big_unsigned,  // bigint unsigned: text digits in JSON, an integer when it fits
  boolean,       // tinyint(1) / BOOLEAN: JSON number 0/1 (any tinyint value is kept)
  real,          // float, double: JSON number
  decimal,       // decimal/numeric: text digits (exact)
  text,          // char, varchar, *text, enum, set, time: JSON string
  blob,          // binary, varbinary, *blob: base64 text in JSON
  bit,           // bit(n): its unsigned number
  date,          // date: 'YYYY-MM-DD'
  datetime,      // datetime: 'YYYY-MM-DD HH:MM:SS[.ffffff]'
  timestamp,     // timestamp: seconds since the epoch (UNIX_TIMESTAMP), zone independent
  year,          // year: JSON number
  json,          // json (longtext with json_valid): its text
  geometry,      // geometry types: their WKT text (ST_AsText)
};

// A table as the datasource uses it: what clients see and how each column is read, in the
// same order as schema.columns.
struct MysqlTable {
  TableSchema schema;
  std::vector<MysqlKind> kinds;

  MysqlKind kind_of(std::string_view column) const;
};

// Creates Tandem's tables and the events table when missing (idempotent). The events table
// is never dropped: events written while Tandem was down are published at the next start. An
// events table created by Esink (without old_data) gains that column.
void create_tandem_tables(MysqlConnection& connection, const std::string& events_table);

// Reads a table's columns and primary key from information_schema. Errors: not_found (no
// such base table in the connection's database), no_primary_key (when required); when the
// primary key is required (tracking), invalid_identifier for a table Tandem never tracks
// (check_trackable_table: the database is a system one, or a tandem_* table).
Result<MysqlTable> introspect(MysqlConnection& connection, const std::string& table,
                              bool require_primary_key = true);

// Names of the tracked tables, in name order.
std::vector<std::string> tracked_table_names(MysqlConnection& connection);

// `<table>_after_insert` etc. (Esink's names); shortened with a hash when longer than
// MySQL's 64-character limit.
std::string trigger_name(std::string_view table, std::string_view event);

// Installs (or atomically replaces, on MariaDB) the AFTER INSERT/UPDATE/DELETE triggers that
// write each row change into the events table.
void install_triggers(MysqlConnection& connection, const MysqlTable& table,
                      const std::string& events_table);
void drop_triggers(MysqlConnection& connection, const std::string& table);

// tandem_meta, a small key/value store.
std::optional<std::string> read_meta(MysqlConnection& connection, const std::string& key);
void write_meta(MysqlConnection& connection, const std::string& key, const std::string& value);

}  // namespace tandem::storage::mysql
