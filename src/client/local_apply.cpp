// Applying what the server sends (snapshot pages, changes, acks) to the local replica, and
// recomputing visible rows from their base and the queued local mutations.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "client/local_store.h"
#include "common/identifier.h"
#include "common/logging.h"
#include "common/value_json.h"
#include "sync/merge.h"
#include "sync/row_state_codec.h"

namespace tandem::client {

using storage::SqliteTransaction;

struct LocalStore::Base {
  sync::RowState state;
  // Log position of the last change by another writer applied to it. The echoes of this
  // replica's own writes do not count: they are older than anything a later push of its own
  // did, so they must not stop that push's ack from joining the base.
  std::uint64_t seq = 0;
  std::int64_t epoch = 0;
  bool stored = false;
};

namespace {

std::string where_key(const TableSchema& schema) {
  std::vector<std::string> terms;
  for (const auto& column : schema.primary_key)
    terms.push_back(quote_identifier(column) + " = ?");
  return fmt::format("{}", fmt::join(terms, " AND "));
}

// Whether `state` already holds the effect of the mutation stamped `stamp`: its echo, the
// change it made, has been applied (every applied mutation makes one, under its own stamp).
bool reflects(const sync::RowState& state, const sync::Stamp& stamp) {
  if (state.insert_stamp == stamp || state.delete_stamp == stamp) return true;
  for (const auto& [column, winner] : state.stamps) {
    if (winner == stamp) return true;
  }
  return false;
}

}  // namespace

LocalStore::Base LocalStore::load_base(const std::string& table, const std::string& key) const {
  auto& statement =
      m_db->cached("SELECT state, row, seq, epoch FROM tandem_rows WHERE tbl = ? AND key = ?");
  statement.reset();
  statement.bind_text(1, table);
  statement.bind_text(2, key);
  Base base;
  if (statement.step()) {
    std::optional<Row> row;
    if (!statement.column_is_null(1)) {
      row = row_from_json(nlohmann::json::parse(statement.column_text(1))).value();
    }
    auto state = sync::decode_row_state(statement.column_text(0), row ? &*row : nullptr);
    if (!state) throw state.error();
    base.state = std::move(*state);
    base.seq = static_cast<std::uint64_t>(statement.column_int(2));
    base.epoch = statement.column_int(3);
    base.stored = true;
  }
  statement.reset();
  return base;
}

void LocalStore::save_base(const std::string& table, const std::string& key, const Row& pk,
                           const Base& base) {
  auto& statement = m_db->cached(
      "INSERT OR REPLACE INTO tandem_rows (tbl, key, pk, state, row, seq, epoch) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  statement.reset();
  statement.bind_text(1, table);
  statement.bind_text(2, key);
  statement.bind_text(3, to_json(pk).dump());
  statement.bind_text(4, sync::encode_row_state(base.state));
  if (base.state.exists) {
    statement.bind_text(5, to_json(base.state.values).dump());
  } else {
    statement.bind_null(5);
  }
  statement.bind_int(6, static_cast<std::int64_t>(base.seq));
  statement.bind_int(7, base.epoch);
  statement.run();
}

std::vector<sync::Mutation> LocalStore::pending_for(const std::string& table,
                                                    const std::string& key) const {
  auto& statement = m_db->cached(
      "SELECT op, pk, vals, hlc FROM tandem_outbox WHERE tbl = ? AND key = ? ORDER BY client_seq");
  statement.reset();
  statement.bind_text(1, table);
  statement.bind_text(2, key);
  std::vector<sync::Mutation> pending;
  while (statement.step()) {
    sync::Mutation mutation;
    mutation.table = table;
    mutation.op = *sync::parse_op(statement.column_text(0));
    mutation.pk = row_from_json(nlohmann::json::parse(statement.column_text(1))).value();
    if (!statement.column_is_null(2)) {
      mutation.values = row_from_json(nlohmann::json::parse(statement.column_text(2))).value();
    }
    mutation.stamp = sync::Stamp{*sync::Hlc::parse(statement.column_text(3)), m_client_id};
    pending.push_back(std::move(mutation));
  }
  statement.reset();
  return pending;
}

std::optional<Row> LocalStore::read_visible(const protocol::TableInfo& table, const Row& pk) const {
  const auto& schema = table.schema;
  std::vector<std::string> columns;
  for (const auto& column : schema.columns)
    columns.push_back(quote_identifier(column.name));
  auto& statement = m_db->cached(fmt::format("SELECT {} FROM {} WHERE {}", fmt::join(columns, ", "),
                                             quote_identifier(schema.name), where_key(schema)));
  statement.reset();
  int index = 1;
  for (const auto& column : schema.primary_key)
    statement.bind(index++, pk.at(column));
  std::optional<Row> row;
  if (statement.step()) {
    row.emplace();
    for (std::size_t i = 0; i < schema.columns.size(); ++i)
      row->emplace(schema.columns[i].name, statement.column(static_cast<int>(i)));
  }
  statement.reset();
  return row;
}

void LocalStore::write_visible(const protocol::TableInfo& table, const Row& pk,
                               const std::optional<Row>& row) {
  const auto& schema = table.schema;
  if (!row) {
    auto& statement = m_db->cached(
        fmt::format("DELETE FROM {} WHERE {}", quote_identifier(schema.name), where_key(schema)));
    statement.reset();
    int index = 1;
    for (const auto& column : schema.primary_key)
      statement.bind(index++, pk.at(column));
    statement.run();
    return;
  }
  std::vector<std::string> columns;
  std::vector<std::string> marks;
  for (const auto& column : schema.columns) {
    columns.push_back(quote_identifier(column.name));
    marks.emplace_back("?");
  }
  auto& statement = m_db->cached(fmt::format("INSERT OR REPLACE INTO {} ({}) VALUES ({})",
                                             quote_identifier(schema.name),
                                             fmt::join(columns, ", "), fmt::join(marks, ", ")));
  statement.reset();
  for (std::size_t i = 0; i < schema.columns.size(); ++i)
    statement.bind(static_cast<int>(i) + 1, row->at(schema.columns[i].name));
  statement.run();
}

void LocalStore::refresh(const protocol::TableInfo& table, const std::string& key, const Row& pk,
                         Origin origin, std::vector<ChangeEvent>& events) {
  const auto& schema = table.schema;
  sync::RowState state = load_base(schema.name, key).state;
  for (const auto& mutation : pending_for(schema.name, key))
    sync::merge(state, mutation);
  std::optional<Row> row;
  if (state.exists) {
    row.emplace();
    for (const auto& column : schema.columns) {
      Value value;
      if (auto it = pk.find(column.name); it != pk.end()) {
        value = it->second;
      } else if (auto found = state.values.find(column.name); found != state.values.end()) {
        value = found->second;
      }
      row->emplace(column.name, std::move(value));
    }
  }
  auto before = read_visible(table, pk);
  if (before == row) return;
  write_visible(table, pk, row);
  sync::Op op = !before ? sync::Op::insert : (!row ? sync::Op::remove : sync::Op::update);
  events.push_back(ChangeEvent{schema.name, op, pk, origin});
}

// ---- snapshot ----

void LocalStore::begin_snapshot(const protocol::SnapshotBegin& begin) {
  if (!begin.reset) return;
  std::lock_guard lock(m_mutex);
  // A new generation: rows the snapshot does not bring again are removed at its end.
  SqliteTransaction txn(*m_db);
  set_meta("epoch", std::to_string(m_epoch + 1));
  set_meta("rules", begin.rules);
  txn.commit();
  ++m_epoch;
}

ApplyResult LocalStore::apply_snapshot_rows(const protocol::SnapshotRowsReceived& page) {
  std::lock_guard lock(m_mutex);
  ApplyResult result;
  SqliteTransaction txn(*m_db);
  auto it = m_tables.find(page.table);
  if (it != m_tables.end()) {
    const auto& table = it->second;
    for (const auto& row : page.rows) {
      Row pk = table.schema.key_row(row);
      auto key = key_text(table.schema, pk);
      Base base;
      base.state = sync::RowState::preexisting(row);
      base.seq = page.checkpoint.seq;
      base.epoch = m_epoch;
      save_base(table.schema.name, key, pk, base);
      refresh(table, key, pk, Origin::remote, result.events);
    }
  } else {
    log::warn("snapshot rows for a table the replica does not have", {{"table", page.table}});
  }
  save_checkpoint(page.checkpoint);
  txn.commit();
  return result;
}

ApplyResult LocalStore::end_snapshot(const protocol::SnapshotEnd& end) {
  std::lock_guard lock(m_mutex);
  ApplyResult result;
  SqliteTransaction txn(*m_db);
  for (const auto& [name, table] : m_tables) {
    // Rows of an older generation that the snapshot did not bring again, and visible rows
    // with no base at all: the server no longer has them (queued local mutations stay).
    std::vector<std::pair<std::string, Row>> stale;
    {
      auto& statement = m_db->cached("SELECT key, pk FROM tandem_rows WHERE tbl = ? AND epoch < ?");
      statement.reset();
      statement.bind_text(1, name);
      statement.bind_int(2, m_epoch);
      while (statement.step()) {
        stale.emplace_back(statement.column_text(0),
                           row_from_json(nlohmann::json::parse(statement.column_text(1))).value());
      }
      statement.reset();
    }
    std::vector<std::string> key_columns;
    for (const auto& column : table.schema.primary_key)
      key_columns.push_back(quote_identifier(column));
    auto visible = m_db->prepare(
        fmt::format("SELECT {} FROM {}", fmt::join(key_columns, ", "), quote_identifier(name)));
    while (visible->step()) {
      Row pk;
      for (std::size_t i = 0; i < table.schema.primary_key.size(); ++i)
        pk.emplace(table.schema.primary_key[i], visible->column(static_cast<int>(i)));
      auto key = key_text(table.schema, pk);
      if (!load_base(name, key).stored) stale.emplace_back(key, std::move(pk));
    }
    visible.reset();
    auto& forget = m_db->cached("DELETE FROM tandem_rows WHERE tbl = ? AND key = ?");
    for (const auto& [key, pk] : stale) {
      forget.reset();
      forget.bind_text(1, name);
      forget.bind_text(2, key);
      forget.run();
      refresh(table, key, pk, Origin::remote, result.events);
    }
  }
  save_checkpoint(end.checkpoint);
  txn.commit();
  return result;
}

// ---- changes ----

void LocalStore::apply_change(const protocol::ChangeReceived& received,
                              std::vector<ChangeEvent>& events) {
  const auto& change = received.change;
  auto it = m_tables.find(change.table);
  if (it == m_tables.end()) return;  // a table this replica does not have (yet)
  const auto& table = it->second;
  observe(change.stamp.hlc);
  Row pk = table.schema.key_row(change.pk);
  auto key = key_text(table.schema, pk);
  Base base = load_base(table.schema.name, key);
  sync::Mutation mutation{change.table, change.op, pk, {}, change.stamp};
  if (change.op == sync::Op::insert) {
    mutation.values = change.row;
  } else if (change.op == sync::Op::update) {
    for (const auto& column : received.changed) {
      if (auto value = change.row.find(column); value != change.row.end())
        mutation.values.insert_or_assign(column, value->second);
    }
  }
  // The merge keeps the stamps the change teaches; the row itself is the server's, which
  // follows the log in order and is the truth the replica must end equal to.
  auto& state = base.state;
  sync::merge(state, mutation);
  if (change.op == sync::Op::remove) {
    state.exists = false;
    state.insert_stamp.reset();
    if (!state.delete_stamp || *state.delete_stamp < change.stamp)
      state.delete_stamp = change.stamp;
    for (auto value = state.values.begin(); value != state.values.end();) {
      auto stamp = state.stamps.find(value->first);
      if (stamp == state.stamps.end() || !(stamp->second > *state.delete_stamp)) {
        value = state.values.erase(value);
      } else {
        ++value;
      }
    }
  } else {
    state.exists = true;
    state.values = change.row;
    if (!state.insert_stamp || *state.insert_stamp < change.stamp) {
      if (change.op == sync::Op::insert || !state.insert_stamp) state.insert_stamp = change.stamp;
    }
    if (state.delete_stamp && !(*state.insert_stamp > *state.delete_stamp)) {
      state.delete_stamp.reset();
    }
  }
  if (change.stamp.node != m_client_id) base.seq = change.seq;
  base.epoch = m_epoch;
  save_base(table.schema.name, key, pk, base);
  // The echo of this replica's own write: the listeners heard of the write when it was made.
  // When its acknowledgement came first, the echoes of a run of writes to one row replay the
  // row's intermediate states, which are not news either.
  if (change.stamp.node == m_client_id) {
    std::vector<ChangeEvent> echoes;
    refresh(table, key, pk, Origin::remote, echoes);
    return;
  }
  refresh(table, key, pk, Origin::remote, events);
}

ApplyResult LocalStore::apply_changes(const protocol::ChangesReceived& frame) {
  std::lock_guard lock(m_mutex);
  ApplyResult result;
  SqliteTransaction txn(*m_db);
  for (const auto& received : frame.changes)
    apply_change(received, result.events);
  save_checkpoint(frame.checkpoint);
  set_meta("hlc", m_clock.now().to_string());
  txn.commit();
  return result;
}

// ---- acks ----

ApplyResult LocalStore::apply_ack(const protocol::Ack& ack, std::uint64_t sent_at_seq) {
  std::lock_guard lock(m_mutex);
  ApplyResult result;
  SqliteTransaction txn(*m_db);
  std::map<std::pair<std::string, std::string>, Row> touched;
  std::set<std::uint64_t> refused;
  for (const auto& exception : ack.exceptions)
    refused.insert(exception.client_seq);
  {
    auto& statement = m_db->cached(
        "SELECT client_seq, tbl, key, op, pk, vals, hlc FROM tandem_outbox "
        "WHERE client_seq <= ? ORDER BY client_seq");
    statement.reset();
    statement.bind_int(1, static_cast<std::int64_t>(ack.client_seq));
    std::vector<std::pair<std::string, sync::Mutation>> applied;
    while (statement.step()) {
      sync::Mutation mutation;
      mutation.table = statement.column_text(1);
      mutation.op = *sync::parse_op(statement.column_text(3));
      mutation.pk = row_from_json(nlohmann::json::parse(statement.column_text(4))).value();
      if (!statement.column_is_null(5)) {
        mutation.values = row_from_json(nlohmann::json::parse(statement.column_text(5))).value();
      }
      mutation.stamp = sync::Stamp{*sync::Hlc::parse(statement.column_text(6)), m_client_id};
      touched.emplace(std::pair{mutation.table, statement.column_text(2)}, mutation.pk);
      if (!refused.contains(static_cast<std::uint64_t>(statement.column_int(0))))
        applied.emplace_back(statement.column_text(2), std::move(mutation));
    }
    statement.reset();
    auto& drop = m_db->cached("DELETE FROM tandem_outbox WHERE client_seq <= ?");
    drop.reset();
    drop.bind_int(1, static_cast<std::int64_t>(ack.client_seq));
    drop.run();
    // An applied mutation joins the base until its echo (the change it made) arrives, so
    // the row does not flicker back meanwhile. Once the echo is in, the base is the row the
    // mutation left, which may keep other writers' values for some of its columns (they won
    // the merge with stamps this replica never saw): merging the mutation again would bring
    // its losing values back. The same guard as for exception rows below keeps it out of a
    // base that already follows a newer change.
    for (const auto& [key, mutation] : applied) {
      if (!m_tables.contains(mutation.table)) continue;
      Base base = load_base(mutation.table, key);
      if (base.seq > sent_at_seq || reflects(base.state, mutation.stamp)) continue;
      sync::merge(base.state, mutation);
      save_base(mutation.table, key, mutation.pk, base);
    }
  }
  for (const auto& exception : ack.exceptions) {
    if (exception.rejected) {
      result.rejections.push_back(
          Rejection{exception.code, exception.message, exception.table, exception.pk});
    }
    auto it = m_tables.find(exception.table);
    if (it == m_tables.end()) continue;
    const auto& schema = it->second.schema;
    Row pk = schema.key_row(exception.pk);
    auto key = key_text(schema, pk);
    // The exception's row is the row when the push committed. A change applied since the push
    // was sent may be newer than that, and every change older than the push's commit that is
    // still to come ends at that same row: so the ack's row is taken only when no such change
    // has arrived, and the base keeps following the log either way.
    Base base = load_base(schema.name, key);
    if (base.seq <= sent_at_seq && !exception.row_omitted) {
      base.state = exception.row ? sync::RowState::preexisting(*exception.row) : sync::RowState{};
      save_base(schema.name, key, pk, base);
    }
    touched.emplace(std::pair{schema.name, key}, pk);
  }
  for (const auto& [where, pk] : touched) {
    auto it = m_tables.find(where.first);
    if (it == m_tables.end()) continue;
    refresh(it->second, where.second, pk, Origin::remote, result.events);
  }
  txn.commit();
  return result;
}

}  // namespace tandem::client
