// Applying what the server sends (snapshot pages, changes, acks) to the local replica, and
// recomputing visible rows from their base and the queued local mutations.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "client/local_store.h"
#include "common/base64.h"
#include "common/identifier.h"
#include "common/logging.h"
#include "common/value_json.h"
#include "sync/merge.h"
#include "sync/row_state_codec.h"

namespace tandem::client {

using storage::SqliteStatement;
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

// JSON text written straight from values, for the bulk snapshot path (no nlohmann tree per
// row). Only ASCII text is written here: other text goes through nlohmann, which checks its
// UTF-8 as before. For ASCII text and integers the output is byte for byte nlohmann's dump.
bool is_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

void append_ascii_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t run = 0;  // start of the characters copied as they are
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void append_integer(std::string& out, std::int64_t value) {
  char buffer[24];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
}

// Parses back to the same value (reals stay reals), not necessarily nlohmann's exact text.
void append_value(std::string& out, const Value& value) {
  switch (value.kind()) {
    case Value::Kind::null:
      out += "null";
      return;
    case Value::Kind::integer:
      append_integer(out, value.as_integer());
      return;
    case Value::Kind::real: {
      double real = value.as_real();
      if (!std::isfinite(real)) {
        out += "null";  // as nlohmann writes it
        return;
      }
      char buffer[32];
      auto end = std::to_chars(buffer, buffer + sizeof buffer, real).ptr;
      std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
      out += text;
      if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
      return;
    }
    case Value::Kind::text:
      if (is_ascii(value.as_text())) {
        append_ascii_string(out, value.as_text());
      } else {
        out += to_json(value).dump();
      }
      return;
    case Value::Kind::blob:
      out += "{\"$b64\":\"";
      out += base64_encode(value.as_blob());
      out += "\"}";
      return;
  }
}

void append_row(std::string& out, const Row& row) {
  out += '{';
  bool first = true;
  for (const auto& [name, value] : row) {
    if (!first) out += ',';
    first = false;
    if (is_ascii(name)) {
      append_ascii_string(out, name);
    } else {
      append_value(out, Value(name));
    }
    out += ':';
    append_value(out, value);
  }
  out += '}';
}

std::string row_text(const Row& row) {
  std::string out;
  out.reserve(128);
  append_row(out, row);
  return out;
}

Row key_of_row(const TableSchema& schema, const Row& row) {
  Row pk;
  for (const auto& column : schema.primary_key) {
    auto it = row.find(column);
    pk.emplace(column, it == row.end() ? Value{} : it->second);
  }
  return pk;
}

// key_text(), written directly when every key value is an integer or ASCII text (the text is
// then nlohmann's exactly, and the key is an identity); through key_text() otherwise.
std::string fast_key_text(const TableSchema& schema, const Row& pk) {
  std::string out = "[";
  for (const auto& column : schema.primary_key) {
    auto it = pk.find(column);
    if (it == pk.end()) return key_text(schema, pk);
    const auto& value = it->second;
    if (out.size() > 1) out += ',';
    if (value.kind() == Value::Kind::integer) {
      append_integer(out, value.as_integer());
    } else if (value.kind() == Value::Kind::text && is_ascii(value.as_text())) {
      append_ascii_string(out, value.as_text());
    } else {
      return key_text(schema, pk);
    }
  }
  out += ']';
  return out;
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
  txn.commit();
  ++m_epoch;
}

ApplyResult LocalStore::apply_snapshot_rows(const protocol::SnapshotRowsReceived& page) {
  return apply_snapshot_pages(std::span(&page, 1));
}

ApplyResult LocalStore::apply_snapshot_pages(
    std::span<const protocol::SnapshotRowsReceived> pages) {
  std::lock_guard lock(m_mutex);
  ApplyResult result;
  if (pages.empty()) return result;
  SqliteTransaction txn(*m_db);
  // The outbox cannot change while the lock is held, so each table's pending keys are read
  // once for the whole batch.
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> pending;
  for (const auto& page : pages) {
    auto it = m_tables.find(page.table);
    if (it == m_tables.end()) {
      log::warn("snapshot rows for a table the replica does not have", {{"table", page.table}});
      continue;
    }
    auto keys = pending.find(page.table);
    if (keys == pending.end())
      keys = pending.emplace(page.table, keys_with_pending(page.table)).first;
    apply_snapshot_page(it->second, page, keys->second, result.events);
  }
  save_checkpoint(pages.back().checkpoint);
  txn.commit();
  return result;
}

std::set<std::string, std::less<>> LocalStore::keys_with_pending(const std::string& table) const {
  auto& statement = m_db->cached("SELECT DISTINCT key FROM tandem_outbox WHERE tbl = ?");
  statement.reset();
  statement.bind_text(1, table);
  std::set<std::string, std::less<>> keys;
  while (statement.step())
    keys.insert(statement.column_text(0));
  statement.reset();
  return keys;
}

void LocalStore::apply_snapshot_page(const protocol::TableInfo& table,
                                     const protocol::SnapshotRowsReceived& page,
                                     const std::set<std::string, std::less<>>& pending,
                                     std::vector<ChangeEvent>& events) {
  const auto& schema = table.schema;
  // A snapshot row's base state has no stamps (RowState::preexisting): the same text for
  // every row, since a live row's values are stored beside it, not in the state.
  static const std::string kSnapshotState = sync::encode_row_state(sync::RowState::preexisting({}));
  // Without queued local mutations the visible row is the snapshot's row, so it is written
  // as is. Parameter ?N is column N-1 of the schema in both statements. The insert reports a
  // new row; when the row existed, the update reports whether its visible content changed.
  std::vector<std::string> columns, marks, assignments, differs, key_terms;
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    auto name = quote_identifier(schema.columns[i].name);
    auto mark = fmt::format("?{}", i + 1);
    columns.push_back(name);
    marks.push_back(mark);
    if (schema.is_primary_key(schema.columns[i].name)) {
      key_terms.push_back(fmt::format("{} = {}", name, mark));
    } else {
      assignments.push_back(fmt::format("{} = {}", name, mark));
      differs.push_back(fmt::format("{} IS NOT {}", name, mark));
    }
  }
  auto& save = m_db->cached(
      "INSERT OR REPLACE INTO tandem_rows (tbl, key, pk, state, row, seq, epoch) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  auto& insert = m_db->cached(fmt::format("INSERT OR IGNORE INTO {} ({}) VALUES ({})",
                                          quote_identifier(schema.name), fmt::join(columns, ", "),
                                          fmt::join(marks, ", ")));
  SqliteStatement* update = nullptr;
  if (!assignments.empty()) {
    update = &m_db->cached(fmt::format("UPDATE {} SET {} WHERE {} AND ({})",
                                       quote_identifier(schema.name), fmt::join(assignments, ", "),
                                       fmt::join(key_terms, " AND "), fmt::join(differs, " OR ")));
    update->reset();
  }
  save.reset();
  insert.reset();
  auto bind_row = [&](SqliteStatement& statement, const Row& row) {
    for (std::size_t i = 0; i < schema.columns.size(); ++i) {
      auto value = row.find(schema.columns[i].name);
      if (value == row.end()) {
        statement.bind_null(static_cast<int>(i) + 1);
      } else {
        statement.bind(static_cast<int>(i) + 1, value->second);
      }
    }
  };
  for (const auto& row : page.rows) {
    Row pk = key_of_row(schema, row);
    auto key = fast_key_text(schema, pk);
    if (pending.contains(key)) {
      Base base;
      base.state = sync::RowState::preexisting(row);
      base.seq = page.checkpoint.seq;
      base.epoch = m_epoch;
      save_base(schema.name, key, pk, base);
      refresh(table, key, pk, Origin::remote, events);
      continue;
    }
    save.bind_text(1, schema.name);
    save.bind_text(2, key);
    save.bind_text(3, row_text(pk));
    save.bind_text(4, kSnapshotState);
    save.bind_text(5, row_text(row));
    save.bind_int(6, static_cast<std::int64_t>(page.checkpoint.seq));
    save.bind_int(7, m_epoch);
    save.run();
    bind_row(insert, row);
    insert.run();
    if (m_db->changes() > 0) {
      events.push_back(ChangeEvent{schema.name, sync::Op::insert, std::move(pk), Origin::remote});
      continue;
    }
    if (!update) continue;
    bind_row(*update, row);
    update->run();
    if (m_db->changes() > 0)
      events.push_back(ChangeEvent{schema.name, sync::Op::update, std::move(pk), Origin::remote});
  }
}

std::unique_ptr<SqliteStatement> LocalStore::visible_without_base(const TableSchema& schema) {
  std::vector<std::string> columns, terms;
  for (const auto& column : schema.primary_key) {
    auto name = quote_identifier(column);
    columns.push_back(name);
    terms.push_back(fmt::format(
        "CASE typeof({0}) WHEN 'integer' THEN CAST({0} AS TEXT) WHEN 'text' THEN json_quote({0}) "
        "END",
        name));
  }
  // The key text is spelled in SQL for integer and text keys, as key_text() spells it (JSON
  // escaping is standard), so most rows with a base are skipped inside SQLite. A key SQL
  // spells otherwise, or cannot spell (another type: NULL), is returned, and checked by the
  // caller: the query may return rows that have a base, never miss one that has none.
  auto table = quote_identifier(schema.name);
  try {
    auto statement = m_db->prepare(fmt::format(
        "SELECT {0} FROM {1} WHERE NOT EXISTS (SELECT 1 FROM tandem_rows WHERE tbl = ?1 AND "
        "key = '[' || {2} || ']')",
        fmt::join(columns, ", "), table, fmt::join(terms, " || ',' || ")));
    statement->bind_text(1, schema.name);
    return statement;
  } catch (const Error&) {
    // An SQLite built without JSON functions: every visible row is a candidate.
    return m_db->prepare(fmt::format("SELECT {} FROM {}", fmt::join(columns, ", "), table));
  }
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
    auto visible = visible_without_base(table.schema);
    auto& has_base = m_db->cached("SELECT 1 FROM tandem_rows WHERE tbl = ? AND key = ?");
    while (visible->step()) {
      Row pk;
      for (std::size_t i = 0; i < table.schema.primary_key.size(); ++i)
        pk.emplace(table.schema.primary_key[i], visible->column(static_cast<int>(i)));
      auto key = fast_key_text(table.schema, pk);
      has_base.reset();
      has_base.bind_text(1, name);
      has_base.bind_text(2, key);
      bool stored = has_base.step();
      has_base.reset();
      if (!stored) stale.emplace_back(key, std::move(pk));
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
  Row pk = key_of_row(table.schema, change.pk);
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
    // the row does not flicker back meanwhile. The same guard as for exception rows below
    // keeps it out of a base that already follows a newer change.
    for (const auto& [key, mutation] : applied) {
      if (!m_tables.contains(mutation.table)) continue;
      Base base = load_base(mutation.table, key);
      if (base.seq > sent_at_seq) continue;
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
    Row pk = key_of_row(schema, exception.pk);
    auto key = key_text(schema, pk);
    // The exception's row is the row when the push committed. A change applied since the push
    // was sent may be newer than that, and every change older than the push's commit that is
    // still to come ends at that same row: so the ack's row is taken only when no such change
    // has arrived, and the base keeps following the log either way.
    Base base = load_base(schema.name, key);
    if (base.seq <= sent_at_seq) {
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
