#include "storage/postgres/pg_schema.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/identifier.h"

namespace tandem::storage::postgres {

std::string_view capture_mode_name(CaptureMode mode) {
  return mode == CaptureMode::logical ? "logical" : "trigger";
}

const PgType& PgTable::type_of(std::string_view column) const {
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    if (schema.columns[i].name == column) return types[i];
  }
  throw Error(ErrorCode::internal,
              fmt::format("table '{}' has no column '{}'", schema.name, column));
}

void create_tandem_tables(PgConnection& connection) {
  // An advisory lock serializes concurrent installers (several nodes starting at once):
  // CREATE ... IF NOT EXISTS alone can still fail on a catalog unique index.
  connection.exec("SELECT pg_advisory_lock(7358001)");
  try {
    connection.exec(R"sql(
CREATE SCHEMA IF NOT EXISTS tandem;
CREATE TABLE IF NOT EXISTS tandem.changes (
  seq bigint PRIMARY KEY,
  tbl text NOT NULL,
  op text NOT NULL,
  pk text NOT NULL,
  row_data text NOT NULL,
  old_data text,
  hlc text NOT NULL,
  node text NOT NULL,
  at_ms bigint NOT NULL,
  logged_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS tandem.rows (
  tbl text NOT NULL,
  pk text NOT NULL,
  state text NOT NULL,
  writer_xid bigint NOT NULL,
  PRIMARY KEY (tbl, pk));
CREATE TABLE IF NOT EXISTS tandem.clients (
  client_id text PRIMARY KEY,
  user_id text NOT NULL,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS tandem.tracked_tables (
  name text PRIMARY KEY,
  previous_replica_identity text NOT NULL DEFAULT 'd',
  tracked_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS tandem.meta (
  key text PRIMARY KEY,
  value text NOT NULL);
CREATE TABLE IF NOT EXISTS tandem.capture (
  id bigserial PRIMARY KEY,
  tbl text NOT NULL,
  op text NOT NULL,
  new_data text,
  old_data text,
  stamp text,
  writer_xid bigint NOT NULL,
  at_ms bigint NOT NULL);
CREATE OR REPLACE FUNCTION tandem.row_text(r json) RETURNS text LANGUAGE sql IMMUTABLE AS
  $f$ SELECT coalesce(json_object_agg(key, value), '{}'::json)::text FROM json_each_text(r) $f$;
CREATE OR REPLACE FUNCTION tandem.capture_row() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO tandem.capture (tbl, op, new_data, old_data, stamp, writer_xid, at_ms)
  VALUES (TG_ARGV[0], lower(TG_OP),
          CASE WHEN TG_OP <> 'DELETE' THEN tandem.row_text(row_to_json(NEW)) END,
          CASE WHEN TG_OP <> 'INSERT' THEN tandem.row_text(row_to_json(OLD)) END,
          nullif(current_setting('tandem.stamp', true), ''),
          txid_current() % 4294967296,
          (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
  RETURN NULL;
END $f$;
)sql");
  } catch (...) {
    connection.exec("SELECT pg_advisory_unlock(7358001)");
    throw;
  }
  connection.exec("SELECT pg_advisory_unlock(7358001)");
}

Result<PgTable> describe_table(PgConnection& connection, const std::string& table) {
  if (auto valid = check_identifier(table, "table"); !valid) return valid.error();
  auto oid = connection.exec(
      "SELECT to_regclass($1)::oid, c.relkind FROM pg_class c "
      "WHERE c.oid = to_regclass($1)",
      {quote_identifier(table)});
  if (oid.rows() == 0) return Error(ErrorCode::not_found, fmt::format("no table '{}'", table));
  if (oid.text(0, 1) != "r" && oid.text(0, 1) != "p")
    return Error(ErrorCode::bad_request, fmt::format("'{}' is not a table", table));
  auto columns = connection.exec(R"sql(
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid, t.typelem,
       coalesce(format_type(nullif(t.typelem, 0), NULL), ''), t.typcategory, a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
       coalesce((SELECT k.n FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(att, n)
                 WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.att = a.attnum), 0),
       coalesce(e.typcategory, ''), coalesce(e.typdelim, ',')
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type e ON e.oid = nullif(t.typelem, 0) AND t.typcategory = 'A' 
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum)sql",
                                 {std::string(oid.text(0, 0))});
  PgTable result;
  result.oid = static_cast<std::uint32_t>(oid.integer(0, 0));
  result.schema.name = table;
  std::vector<std::pair<std::int64_t, std::string>> key;
  for (int row = 0; row < columns.rows(); ++row) {
    PgType type;
    type.name = std::string(columns.text(row, 1));
    type.oid = static_cast<std::uint32_t>(columns.integer(row, 2));
    type.element_oid = static_cast<std::uint32_t>(columns.integer(row, 3));
    type.element_name = std::string(columns.text(row, 4));
    type.category = columns.text(row, 5).empty() ? 'U' : columns.text(row, 5)[0];
    if (type.category != 'A') {
      type.element_oid = 0;  // typelem is also set for fixed-length types such as name
      type.element_name.clear();
    } else {
      type.element_category = columns.text(row, 9).empty() ? 'U' : columns.text(row, 9)[0];
      type.delimiter = columns.text(row, 10).empty() ? ',' : columns.text(row, 10)[0];
    }
    ColumnSchema column;
    column.name = std::string(columns.text(row, 0));
    column.type = portable_type(type);
    column.declared_type = type.name;
    column.not_null = columns.text(row, 6) == "t";
    column.has_default = columns.text(row, 7) == "t";
    auto position = columns.integer(row, 8);
    column.primary_key_position = static_cast<int>(position);
    if (position > 0) key.emplace_back(position, column.name);
    result.schema.columns.push_back(std::move(column));
    result.types.push_back(std::move(type));
  }
  std::sort(key.begin(), key.end());
  for (auto& [position, name] : key)
    result.schema.primary_key.push_back(name);
  for (const auto& column : result.schema.columns) {
    if (auto valid = check_identifier(column.name, "column"); !valid) return valid.error();
  }
  return result;
}

Result<PgTable> introspect(PgConnection& connection, const std::string& table) {
  if (auto valid = check_identifier(table, "table"); !valid) return valid.error();
  // pg_catalog is always on the search path: "pg_authid" names a catalog table.
  auto schema = connection.exec(
      "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.oid = to_regclass($1)",
      {quote_identifier(table)});
  if (schema.rows() > 0) {
    if (auto trackable = check_trackable_table(schema.text(0, 0), table); !trackable)
      return trackable.error();
  }
  auto described = describe_table(connection, table);
  if (described && described->schema.primary_key.empty())
    return Error(ErrorCode::no_primary_key,
                 fmt::format("table '{}' has no primary key; Tandem identifies rows by it", table));
  return described;
}

std::vector<std::string> tracked_table_names(PgConnection& connection) {
  auto result = connection.exec("SELECT name FROM tandem.tracked_tables ORDER BY name");
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row)
    names.emplace_back(result.text(row, 0));
  return names;
}

namespace {

std::string trigger_name() {
  return "tandem_capture";
}

}  // namespace

void install_capture_trigger(PgConnection& connection, const std::string& table) {
  auto name = quote_identifier(table);
  connection.exec(
      fmt::format("DROP TRIGGER IF EXISTS {0} ON {1}; "
                  "CREATE TRIGGER {0} AFTER INSERT OR UPDATE OR DELETE ON {1} "
                  "FOR EACH ROW EXECUTE FUNCTION tandem.capture_row({2})",
                  trigger_name(), name, quote_literal(table)));
}

void drop_capture_trigger(PgConnection& connection, const std::string& table) {
  connection.exec(
      fmt::format("DROP TRIGGER IF EXISTS {} ON {}", trigger_name(), quote_identifier(table)));
}

void sync_publication(PgConnection& connection, const std::vector<std::string>& tables) {
  auto exists = connection.exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {kPublication});
  std::string list;
  for (const auto& table : tables) {
    if (!list.empty()) list += ", ";
    list += quote_identifier(table);
  }
  if (exists.rows() == 0) {
    connection.exec(fmt::format("CREATE PUBLICATION {} {}", kPublication,
                                list.empty() ? "" : "FOR TABLE " + list));
    return;
  }
  if (list.empty()) {
    auto current = connection.exec(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM "
        "pg_publication_tables "
        "WHERE pubname = $1",
        {kPublication});
    for (int row = 0; row < current.rows(); ++row) {
      connection.exec(
          fmt::format("ALTER PUBLICATION {} DROP TABLE {}", kPublication, current.text(row, 0)));
    }
    return;
  }
  connection.exec(fmt::format("ALTER PUBLICATION {} SET TABLE {}", kPublication, list));
}

std::string replica_identity(PgConnection& connection, const std::string& table) {
  auto result = connection.exec("SELECT relreplident FROM pg_class WHERE oid = to_regclass($1)",
                                {quote_identifier(table)});
  return result.rows() ? std::string(result.text(0, 0)) : "d";
}

void set_replica_identity(PgConnection& connection, const std::string& table,
                          const std::string& identity) {
  std::string_view setting = identity == "f" ? "FULL" : identity == "n" ? "NOTHING" : "DEFAULT";
  connection.exec(
      fmt::format("ALTER TABLE {} REPLICA IDENTITY {}", quote_identifier(table), setting));
}

std::optional<std::string> read_meta(PgConnection& connection, const std::string& key) {
  auto result = connection.exec("SELECT value FROM tandem.meta WHERE key = $1", {key});
  if (result.rows() == 0) return std::nullopt;
  return std::string(result.text(0, 0));
}

void write_meta(PgConnection& connection, const std::string& key, const std::string& value) {
  connection.exec(
      "INSERT INTO tandem.meta (key, value) VALUES ($1, $2) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      {key, value});
}

}  // namespace tandem::storage::postgres
