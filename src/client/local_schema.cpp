// The local schema: user tables created and altered from the server's table descriptions.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "client/local_store.h"
#include "common/identifier.h"
#include "protocol/codec.h"

namespace tandem::client {

using storage::SqliteTransaction;

namespace {

// Local column types keep every value exactly as the server sent it: a type is declared only
// where SQLite's affinity cannot convert a value of that portable type into another one, so a
// replica's rows compare equal to the server's.
std::string_view local_type(ColumnType type) {
  switch (type) {
    case ColumnType::integer:
    case ColumnType::boolean:
      return "INTEGER";
    case ColumnType::real:
      return "REAL";
    case ColumnType::text:
    case ColumnType::json:
    case ColumnType::timestamp:
    case ColumnType::date:
    case ColumnType::uuid:
      return "TEXT";
    case ColumnType::blob:
    case ColumnType::numeric:
    case ColumnType::any:
      return "BLOB";
  }
  return "BLOB";
}

std::string column_definition(const ColumnSchema& column) {
  return fmt::format("{} {}", quote_identifier(column.name), local_type(column.type));
}

struct LocalColumns {
  std::vector<std::string> names;
  std::vector<std::string> primary_key;  // in key order
};

}  // namespace

void LocalStore::create_or_alter(const protocol::TableInfo& table) {
  const auto& schema = table.schema;
  if (auto valid = check_identifier(schema.name, "table"); !valid) throw valid.error();
  for (const auto& column : schema.columns) {
    if (auto valid = check_identifier(column.name, "column"); !valid) throw valid.error();
  }
  // What the file holds is the truth (the stored table list may be older than the file).
  LocalColumns local;
  {
    auto info = m_db->prepare(fmt::format("PRAGMA table_info({})", quote_identifier(schema.name)));
    std::vector<std::pair<int, std::string>> key;
    while (info->step()) {
      local.names.push_back(info->column_text(1));
      if (auto position = info->column_int(5); position > 0)
        key.emplace_back(static_cast<int>(position), info->column_text(1));
    }
    std::sort(key.begin(), key.end());
    for (auto& [position, name] : key)
      local.primary_key.push_back(name);
  }
  if (!local.names.empty() && local.primary_key != schema.primary_key) {
    // A new key changes every row's identity: start the table over from the server's rows.
    drop_table(schema.name);
    local = {};
  }
  if (local.names.empty()) {
    std::vector<std::string> definitions;
    for (const auto& column : schema.columns)
      definitions.push_back(column_definition(column));
    std::vector<std::string> key;
    for (const auto& column : schema.primary_key)
      key.push_back(quote_identifier(column));
    m_db->exec(fmt::format("CREATE TABLE {} ({}, PRIMARY KEY ({}))", quote_identifier(schema.name),
                           fmt::join(definitions, ", "), fmt::join(key, ", ")));
    return;
  }
  std::set<std::string> existing(local.names.begin(), local.names.end());
  for (const auto& column : schema.columns) {
    if (existing.contains(column.name)) continue;
    m_db->exec(fmt::format("ALTER TABLE {} ADD COLUMN {}", quote_identifier(schema.name),
                           column_definition(column)));
  }
  for (const auto& name : local.names) {
    if (schema.has_column(name)) continue;
    m_db->exec(fmt::format("ALTER TABLE {} DROP COLUMN {}", quote_identifier(schema.name),
                           quote_identifier(name)));
  }
}

void LocalStore::drop_table(const std::string& name) {
  m_db->exec(fmt::format("DROP TABLE IF EXISTS {}", quote_identifier(name)));
  auto& rows = m_db->cached("DELETE FROM tandem_rows WHERE tbl = ?");
  rows.reset();
  rows.bind_text(1, name);
  rows.run();
  // Queued mutations of the table stay: the server refuses them (unknown_table) and the
  // refusal reaches the application like any other, rather than being dropped silently.
}

void LocalStore::apply_tables(const std::vector<protocol::TableInfo>& tables) {
  std::lock_guard lock(m_mutex);
  m_db->clear_cache();
  SqliteTransaction txn(*m_db);
  std::map<std::string, protocol::TableInfo, std::less<>> next;
  for (const auto& table : tables) {
    create_or_alter(table);
    next.emplace(table.schema.name, table);
  }
  for (const auto& [name, table] : m_tables) {
    if (!next.contains(name)) drop_table(name);
  }
  protocol::Welcome stored;
  stored.tables = tables;
  set_meta("tables",
           protocol::make_json_codec()->encode(protocol::ServerMessage{std::move(stored)}));
  txn.commit();
  m_db->clear_cache();
  m_tables = std::move(next);
}

}  // namespace tandem::client
