#include "storage/postgres/pg_write_txn.h"

#include <fmt/format.h>

#include "common/identifier.h"
#include "common/logging.h"
#include "storage/postgres/pg_change_log.h"
#include "storage/postgres/pg_rows.h"
#include "sync/row_state_codec.h"

namespace tandem::storage::postgres {
namespace {

constexpr int kLoadAttempts = 4;

// A row and its metadata as loaded from the database.
struct Loaded {
  std::optional<Row> row;
  std::int64_t row_xid = 0;
  std::optional<StoredMetadata> metadata;
};

// Up to date when the metadata describes the row version we see: written by the same
// transaction, or both absent. A live row without metadata is either older than the
// tracking (fine) or an outside insert not folded yet: after one catch-up, it is the former.
bool is_folded(const Loaded& loaded, bool caught_up) {
  if (!loaded.metadata) return !loaded.row || caught_up;
  if (loaded.row) return loaded.metadata->writer_xid == loaded.row_xid;
  auto history = sync::decode_row_state(loaded.metadata->state, nullptr);
  if (!history) throw history.error();
  return !history->insert_stamp;
}

std::int64_t loaded_xid(const Loaded& loaded) {
  if (loaded.row) return loaded.row_xid;
  return loaded.metadata ? loaded.metadata->writer_xid : 0;
}

std::optional<sync::RowState> state_of(Loaded& loaded) {
  if (!loaded.metadata) {
    if (!loaded.row) return std::nullopt;
    return sync::RowState::preexisting(std::move(*loaded.row));
  }
  auto state = sync::decode_row_state(loaded.metadata->state, loaded.row ? &*loaded.row : nullptr);
  if (!state) throw state.error();
  return std::move(*state);
}

void warn_unfolded(const MetadataKey& name) {
  log::warn("merging against a row whose outside write is not folded yet",
            {{"table", name.first}, {"pk", name.second}});
}

MetadataKey metadata_key(const PgTable& table, const std::vector<Value>& key) {
  return {table.schema.name, sync::encode_key(key)};
}

// The columns an insert of `state` writes (the others take their default), with their values.
// Throws Error(invalid_mutation) when a value does not fit its column.
std::pair<std::vector<std::string>, Params> insert_values(const PgTable& table,
                                                          const std::vector<Value>& key,
                                                          const sync::RowState& state) {
  std::vector<std::string> columns;
  Params params;
  for (const auto& column : table.schema.columns) {
    const Value* value = stored_value(column, key, state);
    if (!value) continue;
    columns.push_back(column.name);
    params.push_back(to_param(table, column.name, *value));
  }
  return {std::move(columns), std::move(params)};
}

}  // namespace

PgWriteTxn::PgWriteTxn(PgConnection& connection, PgTableLookup tables, CaptureMode mode,
                       std::function<void()> ensure_folded)
    : m_connection(connection),
      m_tables(std::move(tables)),
      m_mode(mode),
      m_ensure_folded(std::move(ensure_folded)),
      m_pending(connection) {}

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
  if (m_batched) {
    if (auto it = m_clients.find(client_id); it != m_clients.end()) return it->second;
    run_pending();
  }
  auto result = m_connection.exec_prepared(
      "SELECT user_id, last_seq FROM tandem.clients WHERE client_id = $1 FOR UPDATE",
      {std::string(client_id)});
  if (result.rows() == 0) return std::nullopt;
  return ClientRecord{std::string(result.text(0, 0)),
                      static_cast<std::uint64_t>(result.integer(0, 1))};
}

namespace {

constexpr const char* kSaveClient =
    "INSERT INTO tandem.clients (client_id, user_id, last_seq) VALUES ($1, $2, $3::bigint) "
    "ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq, updated_at = now()";

Params client_params(std::string_view client_id, const ClientRecord& record) {
  return {std::string(client_id), record.user_id, std::to_string(record.last_seq)};
}

}  // namespace

void PgWriteTxn::save_client(std::string_view client_id, const ClientRecord& record) {
  if (m_batched) {
    if (auto it = m_clients.find(client_id); it != m_clients.end()) {
      it->second = record;
      m_dirty_clients.emplace(client_id);
      return;
    }
    run_pending();
  }
  m_connection.exec_prepared(kSaveClient, client_params(client_id, record));
}

std::optional<sync::RowState> PgWriteTxn::load_row_state(const TableSchema& schema,
                                                         const std::vector<Value>& key) {
  const PgTable& table = table_of(schema);
  auto name = metadata_key(table, key);
  if (m_batched) {
    if (auto it = m_rows.find(name); it != m_rows.end()) return it->second.state;
    run_pending();
  }
  auto select =
      fmt::format("SELECT xmin::text::bigint, {} FROM {}{} FOR UPDATE", text_columns_sql(table),
                  quote_identifier(table.schema.name), key_predicate_sql(table, 1));
  auto params = key_params(table, key);
  for (int attempt = 1;; ++attempt) {
    auto result = m_connection.exec_prepared(select, params);
    Loaded loaded;
    loaded.metadata = load_metadata(m_connection, table.schema.name, name.second, false);
    if (result.rows() > 0) {
      loaded.row_xid = result.integer(0, 0);
      loaded.row = row_from_result(table, result, 0, 1);
    }
    bool folded = is_folded(loaded, attempt > 1);
    if (folded || attempt == kLoadAttempts) {
      if (!folded) warn_unfolded(name);
      m_loaded_xid[name] = loaded_xid(loaded);
      return state_of(loaded);
    }
    m_ensure_folded();
  }
}

Statement PgWriteTxn::stamp_statement(const sync::Stamp& stamp) const {
  // The capture path reads the stamp back: from the trigger's session setting, or from a
  // logical decoding message that precedes the row change in the same transaction.
  if (m_mode == CaptureMode::trigger)
    return {"SELECT set_config('tandem.stamp', $1, true)", {stamp.to_string()}};
  return {"SELECT pg_logical_emit_message(true, $1, $2)",
          {std::string(kStampMessage), stamp.to_string()}};
}

// Inserts and updates return the new row version's xmin: inside a savepoint it is the
// subtransaction's id, not txid_current().
std::optional<Statement> PgWriteTxn::row_statement(const PgTable& table,
                                                   const std::vector<Value>& key,
                                                   const sync::RowState& state,
                                                   const sync::MergeEffect& effect) const {
  auto name = quote_identifier(table.schema.name);
  if (effect.kind == sync::MergeEffect::Kind::deleted)
    return Statement{fmt::format("DELETE FROM {}{}", name, key_predicate_sql(table, 1)),
                     key_params(table, key)};
  if (effect.kind == sync::MergeEffect::Kind::inserted) {
    auto [columns, params] = insert_values(table, key, state);
    std::string names;
    std::string placeholders;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      names += fmt::format("{}{}", i ? ", " : "", quote_identifier(columns[i]));
      placeholders +=
          fmt::format("{}${}::{}", i ? ", " : "", i + 1, table.type_of(columns[i]).name);
    }
    return Statement{fmt::format("INSERT INTO {} ({}) VALUES ({}) RETURNING xmin::text::bigint",
                                 name, names, placeholders),
                     std::move(params)};
  }
  if (effect.kind != sync::MergeEffect::Kind::updated) return std::nullopt;
  std::string assignments;
  Params params;
  for (const auto& column : effect.changed_columns) {
    // The key never changes: the WHERE clause names it (and the merge never lists it).
    if (!table.schema.has_column(column) || table.schema.is_primary_key(column)) continue;
    auto it = state.values.find(column);
    params.push_back(to_param(table, column, it == state.values.end() ? Value{} : it->second));
    if (!assignments.empty()) assignments += ", ";
    assignments += fmt::format("{} = ${}::{}", quote_identifier(column), params.size(),
                               table.type_of(column).name);
  }
  if (params.empty()) return std::nullopt;
  int first_key = static_cast<int>(params.size()) + 1;
  for (auto& param : key_params(table, key))
    params.push_back(std::move(param));
  return Statement{fmt::format("UPDATE {} SET {}{} RETURNING xmin::text::bigint", name, assignments,
                               key_predicate_sql(table, first_key)),
                   std::move(params)};
}

void PgWriteTxn::store_row_state(const TableSchema& schema, const std::vector<Value>& key,
                                 const sync::RowState& state, const sync::MergeEffect& effect,
                                 const sync::Stamp& stamp) {
  const PgTable& table = table_of(schema);
  auto name = metadata_key(table, key);
  if (m_batched) {
    if (auto it = m_rows.find(name); it != m_rows.end()) {
      store_batched(table, name, it->second, key, state, effect, stamp);
      return;
    }
    run_pending();
  }
  store_now(table, name, key, state, effect, stamp);
}

void PgWriteTxn::store_now(const PgTable& table, const MetadataKey& name,
                           const std::vector<Value>& key, const sync::RowState& state,
                           const sync::MergeEffect& effect, const sync::Stamp& stamp) {
  // Metadata-only updates (a superseded write) leave the row version, and so its xmin, as is.
  std::int64_t writer = m_loaded_xid[name];
  if (effect.kind != sync::MergeEffect::Kind::none) {
    auto write = row_statement(table, key, state, effect);
    auto set = stamp_statement(stamp);
    m_connection.exec_prepared(set.sql, set.params);
    writer = current_xid();
    if (write) {
      auto written = m_connection.exec_prepared(write->sql, write->params);
      if (written.columns() > 0 && written.rows() > 0) writer = written.integer(0, 0);
    }
  }
  save_metadata(m_connection, table.schema.name, name.second, state, writer);
}

// Batched mode needs no savepoints: store_batched changes nothing until it cannot fail any
// more, and the applier refuses a mutation before or inside store_row_state, never after.
void PgWriteTxn::savepoint() {
  if (m_batched) return;
  m_connection.exec_prepared("SAVEPOINT tandem_mutation", {});
}

void PgWriteTxn::rollback_to_savepoint() {
  if (m_batched) return;
  m_connection.exec_prepared("ROLLBACK TO SAVEPOINT tandem_mutation", {});
  m_connection.exec_prepared("RELEASE SAVEPOINT tandem_mutation", {});
}

void PgWriteTxn::release_savepoint() {
  if (m_batched) return;
  m_connection.exec_prepared("RELEASE SAVEPOINT tandem_mutation", {});
}

// Batched mode.

void PgWriteTxn::prefetch(const std::vector<std::string>& client_ids,
                          const std::vector<RowRef>& rows) {
  m_batched = true;
  load_clients(client_ids);
  std::map<const PgTable*, TableKeys> tables;
  std::set<MetadataKey> seen;
  for (const auto& ref : rows) {
    const PgTable* table = m_tables(ref.table->name);
    if (!table) continue;
    auto name = metadata_key(*table, ref.key);
    if (!seen.insert(name).second) continue;
    try {
      key_params(*table, ref.key);
    } catch (const Error&) {
      continue;  // refused when its mutation is applied
    }
    auto& keys = tables[table];
    keys.names.push_back(std::move(name));
    keys.keys.push_back(&ref.key);
  }
  load_rows(tables);
}

void PgWriteTxn::load_clients(const std::vector<std::string>& client_ids) {
  std::vector<std::optional<std::string>> ids;
  for (const auto& id : client_ids) {
    if (m_clients.try_emplace(id).second) ids.emplace_back(id);
  }
  if (ids.empty()) return;
  auto result = m_connection.exec_prepared(
      "SELECT client_id, user_id, last_seq FROM tandem.clients WHERE client_id = ANY($1::text[]) "
      "ORDER BY client_id FOR UPDATE",
      {text_array_literal(ids)});
  for (int row = 0; row < result.rows(); ++row) {
    m_clients[std::string(result.text(row, 0))] = ClientRecord{
        std::string(result.text(row, 1)), static_cast<std::uint64_t>(result.integer(row, 2))};
  }
}

namespace {

// The rows of `keys`, locked, each with its position in `keys`, its xmin and its place (an
// index probe per key: a lateral subquery with FOR UPDATE is never turned into a join that
// scans the table).
PgResult select_rows(PgConnection& connection, const PgTable& table,
                     const std::vector<const std::vector<Value>*>& keys) {
  const auto& key_columns = table.schema.primary_key;
  std::string arrays;
  std::string names;
  std::string match;
  Params params;
  for (std::size_t i = 0; i < key_columns.size(); ++i) {
    std::vector<std::optional<std::string>> values;
    values.reserve(keys.size());
    for (const auto* key : keys)
      values.push_back(to_param(table, key_columns[i], (*key)[i]));
    params.push_back(text_array_literal(values));
    arrays += fmt::format("{}${}::text[]", i ? ", " : "", i + 1);
    names += fmt::format("k{}, ", i);
    match += fmt::format("{}{} = u.k{}::{}", i ? " AND " : "", quote_identifier(key_columns[i]), i,
                         table.type_of(key_columns[i]).name);
  }
  auto sql = fmt::format(
      "SELECT u.n, t.* FROM unnest({}) WITH ORDINALITY AS u({}n) CROSS JOIN LATERAL (SELECT "
      "xmin::text::bigint, tableoid::text || ':' || ctid::text, {} FROM {} WHERE {} FOR "
      "UPDATE) AS t",
      arrays, names, text_columns_sql(table), quote_identifier(table.schema.name), match);
  return connection.exec_prepared(sql, params);
}

}  // namespace

void PgWriteTxn::load_rows(const std::map<const PgTable*, TableKeys>& tables) {
  std::vector<MetadataKey> names;
  for (const auto& [table, keys] : tables)
    names.insert(names.end(), keys.names.begin(), keys.names.end());
  if (names.empty()) return;
  for (int attempt = 1;; ++attempt) {
    std::map<MetadataKey, Loaded> loaded;
    for (const auto& [table, keys] : tables) {
      auto result = select_rows(m_connection, *table, keys.keys);
      std::set<std::string> versions;
      for (int row = 0; row < result.rows(); ++row) {
        // Two keys that are written differently but name one row (5 and "5") would each
        // see a copy of it that ignores the other's writes.
        if (!versions.insert(std::string(result.text(row, 2))).second)
          throw BatchFailed(Error(ErrorCode::internal, "two keys of a batch name the same row"));
        auto index = static_cast<std::size_t>(result.integer(row, 0) - 1);
        auto& entry = loaded[keys.names.at(index)];
        entry.row_xid = result.integer(row, 1);
        entry.row = row_from_result(*table, result, row, 3);
      }
    }
    auto metadata = load_metadata_batch(m_connection, names, false);
    bool all_folded = true;
    for (const auto& name : names) {
      auto& entry = loaded[name];
      if (auto it = metadata.find(name); it != metadata.end()) entry.metadata = it->second;
      all_folded = all_folded && is_folded(entry, attempt > 1);
    }
    if (all_folded || attempt == kLoadAttempts) {
      for (auto& [name, entry] : loaded) {
        if (!is_folded(entry, attempt > 1)) warn_unfolded(name);
        m_rows[name] = CachedRow{state_of(entry), loaded_xid(entry), false, false};
      }
      return;
    }
    m_ensure_folded();
  }
}

void PgWriteTxn::store_batched(const PgTable& table, const MetadataKey& name, CachedRow& cached,
                               const std::vector<Value>& key, const sync::RowState& state,
                               const sync::MergeEffect& effect, const sync::Stamp& stamp) {
  if (effect.kind == sync::MergeEffect::Kind::inserted && m_mode == CaptureMode::logical) {
    add_to_run(table, name, key, state, stamp);
    cached.written = true;
  } else if (effect.kind != sync::MergeEffect::Kind::none) {
    // Everything that can refuse the mutation (a value that does not fit its column) runs
    // before anything is buffered.
    auto write = row_statement(table, key, state, effect);
    auto set = stamp_statement(stamp);
    close_run();
    m_pending.add(std::move(set.sql), std::move(set.params));
    if (write) m_pending.add(std::move(write->sql), std::move(write->params));
    cached.written = true;
  }
  cached.state = state;
  cached.dirty = true;
}

void PgWriteTxn::add_to_run(const PgTable& table, const MetadataKey& name,
                            const std::vector<Value>& key, const sync::RowState& state,
                            const sync::Stamp& stamp) {
  constexpr std::size_t kMaxRun = 1000;
  auto [columns, params] = insert_values(table, key, state);
  // The rows of one INSERT are distinct keys (a delete in between closes the run anyway).
  if (m_run.table != &table || m_run.columns != columns || m_run.keys.contains(name) ||
      m_run.stamps.size() >= kMaxRun)
    close_run();
  if (m_run.empty()) {
    m_run.table = &table;
    m_run.columns = std::move(columns);
    m_run.values.assign(m_run.columns.size(), {});
  }
  for (std::size_t i = 0; i < params.size(); ++i)
    m_run.values[i].push_back(std::move(params[i]));
  m_run.stamps.push_back(stamp.to_string());
  m_run.keys.insert(name);
}

// One message with the rows' stamps, then one INSERT whose rows are written in that order.
void PgWriteTxn::close_run() {
  if (m_run.empty()) return;
  std::string stamps;
  for (const auto& stamp : m_run.stamps)
    stamps += (stamps.empty() ? "" : "\n") + stamp;
  m_pending.add("SELECT pg_logical_emit_message(true, $1, $2)",
                {std::string(kRowStampsMessage), std::move(stamps)});
  const PgTable& table = *m_run.table;
  std::string names;
  std::string arrays;
  std::string aliases;
  std::string casts;
  Params params;
  for (std::size_t i = 0; i < m_run.columns.size(); ++i) {
    const char* separator = i ? ", " : "";
    names += separator + quote_identifier(m_run.columns[i]);
    arrays += fmt::format("{}${}::text[]", separator, i + 1);
    aliases += fmt::format("c{}, ", i);
    casts += fmt::format("{}u.c{}::{}", separator, i, table.type_of(m_run.columns[i]).name);
    params.push_back(text_array_literal(m_run.values[i]));
  }
  m_pending.add(fmt::format("INSERT INTO {} ({}) SELECT {} FROM unnest({}) WITH ORDINALITY AS "
                            "u({}n) ORDER BY u.n",
                            quote_identifier(table.schema.name), names, casts, arrays, aliases),
                std::move(params));
  m_run = InsertRun{};
}

void PgWriteTxn::flush() {
  if (!m_batched) return;
  close_run();
  for (const auto& id : m_dirty_clients)
    m_pending.add(kSaveClient, client_params(id, *m_clients.at(id)));
  m_dirty_clients.clear();
  std::vector<MetadataWrite> writes;
  for (auto& [name, cached] : m_rows) {
    if (!cached.dirty) continue;
    // Rows this transaction wrote outside any savepoint carry its own xid (nullopt below).
    writes.push_back({name.first, name.second, sync::encode_row_state(*cached.state),
                      cached.written ? std::nullopt : std::optional(cached.loaded_xid)});
    cached.dirty = false;
  }
  if (!writes.empty()) {
    auto statement = save_metadata_statement(writes);
    m_pending.add(std::move(statement.sql), std::move(statement.params));
  }
  run_pending();
}

void PgWriteTxn::run_pending() {
  close_run();
  try {
    m_pending.run();
  } catch (const Error& error) {
    throw BatchFailed(error);
  }
}

}  // namespace tandem::storage::postgres
