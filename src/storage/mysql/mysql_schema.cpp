#include "storage/mysql/mysql_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/identifier.h"
#include "storage/mysql/mysql_rows.h"

namespace tandem::storage::mysql {
namespace {

bool is_one_of(std::string_view value, std::initializer_list<std::string_view> options) {
  return std::find(options.begin(), options.end(), value) != options.end();
}

MysqlKind kind_for(std::string_view data_type, std::string_view column_type, bool json_checked) {
  if (data_type == "json" || json_checked) return MysqlKind::json;
  if (is_one_of(data_type, {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"})) {
    if (column_type == "tinyint(1)") return MysqlKind::boolean;
    if (data_type == "bigint" && column_type.find("unsigned") != std::string_view::npos)
      return MysqlKind::big_unsigned;
    return MysqlKind::integer;
  }
  if (is_one_of(data_type, {"float", "double", "real", "double precision"})) return MysqlKind::real;
  if (is_one_of(data_type, {"decimal", "numeric", "fixed"})) return MysqlKind::decimal;
  if (is_one_of(data_type, {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}))
    return MysqlKind::blob;
  if (data_type == "bit") return MysqlKind::bit;
  if (data_type == "date") return MysqlKind::date;
  if (data_type == "datetime") return MysqlKind::datetime;
  if (data_type == "timestamp") return MysqlKind::timestamp;
  if (data_type == "year") return MysqlKind::year;
  if (is_one_of(data_type, {"geometry", "point", "linestring", "polygon", "multipoint",
                            "multilinestring", "multipolygon", "geometrycollection"}))
    return MysqlKind::geometry;
  return MysqlKind::text;
}

ColumnType portable_type(MysqlKind kind, std::string_view data_type) {
  switch (kind) {
    case MysqlKind::integer:
    case MysqlKind::big_unsigned:
    case MysqlKind::bit:
    case MysqlKind::year:
      return ColumnType::integer;
    case MysqlKind::boolean:
      return ColumnType::boolean;
    case MysqlKind::real:
      return ColumnType::real;
    case MysqlKind::decimal:
      return ColumnType::numeric;
    case MysqlKind::blob:
      return ColumnType::blob;
    case MysqlKind::date:
      return ColumnType::date;
    case MysqlKind::datetime:
    case MysqlKind::timestamp:
      return ColumnType::timestamp;
    case MysqlKind::json:
      return ColumnType::json;
    case MysqlKind::geometry:
      return ColumnType::text;
    case MysqlKind::text:
      return data_type == "uuid" ? ColumnType::uuid : ColumnType::text;
  }
  return ColumnType::text;
}

// Columns of `table` whose CHECK constraint is MariaDB's json_valid(): MariaDB's JSON type
// is LONGTEXT with that constraint. MySQL reports JSON itself and has no TABLE_NAME here.
std::set<std::string> json_checked_columns(MysqlConnection& connection, const std::string& table) {
  std::set<std::string> columns;
  if (!connection.is_mariadb()) return columns;
  auto result = connection.query(
      "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
      "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ? AND LEVEL = 'Column'",
      {Value(table)});
  for (std::size_t row = 0; row < result.rows(); ++row) {
    auto name = std::string(result.text(row, 0));
    if (result.text(row, 1) == "json_valid(" + quote_name(name) + ")") columns.insert(name);
  }
  return columns;
}

std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace

MysqlKind MysqlTable::kind_of(std::string_view column) const {
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    if (schema.columns[i].name == column) return kinds[i];
  }
  throw Error(ErrorCode::internal,
              fmt::format("table '{}' has no column '{}'", schema.name, column));
}

void create_tandem_tables(MysqlConnection& connection, const std::string& events_table) {
  connection.exec(
      "CREATE TABLE IF NOT EXISTS tandem_tracked_tables ("
      "name VARCHAR(64) NOT NULL PRIMARY KEY, "
      "tracked_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
  connection.exec(
      "CREATE TABLE IF NOT EXISTS tandem_changes ("
      "seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
      "tbl VARCHAR(64) NOT NULL, "
      "op VARCHAR(8) NOT NULL, "
      "pk LONGTEXT NOT NULL, "
      "row_data LONGTEXT NOT NULL, "
      "old_data LONGTEXT NULL, "
      "hlc VARCHAR(64) NOT NULL, "
      "node VARCHAR(128) NOT NULL, "
      "at_ms BIGINT NOT NULL, "
      "logged_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "
      "KEY tandem_changes_logged_at (logged_at)"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
  connection.exec(
      "CREATE TABLE IF NOT EXISTS tandem_meta ("
      "name VARCHAR(64) NOT NULL PRIMARY KEY, "
      "value TEXT NOT NULL"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
  // The row every capture transaction locks first: one mover at a time, even across
  // processes, so that seq positions are never handed out twice.
  connection.exec("INSERT IGNORE INTO tandem_meta (name, value) VALUES ('capture_owner', '')");
  // Esink's columns (id, data, table_name, type, created_at) plus old_data for updates.
  connection.exec(
      fmt::format("CREATE TABLE IF NOT EXISTS {} ("
                  "id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                  "data JSON NOT NULL, "
                  "old_data JSON NULL, "
                  "table_name VARCHAR(128) NOT NULL, "
                  "type VARCHAR(64) NOT NULL, "
                  "created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
                  ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
                  quote_name(events_table)));
  auto has_old = connection.query(
      "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
      "AND TABLE_NAME = ? AND COLUMN_NAME = 'old_data'",
      {Value(events_table)});
  if (has_old.integer(0, 0) == 0) {
    connection.exec(
        fmt::format("ALTER TABLE {} ADD COLUMN old_data JSON NULL", quote_name(events_table)));
  }
}

Result<MysqlTable> introspect(MysqlConnection& connection, const std::string& table,
                              bool require_primary_key) {
  if (require_primary_key) {
    if (auto trackable = check_trackable_table(connection.database(), table); !trackable)
      return trackable.error();
  }
  auto kind = connection.query(
      "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
      "TABLE_NAME = ?",
      {Value(table)});
  if (kind.rows() == 0 || kind.text(0, 0) != "BASE TABLE") {
    return Error(ErrorCode::not_found,
                 fmt::format("no table '{}' in database '{}'", table, connection.database()));
  }
  auto columns = connection.query(
      "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
      "(COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%auto_increment%' OR IS_GENERATED <> 'NEVER') "
      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? "
      "ORDER BY ORDINAL_POSITION",
      {Value(table)});
  auto keys = connection.query(
      "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = "
      "DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
      {Value(table)});
  auto json_columns = json_checked_columns(connection, table);
  MysqlTable result;
  result.schema.name = table;
  for (std::size_t row = 0; row < columns.rows(); ++row) {
    ColumnSchema column;
    column.name = std::string(columns.text(row, 0));
    auto data_type = std::string(columns.text(row, 1));
    std::transform(data_type.begin(), data_type.end(), data_type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    column.declared_type = std::string(columns.text(row, 2));
    column.not_null = columns.text(row, 3) == "NO";
    column.has_default = columns.text(row, 4) == "1";
    auto column_kind =
        kind_for(data_type, column.declared_type, json_columns.contains(column.name));
    column.type = portable_type(column_kind, data_type);
    result.schema.columns.push_back(std::move(column));
    result.kinds.push_back(column_kind);
  }
  for (std::size_t row = 0; row < keys.rows(); ++row) {
    auto name = std::string(keys.text(row, 0));
    result.schema.primary_key.push_back(name);
    for (auto& column : result.schema.columns) {
      if (column.name == name) column.primary_key_position = static_cast<int>(row) + 1;
    }
  }
  if (require_primary_key && result.schema.primary_key.empty()) {
    return Error(ErrorCode::no_primary_key,
                 fmt::format("table '{}' has no primary key; Tandem identifies rows by their "
                             "primary key: add one (ALTER TABLE {} ADD PRIMARY KEY (...)) and "
                             "track it again",
                             table, quote_name(table)));
  }
  return result;
}

std::vector<std::string> tracked_table_names(MysqlConnection& connection) {
  auto result = connection.exec("SELECT name FROM tandem_tracked_tables ORDER BY name");
  std::vector<std::string> names;
  for (std::size_t row = 0; row < result.rows(); ++row)
    names.emplace_back(result.text(row, 0));
  return names;
}

std::string trigger_name(std::string_view table, std::string_view event) {
  auto name = fmt::format("{}_after_{}", table, event);
  if (name.size() <= 64) return name;
  return fmt::format("{}_{:08x}_after_{}", table.substr(0, 40), fnv1a(table), event);
}

void install_triggers(MysqlConnection& connection, const MysqlTable& table,
                      const std::string& events_table) {
  const auto& name = table.schema.name;
  // MariaDB replaces a trigger atomically, so no write slips between an old and a new
  // trigger; MySQL has no CREATE OR REPLACE TRIGGER (a reinstall there has a short gap).
  bool replace = connection.is_mariadb();
  struct Event {
    const char* suffix;
    const char* timing;
    const char* type;
    std::string data;
    std::string old_data;
  };
  std::vector<Event> events = {
      {"insert", "INSERT", "INSERT", row_json_sql(table, "NEW."), "NULL"},
      {"update", "UPDATE", "UPDATE", row_json_sql(table, "NEW."), row_json_sql(table, "OLD.")},
      {"delete", "DELETE", "DELETE", row_json_sql(table, "OLD."), "NULL"},
  };
  for (const auto& event : events) {
    auto trigger = quote_name(trigger_name(name, event.suffix));
    if (!replace) connection.exec("DROP TRIGGER IF EXISTS " + trigger);
    connection.exec(fmt::format(
        "CREATE {}TRIGGER {} AFTER {} ON {} FOR EACH ROW "
        "INSERT INTO {} (table_name, type, data, old_data) VALUES ({}, '{}', {}, {})",
        replace ? "OR REPLACE " : "", trigger, event.timing, quote_name(name),
        quote_name(events_table), quote_string(name), event.type, event.data, event.old_data));
  }
}

void drop_triggers(MysqlConnection& connection, const std::string& table) {
  for (const char* suffix : {"insert", "update", "delete"})
    connection.exec("DROP TRIGGER IF EXISTS " + quote_name(trigger_name(table, suffix)));
}

std::optional<std::string> read_meta(MysqlConnection& connection, const std::string& key) {
  auto result = connection.query("SELECT value FROM tandem_meta WHERE name = ?", {Value(key)});
  if (result.rows() == 0) return std::nullopt;
  return std::string(result.text(0, 0));
}

void write_meta(MysqlConnection& connection, const std::string& key, const std::string& value) {
  connection.query(
      "INSERT INTO tandem_meta (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = "
      "VALUES(value)",
      {Value(key), Value(value)});
}

}  // namespace tandem::storage::mysql
