// RAII wrappers over the sqlite3 C API. Failures throw tandem::Error: a constraint violation
// is invalid_mutation (the caller's input), anything else internal/unavailable.
// Not thread-safe: one connection per thread at a time.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/value.h"

namespace tandem::storage {

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Binds by 1-based index.
  void bind(int index, const Value& value);
  void bind_text(int index, std::string_view text);
  void bind_int(int index, std::int64_t value);
  void bind_null(int index);

  // true: a row is available; false: done.
  bool step();
  // Steps a statement to completion and resets it (bindings are kept).
  void run();
  void reset();  // clears bindings too

  int column_count() const;
  const char* column_name(int index) const;
  Value column(int index) const;
  std::int64_t column_int(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  [[noreturn]] void fail(int rc) const;
  sqlite3* m_db;
  sqlite3_stmt* m_stmt;
};

class SqliteConnection {
 public:
  enum class Mode { read_write, read_only };
  SqliteConnection(const std::string& path, Mode mode);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  void exec(std::string_view sql);
  // Resets every statement still stepping. A statement left on a row keeps its read
  // snapshot after its transaction ends; in WAL mode the next BEGIN IMMEDIATE then fails at
  // once (SQLITE_BUSY_SNAPSHOT) if another program wrote in between, busy timeout or not.
  void reset_statements();
  // A prepared statement, cached by SQL text for the connection's lifetime. Reset before use.
  SqliteStatement& cached(const std::string& sql);
  // A one-off prepared statement.
  std::unique_ptr<SqliteStatement> prepare(std::string_view sql);
  // Drops cached statements (after DDL changed a table they read).
  void clear_cache();

  std::int64_t changes() const;
  sqlite3* handle() const { return m_db; }
  const std::string& path() const { return m_path; }

 private:
  sqlite3* m_db = nullptr;
  std::string m_path;
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>> m_cache;
};

// Throws the Error for a failed sqlite call; `what` says what was attempted.
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc, std::string_view what);

// BEGIN IMMEDIATE ... COMMIT, rolled back on destruction unless committed.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteConnection& connection, bool immediate = true);
  ~SqliteTransaction();
  void commit();

 private:
  SqliteConnection& m_connection;
  bool m_open = true;
};

}  // namespace tandem::storage
