#include "storage/sqlite/sqlite_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/identifier.h"

namespace tandem::storage::sqlite {

void create_tandem_tables(SqliteConnection& connection) {
  // The change log: written by the capture triggers in the writer's own transaction, so a
  // change and its log entry commit together. hlc/node are NULL for writes made outside
  // Tandem until the server stamps them (see SqliteDatasource::fold_external_changes).
  connection.exec(R"sql(
    CREATE TABLE IF NOT EXISTS tandem_changes(
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      tbl TEXT NOT NULL,
      op TEXT NOT NULL,
      pk TEXT NOT NULL,
      row TEXT NOT NULL,
      old TEXT,
      hlc TEXT,
      node TEXT,
      at_ms INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS tandem_changes_unstamped ON tandem_changes(seq) WHERE hlc IS NULL;
    CREATE TABLE IF NOT EXISTS tandem_write_context(
      id INTEGER PRIMARY KEY CHECK (id = 1),
      hlc TEXT,
      node TEXT);
    INSERT OR IGNORE INTO tandem_write_context(id) VALUES (1);
    CREATE TABLE IF NOT EXISTS tandem_rows(
      tbl TEXT NOT NULL,
      pk TEXT NOT NULL,
      state TEXT NOT NULL,
      PRIMARY KEY (tbl, pk)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS tandem_clients(
      client_id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      last_seq INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS tandem_tracked_tables(
      name TEXT PRIMARY KEY,
      added_at_ms INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS tandem_meta(
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL);
    INSERT OR IGNORE INTO tandem_meta(key, value) VALUES ('format_version', '1');
  )sql");
}

ColumnType map_declared_type(std::string_view declared) {
  std::string upper(declared);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  auto has = [&](std::string_view part) { return upper.find(part) != std::string::npos; };
  // Specific names first, then SQLite's affinity rules (https://sqlite.org/datatype3.html).
  if (has("BOOL")) return ColumnType::boolean;
  if (has("UUID")) return ColumnType::uuid;
  if (has("JSON")) return ColumnType::json;
  if (has("TIMESTAMP") || has("DATETIME")) return ColumnType::timestamp;
  if (upper == "DATE") return ColumnType::date;
  if (has("INT")) return ColumnType::integer;
  if (has("CHAR") || has("CLOB") || has("TEXT")) return ColumnType::text;
  if (has("BLOB") || upper.empty()) return upper.empty() ? ColumnType::any : ColumnType::blob;
  if (has("REAL") || has("FLOA") || has("DOUB")) return ColumnType::real;
  if (has("NUMERIC") || has("DECIMAL")) return ColumnType::numeric;
  return ColumnType::any;
}

Result<TableSchema> introspect_columns(SqliteConnection& connection, const std::string& table) {
  if (auto valid = check_identifier(table, "table"); !valid) return valid.error();
  auto& exists = connection.cached(
      "SELECT type FROM sqlite_schema WHERE name = ?1 AND type IN ('table', 'view')");
  exists.bind_text(1, table);
  if (!exists.step()) {
    return Error(ErrorCode::not_found, fmt::format("no table named '{}' in the database", table));
  }
  auto type = exists.column_text(0);
  exists.reset();
  if (type != "table") {
    return Error(ErrorCode::bad_request,
                 fmt::format("'{}' is a view; only tables can be tracked", table));
  }
  exists.reset();

  TableSchema schema;
  schema.name = table;
  auto info = connection.prepare(fmt::format("PRAGMA table_info({})", quote_identifier(table)));
  std::vector<std::pair<int, std::string>> key_columns;
  while (info->step()) {
    ColumnSchema column;
    column.name = info->column_text(1);
    column.declared_type = info->column_text(2);
    column.type = map_declared_type(column.declared_type);
    column.not_null = info->column_int(3) != 0;
    column.has_default = !info->column_is_null(4);
    column.primary_key_position = static_cast<int>(info->column_int(5));
    if (auto valid = check_identifier(column.name, "column"); !valid) return valid.error();
    if (column.primary_key_position > 0) {
      key_columns.emplace_back(column.primary_key_position, column.name);
    }
    schema.columns.push_back(std::move(column));
  }
  std::sort(key_columns.begin(), key_columns.end());
  for (auto& [position, name] : key_columns)
    schema.primary_key.push_back(std::move(name));
  return schema;
}

Result<TableSchema> introspect(SqliteConnection& connection, const std::string& table) {
  if (auto trackable = check_trackable_table("", table); !trackable) return trackable.error();
  auto schema = introspect_columns(connection, table);
  if (schema && schema->primary_key.empty()) {
    return Error(ErrorCode::no_primary_key,
                 fmt::format("table '{}' has no primary key: Tandem identifies rows across "
                             "replicas by primary key; add one (e.g. id TEXT PRIMARY KEY)",
                             table));
  }
  return schema;
}

namespace {

std::string value_json_sql(const std::string& prefix, const std::string& column) {
  auto ref = fmt::format("{}.{}", prefix, quote_identifier(column));
  return fmt::format("CASE typeof({0}) WHEN 'blob' THEN json_object('$hex', hex({0})) ELSE {0} END",
                     ref);
}

std::string object_sql(const std::vector<std::string>& columns, const std::string& prefix) {
  std::string sql = "json_object(";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) sql += ", ";
    // Names are validated identifiers, so they need no escaping inside a string literal.
    sql += fmt::format("'{}', {}", columns[i], value_json_sql(prefix, columns[i]));
  }
  return sql + ")";
}

std::string trigger_name(const std::string& table, std::string_view op) {
  return quote_identifier(fmt::format("tandem_capture_{}_{}", table, op));
}

std::vector<std::string> column_names(const TableSchema& table) {
  std::vector<std::string> names;
  for (const auto& column : table.columns)
    names.push_back(column.name);
  return names;
}

}  // namespace

std::string row_json_sql(const TableSchema& table, const std::string& prefix) {
  return object_sql(column_names(table), prefix);
}

std::string key_json_sql(const TableSchema& table, const std::string& prefix) {
  return object_sql(table.primary_key, prefix);
}

void drop_capture(SqliteConnection& connection, const std::string& table) {
  for (std::string_view op : {"insert", "update", "delete"}) {
    connection.exec(fmt::format("DROP TRIGGER IF EXISTS {}", trigger_name(table, op)));
  }
}

namespace {

// One capture trigger: after `op`, append the change to the log. `image` is the row the
// entry holds (NEW, or OLD for a delete); `old_sql` the row before an update, else NULL.
void create_capture_trigger(SqliteConnection& connection, const TableSchema& table,
                            std::string_view op, const std::string& when, const std::string& image,
                            const std::string& old_sql) {
  // The stamp comes from tandem_write_context, which Tandem fills inside its own write
  // transactions and clears before commit; other writers find it empty.
  connection.exec(fmt::format(
      "CREATE TRIGGER {} AFTER {} ON {}{} BEGIN "
      "INSERT INTO tandem_changes(tbl, op, pk, row, old, hlc, node, at_ms) "
      "SELECT '{}', '{}', {}, {}, {}, w.hlc, w.node, {} "
      "FROM tandem_write_context w WHERE w.id = 1; END",
      trigger_name(table.name, op), op, quote_identifier(table.name), when, table.name, op,
      key_json_sql(table, image), row_json_sql(table, image), old_sql, kNowMillisSql));
}

}  // namespace

void install_capture(SqliteConnection& connection, const TableSchema& table) {
  drop_capture(connection, table.name);
  std::string changed;
  for (const auto& column : table.columns) {
    changed += changed.empty() ? " WHEN " : " OR ";
    changed += fmt::format("OLD.{0} IS NOT NEW.{0}", quote_identifier(column.name));
  }
  create_capture_trigger(connection, table, "insert", "", "NEW", "NULL");
  create_capture_trigger(connection, table, "update", changed, "NEW", row_json_sql(table, "OLD"));
  create_capture_trigger(connection, table, "delete", "", "OLD", "NULL");
}

}  // namespace tandem::storage::sqlite
