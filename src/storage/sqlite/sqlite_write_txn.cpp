#include "storage/sqlite/sqlite_write_txn.h"

#include <fmt/format.h>

#include "common/identifier.h"
#include "sync/row_state_codec.h"

namespace tandem::storage::sqlite {

std::string key_predicate(const TableSchema& table, int first) {
  std::string sql;
  for (std::size_t i = 0; i < table.primary_key.size(); ++i) {
    sql += i == 0 ? " WHERE " : " AND ";
    sql += fmt::format("{} = ?{}", quote_identifier(table.primary_key[i]),
                       first + static_cast<int>(i));
  }
  return sql;
}

std::optional<ClientRecord> SqliteWriteTxn::load_client(std::string_view client_id) {
  auto& statement =
      m_connection.cached("SELECT user_id, last_seq FROM tandem_clients WHERE client_id = ?1");
  statement.bind_text(1, client_id);
  if (!statement.step()) return std::nullopt;
  ClientRecord record{statement.column_text(0),
                      static_cast<std::uint64_t>(statement.column_int(1))};
  statement.reset();
  return record;
}

void SqliteWriteTxn::save_client(std::string_view client_id, const ClientRecord& record) {
  auto& statement = m_connection.cached(
      "INSERT INTO tandem_clients(client_id, user_id, last_seq, updated_at_ms) "
      "VALUES (?1, ?2, ?3, CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)) "
      "ON CONFLICT(client_id) DO UPDATE SET last_seq = excluded.last_seq, "
      "updated_at_ms = excluded.updated_at_ms");
  statement.bind_text(1, client_id);
  statement.bind_text(2, record.user_id);
  statement.bind_int(3, static_cast<std::int64_t>(record.last_seq));
  statement.run();
}

std::optional<Row> SqliteWriteTxn::load_row(const TableSchema& table,
                                            const std::vector<Value>& key) {
  std::string columns;
  for (const auto& column : table.columns) {
    if (!columns.empty()) columns += ", ";
    columns += quote_identifier(column.name);
  }
  auto& statement = m_connection.cached(fmt::format(
      "SELECT {} FROM {}{}", columns, quote_identifier(table.name), key_predicate(table, 1)));
  for (std::size_t i = 0; i < key.size(); ++i)
    statement.bind(static_cast<int>(i) + 1, key[i]);
  if (!statement.step()) return std::nullopt;
  Row row;
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    row.emplace(table.columns[i].name, statement.column(static_cast<int>(i)));
  }
  statement.reset();
  return row;
}

std::optional<sync::RowState> SqliteWriteTxn::load_metadata(const std::string& table,
                                                            const std::string& key) {
  auto& statement = m_connection.cached("SELECT state FROM tandem_rows WHERE tbl = ?1 AND pk = ?2");
  statement.bind_text(1, table);
  statement.bind_text(2, key);
  if (!statement.step()) return std::nullopt;
  auto text = statement.column_text(0);
  statement.reset();
  auto state = sync::decode_row_state(text, nullptr);
  if (!state) throw state.error();
  // Without the stored row at hand, liveness comes from the history alone.
  state->exists = state->insert_stamp.has_value();
  return std::move(*state);
}

void SqliteWriteTxn::save_metadata(const std::string& table, const std::string& key,
                                   const sync::RowState& state) {
  auto& statement = m_connection.cached(
      "INSERT INTO tandem_rows(tbl, pk, state) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(tbl, pk) DO UPDATE SET state = excluded.state");
  statement.bind_text(1, table);
  statement.bind_text(2, key);
  statement.bind_text(3, sync::encode_row_state(state));
  statement.run();
}

std::optional<sync::RowState> SqliteWriteTxn::load_row_state(const TableSchema& table,
                                                             const std::vector<Value>& key) {
  auto row = load_row(table, key);
  auto& statement = m_connection.cached("SELECT state FROM tandem_rows WHERE tbl = ?1 AND pk = ?2");
  statement.bind_text(1, table.name);
  statement.bind_text(2, sync::encode_key(key));
  if (!statement.step()) {
    if (!row) return std::nullopt;
    return sync::RowState::preexisting(std::move(*row));
  }
  auto text = statement.column_text(0);
  statement.reset();
  auto state = sync::decode_row_state(text, row ? &*row : nullptr);
  if (!state) throw state.error();
  return std::move(*state);
}

void SqliteWriteTxn::set_write_context(const sync::Stamp& stamp) {
  auto& statement =
      m_connection.cached("UPDATE tandem_write_context SET hlc = ?1, node = ?2 WHERE id = 1");
  statement.bind_text(1, stamp.hlc.to_string());
  statement.bind_text(2, stamp.node);
  statement.run();
}

void SqliteWriteTxn::clear_write_context() {
  m_connection.cached("UPDATE tandem_write_context SET hlc = NULL, node = NULL WHERE id = 1").run();
}

void SqliteWriteTxn::write_row(const TableSchema& table, const std::vector<Value>& key,
                               const sync::RowState& state, const sync::MergeEffect& effect) {
  auto name = quote_identifier(table.name);
  if (effect.kind == sync::MergeEffect::Kind::deleted) {
    auto& statement =
        m_connection.cached(fmt::format("DELETE FROM {}{}", name, key_predicate(table, 1)));
    for (std::size_t i = 0; i < key.size(); ++i)
      statement.bind(static_cast<int>(i) + 1, key[i]);
    statement.run();
    return;
  }
  if (effect.kind == sync::MergeEffect::Kind::inserted) {
    std::vector<const Value*> values;
    std::string columns;
    std::string params;
    for (const auto& column : table.columns) {
      const Value* value = stored_value(column, key, state);
      if (!value) continue;  // left to the column's default
      if (!columns.empty()) {
        columns += ", ";
        params += ", ";
      }
      columns += quote_identifier(column.name);
      params += fmt::format("?{}", values.size() + 1);
      values.push_back(value);
    }
    auto& statement =
        m_connection.cached(fmt::format("INSERT INTO {} ({}) VALUES ({})", name, columns, params));
    for (std::size_t i = 0; i < values.size(); ++i)
      statement.bind(static_cast<int>(i) + 1, *values[i]);
    statement.run();
    return;
  }
  if (effect.kind == sync::MergeEffect::Kind::updated) {
    std::string assignments;
    std::vector<Value> values;
    for (const auto& column : effect.changed_columns) {
      // The key never changes: the WHERE clause names it (and the merge never lists it).
      if (!table.has_column(column) || table.is_primary_key(column)) continue;
      if (!assignments.empty()) assignments += ", ";
      assignments += fmt::format("{} = ?{}", quote_identifier(column), values.size() + 1);
      auto it = state.values.find(column);
      values.push_back(it == state.values.end() ? Value{} : it->second);
    }
    if (values.empty()) return;
    int first_key = static_cast<int>(values.size()) + 1;
    auto& statement = m_connection.cached(
        fmt::format("UPDATE {} SET {}{}", name, assignments, key_predicate(table, first_key)));
    for (std::size_t i = 0; i < values.size(); ++i)
      statement.bind(static_cast<int>(i) + 1, values[i]);
    for (std::size_t i = 0; i < key.size(); ++i)
      statement.bind(first_key + static_cast<int>(i), key[i]);
    statement.run();
  }
}

void SqliteWriteTxn::store_row_state(const TableSchema& table, const std::vector<Value>& key,
                                     const sync::RowState& state, const sync::MergeEffect& effect,
                                     const sync::Stamp& stamp) {
  set_write_context(stamp);
  write_row(table, key, state, effect);
  save_metadata(table.name, sync::encode_key(key), state);
}

void SqliteWriteTxn::savepoint() {
  m_connection.cached("SAVEPOINT tandem_mutation").run();
}

void SqliteWriteTxn::rollback_to_savepoint() {
  m_connection.cached("ROLLBACK TO tandem_mutation").run();
  m_connection.cached("RELEASE tandem_mutation").run();
}

void SqliteWriteTxn::release_savepoint() {
  m_connection.cached("RELEASE tandem_mutation").run();
}

}  // namespace tandem::storage::sqlite
