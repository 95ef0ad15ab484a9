#include "storage/sqlite/sqlite_connection.h"

#include <fmt/format.h>

#include "common/error.h"

namespace tandem::storage {

void throw_sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int primary = rc & 0xff;
  ErrorCode code = ErrorCode::internal;
  if (primary == SQLITE_CONSTRAINT || primary == SQLITE_MISMATCH || primary == SQLITE_TOOBIG) {
    code = ErrorCode::invalid_mutation;
  } else if (primary == SQLITE_CANTOPEN || primary == SQLITE_BUSY || primary == SQLITE_IOERR ||
             primary == SQLITE_FULL || primary == SQLITE_READONLY) {
    code = ErrorCode::unavailable;
  }
  throw Error(code, fmt::format("{}: {}", what, detail));
}

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(m_stmt);
}

void SqliteStatement::fail(int rc) const {
  throw_sqlite_error(m_db, rc, fmt::format("sqlite statement '{}'", sqlite3_sql(m_stmt)));
}

void SqliteStatement::bind(int index, const Value& value) {
  int rc = SQLITE_OK;
  switch (value.kind()) {
    case Value::Kind::null:
      rc = sqlite3_bind_null(m_stmt, index);
      break;
    case Value::Kind::integer:
      rc = sqlite3_bind_int64(m_stmt, index, value.as_integer());
      break;
    case Value::Kind::real:
      rc = sqlite3_bind_double(m_stmt, index, value.as_real());
      break;
    case Value::Kind::text: {
      const auto& text = value.as_text();
      rc = sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
      break;
    }
    case Value::Kind::blob: {
      const auto& blob = value.as_blob();
      rc = sqlite3_bind_blob64(m_stmt, index, blob.data(), blob.size(), SQLITE_TRANSIENT);
      break;
    }
  }
  if (rc != SQLITE_OK) fail(rc);
}

void SqliteStatement::bind_text(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(rc);
}

void SqliteStatement::bind_int(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(m_stmt, index, value);
  if (rc != SQLITE_OK) fail(rc);
}

void SqliteStatement::bind_null(int index) {
  int rc = sqlite3_bind_null(m_stmt, index);
  if (rc != SQLITE_OK) fail(rc);
}

bool SqliteStatement::step() {
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(m_stmt);
  fail(rc);
}

void SqliteStatement::run() {
  while (step()) {
  }
  sqlite3_reset(m_stmt);
}

void SqliteStatement::reset() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

int SqliteStatement::column_count() const {
  return sqlite3_column_count(m_stmt);
}
const char* SqliteStatement::column_name(int index) const {
  return sqlite3_column_name(m_stmt, index);
}

Value SqliteStatement::column(int index) const {
  switch (sqlite3_column_type(m_stmt, index)) {
    case SQLITE_INTEGER:
      return Value{static_cast<std::int64_t>(sqlite3_column_int64(m_stmt, index))};
    case SQLITE_FLOAT:
      return Value{sqlite3_column_double(m_stmt, index)};
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, index));
      return Value{
          std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, index)))};
    }
    case SQLITE_BLOB: {
      const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, index));
      auto size = static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, index));
      return Value{Blob(data, data + size)};
    }
    default:
      return Value{};
  }
}

std::int64_t SqliteStatement::column_int(int index) const {
  return sqlite3_column_int64(m_stmt, index);
}

std::string SqliteStatement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, index));
  if (!text) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, index)));
}

bool SqliteStatement::column_is_null(int index) const {
  return sqlite3_column_type(m_stmt, index) == SQLITE_NULL;
}

SqliteConnection::SqliteConnection(const std::string& path, Mode mode) : m_path(path) {
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |=
      mode == Mode::read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    sqlite3_close(m_db);
    m_db = nullptr;
    throw Error(ErrorCode::unavailable,
                fmt::format("cannot open SQLite database '{}': {}", path, detail));
  }
  sqlite3_extended_result_codes(m_db, 1);
  // Readers and the writer share the file: wait for locks rather than fail at once.
  sqlite3_busy_timeout(m_db, 10'000);
}

SqliteConnection::~SqliteConnection() {
  m_cache.clear();
  sqlite3_close(m_db);
}

void SqliteConnection::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw_sqlite_error(m_db, rc, fmt::format("sqlite '{}' ({})", text.substr(0, 120), detail));
  }
}

SqliteStatement& SqliteConnection::cached(const std::string& sql) {
  auto it = m_cache.find(sql);
  if (it == m_cache.end()) it = m_cache.emplace(sql, prepare(sql)).first;
  it->second->reset();
  return *it->second;
}

std::unique_ptr<SqliteStatement> SqliteConnection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(m_db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK)
    throw_sqlite_error(m_db, rc, fmt::format("prepare '{}'", sql.substr(0, 200)));
  return std::make_unique<SqliteStatement>(m_db, stmt);
}

void SqliteConnection::clear_cache() {
  m_cache.clear();
}

std::int64_t SqliteConnection::changes() const {
  return sqlite3_changes64(m_db);
}

void SqliteConnection::reset_statements() {
  for (sqlite3_stmt* statement = sqlite3_next_stmt(m_db, nullptr); statement;
       statement = sqlite3_next_stmt(m_db, statement)) {
    if (sqlite3_stmt_busy(statement)) sqlite3_reset(statement);
  }
}

SqliteTransaction::SqliteTransaction(SqliteConnection& connection, bool immediate)
    : m_connection(connection) {
  m_connection.reset_statements();
  m_connection.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

SqliteTransaction::~SqliteTransaction() {
  if (!m_open) return;
  try {
    m_connection.exec("ROLLBACK");
  } catch (...) {
    // The transaction may already be gone (SQLite rolls back on some errors itself).
  }
}

void SqliteTransaction::commit() {
  m_connection.exec("COMMIT");
  m_open = false;
}

}  // namespace tandem::storage
