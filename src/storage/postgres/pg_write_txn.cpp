#include "storage/postgres/pg_write_txn.h"

#include <fmt/format.h>

#include "common/identifier.h"
#include "common/logging.h"
#include "storage/postgres/pg_rows.h"
#include "sync/row_state_codec.h"

namespace tandem::storage::postgres {

PgWriteTxn::PgWriteTxn(PgConnection& connection, PgTableLookup tables, CaptureMode mode,
                       std::function<void()> ensure_folded)
    : m_connection(connection),
      m_tables(std::move(tables)),
      m_mode(mode),
      m_ensure_folded(std::move(ensure_folded)) {}

const PgTable& PgWriteTxn::table_of(const TableSchema& schema) const {
  const PgTable* table = m_tables(schema.name);
  if (!table)
    throw Error(ErrorCode::unknown_table, fmt::format("'{}' is not tracked", schema.name));
  return *table;
}

std::int64_t PgWriteTxn::current_xid() {
  if (m_xid < 0) {
    m_xid = m_connection.exec_prepared("SELECT txid_current() % 4294967296", {}).integer(0, 0);
  }
  return m_xid;
}

std::optional<ClientRecord> PgWriteTxn::load_client(std::string_view client_id) {
  auto result = m_connection.exec_prepared(
      "SELECT user_id, last_seq FROM tandem.clients WHERE client_id = $1 FOR UPDATE",
      {std::string(client_id)});
  if (result.rows() == 0) return std::nullopt;
  return ClientRecord{std::string(result.text(0, 0)),
                      static_cast<std::uint64_t>(result.integer(0, 1))};
}

void PgWriteTxn::save_client(std::string_view client_id, const ClientRecord& record) {
  m_connection.exec_prepared(
      "INSERT INTO tandem.clients (client_id, user_id, last_seq) VALUES ($1, $2, $3::bigint) "
      "ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq, updated_at = now()",
      {std::string(client_id), record.user_id, std::to_string(record.last_seq)});
}

std::optional<sync::RowState> PgWriteTxn::load_row_state(const TableSchema& schema,
                                                         const std::vector<Value>& key) {
  const PgTable& table = table_of(schema);
  auto select =
      fmt::format("SELECT xmin::text::bigint, {} FROM {}{} FOR UPDATE", text_columns_sql(table),
                  quote_identifier(table.schema.name), key_predicate_sql(table, 1));
  auto params = key_params(table, key);
  auto key_text = sync::encode_key(key);
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    auto result = m_connection.exec_prepared(select, params);
    auto metadata = load_metadata(m_connection, table.schema.name, key_text, false);
    std::optional<Row> row;
    std::int64_t row_xid = 0;
    if (result.rows() > 0) {
      row_xid = result.integer(0, 0);
      row = row_from_result(table, result, 0, 1);
    }
    // Up to date when the metadata describes the row version we see: written by the same
    // transaction, or both absent. A live row without metadata is either older than the
    // tracking (fine) or an outside insert not folded yet: after one catch-up, it is the former.
    std::optional<sync::RowState> history;
    if (metadata) {
      auto decoded = sync::decode_row_state(metadata->state, nullptr);
      if (!decoded) throw decoded.error();
      history = std::move(*decoded);
    }
    bool folded = history ? (row ? metadata->writer_xid == row_xid : !history->insert_stamp)
                          : (!row || attempt > 1);
    if (folded || attempt == kAttempts) {
      if (!folded) {
        log::warn("merging against a row whose outside write is not folded yet",
                  {{"table", table.schema.name}, {"pk", key_text}});
      }
      m_loaded_xid[table.schema.name + "/" + key_text] =
          row ? row_xid : (metadata ? metadata->writer_xid : 0);
      if (!metadata) {
        if (!row) return std::nullopt;
        return sync::RowState::preexisting(std::move(*row));
      }
      auto state = sync::decode_row_state(metadata->state, row ? &*row : nullptr);
      if (!state) throw state.error();
      return std::move(*state);
    }
    m_ensure_folded();
  }
}

void PgWriteTxn::set_stamp(const sync::Stamp& stamp) {
  // The capture path reads the stamp back: from the trigger's session setting, or from a
  // logical decoding message that precedes the row change in the same transaction.
  if (m_mode == CaptureMode::trigger) {
    m_connection.exec_prepared("SELECT set_config('tandem.stamp', $1, true)", {stamp.to_string()});
  } else {
    m_connection.exec_prepared("SELECT pg_logical_emit_message(true, 'tandem', $1)",
                               {stamp.to_string()});
  }
}

void PgWriteTxn::write_row(const PgTable& table, const std::vector<Value>& key,
                           const sync::RowState& state, const sync::MergeEffect& effect) {
  auto name = quote_identifier(table.schema.name);
  if (effect.kind == sync::MergeEffect::Kind::deleted) {
    m_connection.exec_prepared(fmt::format("DELETE FROM {}{}", name, key_predicate_sql(table, 1)),
                               key_params(table, key));
    return;
  }
  if (effect.kind == sync::MergeEffect::Kind::inserted) {
    std::string columns;
    std::string placeholders;
    Params params;
    for (const auto& column : table.schema.columns) {
      const Value* value = nullptr;
      if (column.primary_key_position > 0) {
        value = &key[static_cast<std::size_t>(column.primary_key_position - 1)];
      } else if (auto it = state.values.find(column.name); it != state.values.end()) {
        value = &it->second;
      } else {
        continue;  // the column's default
      }
      if (!columns.empty()) {
        columns += ", ";
        placeholders += ", ";
      }
      columns += quote_identifier(column.name);
      params.push_back(to_param(table, column.name, *value));
      placeholders += fmt::format("${}::{}", params.size(), table.type_of(column.name).name);
    }
    m_connection.exec_prepared(
        fmt::format("INSERT INTO {} ({}) VALUES ({})", name, columns, placeholders), params);
    return;
  }
  if (effect.kind == sync::MergeEffect::Kind::updated) {
    std::string assignments;
    Params params;
    for (const auto& column : effect.changed_columns) {
      if (!table.schema.has_column(column)) continue;
      auto it = state.values.find(column);
      params.push_back(to_param(table, column, it == state.values.end() ? Value{} : it->second));
      if (!assignments.empty()) assignments += ", ";
      assignments += fmt::format("{} = ${}::{}", quote_identifier(column), params.size(),
                                 table.type_of(column).name);
    }
    if (params.empty()) return;
    int first_key = static_cast<int>(params.size()) + 1;
    for (auto& param : key_params(table, key))
      params.push_back(std::move(param));
    m_connection.exec_prepared(
        fmt::format("UPDATE {} SET {}{}", name, assignments, key_predicate_sql(table, first_key)),
        params);
  }
}

void PgWriteTxn::store_row_state(const TableSchema& schema, const std::vector<Value>& key,
                                 const sync::RowState& state, const sync::MergeEffect& effect,
                                 const sync::Stamp& stamp) {
  const PgTable& table = table_of(schema);
  if (effect.kind != sync::MergeEffect::Kind::none) {
    set_stamp(stamp);
    write_row(table, key, state, effect);
  }
  auto key_text = sync::encode_key(key);
  // Metadata-only updates (a superseded write) leave the row version, and so its xmin, as is.
  std::int64_t writer = effect.kind != sync::MergeEffect::Kind::none
                            ? current_xid()
                            : m_loaded_xid[table.schema.name + "/" + key_text];
  save_metadata(m_connection, table.schema.name, key_text, state, writer);
}

void PgWriteTxn::savepoint() {
  m_connection.exec_prepared("SAVEPOINT tandem_mutation", {});
}

void PgWriteTxn::rollback_to_savepoint() {
  m_connection.exec_prepared("ROLLBACK TO SAVEPOINT tandem_mutation", {});
  m_connection.exec_prepared("RELEASE SAVEPOINT tandem_mutation", {});
}

void PgWriteTxn::release_savepoint() {
  m_connection.exec_prepared("RELEASE SAVEPOINT tandem_mutation", {});
}

}  // namespace tandem::storage::postgres
