#include "client/local_store.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <random>

#include "common/value_json.h"
#include "protocol/codec.h"
#include "sync/row_state_codec.h"

namespace tandem::client {

using storage::SqliteConnection;
using storage::SqliteTransaction;

namespace {

// Tandem's bookkeeping. The server never tracks a table whose name starts with "tandem_"
// (common/identifier.h), so these names cannot collide with a user table.
constexpr const char* kSchemaSql = R"(
CREATE TABLE IF NOT EXISTS tandem_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tandem_outbox (
  client_seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL,
  pk TEXT NOT NULL, vals TEXT, hlc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tandem_outbox_row ON tandem_outbox (tbl, key, client_seq);
CREATE TABLE IF NOT EXISTS tandem_rows (
  tbl TEXT NOT NULL, key TEXT NOT NULL, pk TEXT NOT NULL, state TEXT NOT NULL, row TEXT,
  seq INTEGER NOT NULL, epoch INTEGER NOT NULL, PRIMARY KEY (tbl, key));
)";

std::string new_client_id() {
  std::random_device random;
  std::uniform_int_distribution<int> digit(0, 15);
  std::string id = "c-";
  for (int i = 0; i < 24; ++i)
    id += "0123456789abcdef"[digit(random)];
  return id;
}

Error invalid(const std::string& message) {
  return Error(ErrorCode::invalid_mutation, message);
}

}  // namespace

std::string key_text(const TableSchema& schema, const Row& pk) {
  return sync::encode_key(schema.key_of(pk));
}

LocalStore::LocalStore(const std::string& path) : m_path(path) {
  m_db = std::make_unique<SqliteConnection>(path, SqliteConnection::Mode::read_write);
  // WAL lets the application read while the sync thread writes; NORMAL durability is enough
  // for a replica: a lost tail is re-sent by the server from the stored checkpoint, and the
  // outbox write of a local mutation is in the same transaction as the row.
  m_db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
  ensure_bookkeeping();
  load_meta();
  m_reader = std::make_unique<SqliteConnection>(path, SqliteConnection::Mode::read_only);
  m_reader->exec("PRAGMA busy_timeout=5000;");
}

LocalStore::~LocalStore() = default;

void LocalStore::ensure_bookkeeping() {
  SqliteTransaction txn(*m_db);
  m_db->exec(kSchemaSql);
  if (!meta("client_id")) set_meta("client_id", new_client_id());
  txn.commit();
}

void LocalStore::load_meta() {
  m_client_id = *meta("client_id");
  if (auto next = meta("next_seq")) m_next_seq = std::stoull(*next);
  if (auto epoch = meta("epoch")) m_epoch = std::stoll(*epoch);
  // A restarted client never stamps below what it stamped or observed before.
  if (auto hlc = meta("hlc")) {
    if (auto parsed = sync::Hlc::parse(*hlc)) m_clock.advance_to(*parsed);
  }
  if (auto tables = meta("tables")) {
    auto decoded = protocol::make_json_codec()->decode_server(*tables);
    if (!decoded || !std::holds_alternative<protocol::Welcome>(*decoded)) {
      throw Error(ErrorCode::internal, "corrupt replica: the stored table list does not decode");
    }
    for (auto& table : std::get<protocol::Welcome>(*decoded).tables)
      m_tables.emplace(table.schema.name, std::move(table));
  }
}

std::optional<std::string> LocalStore::meta(const std::string& key) const {
  auto& statement = m_db->cached("SELECT value FROM tandem_meta WHERE key = ?");
  statement.reset();
  statement.bind_text(1, key);
  std::optional<std::string> value;
  if (statement.step()) value = statement.column_text(0);
  statement.reset();
  return value;
}

void LocalStore::set_meta(const std::string& key, const std::string& value) {
  auto& statement = m_db->cached("INSERT OR REPLACE INTO tandem_meta (key, value) VALUES (?, ?)");
  statement.reset();
  statement.bind_text(1, key);
  statement.bind_text(2, value);
  statement.run();
}

void LocalStore::observe(const sync::Hlc& hlc) {
  // A clock too far ahead is not adopted (HlcClock refuses it); the write it stamped still
  // merges by its stamp.
  (void)m_clock.observe(hlc);
}

// ---- checkpoint ----

std::optional<protocol::Checkpoint> LocalStore::checkpoint() const {
  std::lock_guard lock(m_mutex);
  auto text = meta("checkpoint");
  if (!text) return std::nullopt;
  auto json = nlohmann::json::parse(*text);
  protocol::Checkpoint checkpoint;
  checkpoint.seq = json.at("seq").get<std::uint64_t>();
  if (auto it = json.find("snapshot"); it != json.end()) {
    protocol::Checkpoint::SnapshotCursor cursor;
    cursor.table = it->at("table").get<std::string>();
    for (const auto& item : it->at("after"))
      cursor.after.push_back(value_from_json(item).value());
    checkpoint.snapshot = std::move(cursor);
  }
  // The rules the rows were chosen under: set by the snapshot that chose them, and kept
  // apart from the checkpoint, which every later message replaces.
  checkpoint.rules = meta("rules").value_or("");
  return checkpoint;
}

void LocalStore::save_checkpoint(const protocol::Checkpoint& checkpoint) {
  nlohmann::json json = {{"seq", checkpoint.seq}};
  if (checkpoint.snapshot) {
    nlohmann::json after = nlohmann::json::array();
    for (const auto& value : checkpoint.snapshot->after)
      after.push_back(to_json(value));
    json["snapshot"] = {{"table", checkpoint.snapshot->table}, {"after", std::move(after)}};
  }
  set_meta("checkpoint", json.dump());
}

// ---- local writes ----

std::optional<protocol::TableInfo> LocalStore::table(std::string_view name) const {
  std::lock_guard lock(m_mutex);
  auto it = m_tables.find(name);
  if (it == m_tables.end()) return std::nullopt;
  return it->second;
}

std::vector<protocol::TableInfo> LocalStore::tables() const {
  std::lock_guard lock(m_mutex);
  std::vector<protocol::TableInfo> list;
  for (const auto& [name, table] : m_tables)
    list.push_back(table);
  return list;
}

Result<std::vector<ChangeEvent>> LocalStore::insert(std::string_view table, const Row& row) {
  auto info = this->table(table);
  if (!info)
    return Error(ErrorCode::unknown_table, fmt::format("no table '{}' in the replica", table));
  sync::Mutation mutation{std::string(table), sync::Op::insert, {}, {}, {}};
  for (const auto& [column, value] : row) {
    if (info->schema.is_primary_key(column)) {
      mutation.pk.insert_or_assign(column, value);
    } else {
      mutation.values.insert_or_assign(column, value);
    }
  }
  return write(std::move(mutation));
}

Result<std::vector<ChangeEvent>> LocalStore::update(std::string_view table, const Row& pk,
                                                    const Row& values) {
  if (values.empty()) return invalid("an update must change at least one column");
  return write(sync::Mutation{std::string(table), sync::Op::update, pk, values, {}});
}

Result<std::vector<ChangeEvent>> LocalStore::remove(std::string_view table, const Row& pk) {
  return write(sync::Mutation{std::string(table), sync::Op::remove, pk, {}, {}});
}

namespace {

Status validate(const protocol::TableInfo& info, const sync::Mutation& mutation) {
  const auto& schema = info.schema;
  if (!info.writable) {
    return Error(ErrorCode::forbidden,
                 fmt::format("table '{}' is read-only for this user", schema.name));
  }
  for (const auto& column : schema.primary_key) {
    auto it = mutation.pk.find(column);
    if (it == mutation.pk.end() || it->second.is_null()) {
      return invalid(
          fmt::format("table '{}': primary-key column '{}' is missing", schema.name, column));
    }
  }
  for (const auto& [column, value] : mutation.pk) {
    if (!schema.is_primary_key(column)) {
      return invalid(
          fmt::format("table '{}': '{}' is not a primary-key column", schema.name, column));
    }
  }
  for (const auto& [column, value] : mutation.values) {
    if (!schema.has_column(column)) {
      return invalid(fmt::format("table '{}' has no column '{}'", schema.name, column));
    }
    if (schema.is_primary_key(column)) {
      return invalid(fmt::format("table '{}': primary-key column '{}' cannot be changed",
                                 schema.name, column));
    }
  }
  return ok_status();
}

}  // namespace

Result<std::vector<ChangeEvent>> LocalStore::write(sync::Mutation mutation) {
  std::lock_guard lock(m_mutex);
  auto it = m_tables.find(mutation.table);
  if (it == m_tables.end()) {
    return Error(ErrorCode::unknown_table,
                 fmt::format("no table '{}' in the replica (tables arrive with the first sync)",
                             mutation.table));
  }
  const auto& info = it->second;
  if (auto valid = validate(info, mutation); !valid) return valid.error();
  mutation.stamp = sync::Stamp{m_clock.now(), m_client_id};
  auto key = key_text(info.schema, mutation.pk);
  std::vector<ChangeEvent> events;
  SqliteTransaction txn(*m_db);
  auto& statement = m_db->cached(
      "INSERT INTO tandem_outbox (client_seq, tbl, key, op, pk, vals, hlc) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  statement.reset();
  statement.bind_int(1, static_cast<std::int64_t>(m_next_seq));
  statement.bind_text(2, mutation.table);
  statement.bind_text(3, key);
  statement.bind_text(4, sync::op_name(mutation.op));
  statement.bind_text(5, to_json(mutation.pk).dump());
  if (mutation.op == sync::Op::remove) {
    statement.bind_null(6);
  } else {
    statement.bind_text(6, to_json(mutation.values).dump());
  }
  statement.bind_text(7, mutation.stamp.hlc.to_string());
  statement.run();
  set_meta("next_seq", std::to_string(m_next_seq + 1));
  set_meta("hlc", mutation.stamp.hlc.to_string());
  refresh(info, key, mutation.pk, Origin::local, events);
  txn.commit();
  ++m_next_seq;
  return events;
}

// ---- outbox ----

std::vector<protocol::PushedMutation> LocalStore::outbox_batch(std::size_t max_mutations) const {
  std::lock_guard lock(m_mutex);
  auto& statement = m_db->cached(
      "SELECT client_seq, tbl, op, pk, vals, hlc FROM tandem_outbox ORDER BY client_seq LIMIT ?");
  statement.reset();
  statement.bind_int(1, static_cast<std::int64_t>(max_mutations));
  std::vector<protocol::PushedMutation> batch;
  while (statement.step()) {
    protocol::PushedMutation pushed;
    pushed.client_seq = static_cast<std::uint64_t>(statement.column_int(0));
    auto& mutation = pushed.mutation;
    mutation.table = statement.column_text(1);
    mutation.op = *sync::parse_op(statement.column_text(2));
    mutation.pk = row_from_json(nlohmann::json::parse(statement.column_text(3))).value();
    if (!statement.column_is_null(4)) {
      mutation.values = row_from_json(nlohmann::json::parse(statement.column_text(4))).value();
    }
    mutation.stamp = sync::Stamp{*sync::Hlc::parse(statement.column_text(5)), m_client_id};
    batch.push_back(std::move(pushed));
  }
  statement.reset();
  return batch;
}

std::int64_t LocalStore::pending_count() const {
  std::lock_guard lock(m_mutex);
  auto& statement = m_db->cached("SELECT count(*) FROM tandem_outbox");
  statement.reset();
  statement.step();
  auto count = statement.column_int(0);
  statement.reset();
  return count;
}

// ---- reads ----

Status LocalStore::query(std::string_view sql, const std::vector<Value>& params,
                         const RowVisitor& on_row) {
  std::lock_guard lock(m_read_mutex);
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc =
      sqlite3_prepare_v2(m_reader->handle(), sql.data(), static_cast<int>(sql.size()), &raw, &tail);
  if (rc != SQLITE_OK) {
    return Error(ErrorCode::bad_request,
                 fmt::format("SQL: {}", sqlite3_errmsg(m_reader->handle())));
  }
  if (!raw) return Error(ErrorCode::bad_request, "SQL: no statement");
  storage::SqliteStatement statement(m_reader->handle(), raw);
  std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    return Error(ErrorCode::bad_request, "SQL: one statement at a time");
  }
  if (!sqlite3_stmt_readonly(raw)) {
    return Error(ErrorCode::bad_request,
                 "SQL: the replica is read-only to SQL; write through the API so that the "
                 "change is synced");
  }
  if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(raw)) {
    return Error(ErrorCode::bad_request,
                 fmt::format("SQL: {} parameters given, the statement has {}", params.size(),
                             sqlite3_bind_parameter_count(raw)));
  }
  for (std::size_t i = 0; i < params.size(); ++i)
    statement.bind(static_cast<int>(i) + 1, params[i]);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(statement.column_count()));
  for (int i = 0; i < statement.column_count(); ++i)
    names.emplace_back(statement.column_name(i));
  try {
    std::vector<Value> row(names.size());
    while (statement.step()) {
      for (std::size_t i = 0; i < names.size(); ++i)
        row[i] = statement.column(static_cast<int>(i));
      if (!on_row(names, row)) break;
    }
  } catch (const Error& error) {
    return Error(ErrorCode::bad_request, fmt::format("SQL: {}", error.message()));
  }
  return ok_status();
}

}  // namespace tandem::client
