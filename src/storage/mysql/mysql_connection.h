// A thin RAII layer over libmariadb (MariaDB Connector/C): connections, prepared statements
// with bound parameters, results fetched as bytes, and the mapping of MySQL errors onto
// Tandem's error codes.
//
// Errors: every failure throws MysqlError (a tandem::Error). Its code says what the caller
// can do about it: unavailable (cannot connect or the connection is lost: reconnect),
// not_found (no such table or column), invalid_mutation (a value or constraint refused),
// internal (anything else). `server_errno()` keeps the precise MySQL error number.
//
// Threads: a connection is used by one thread at a time.
#pragma once

#include <mysql.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/value.h"

namespace tandem::storage::mysql {

class MysqlError : public Error {
 public:
  MysqlError(ErrorCode code, const std::string& message, unsigned server_errno)
      : Error(code, message), m_errno(server_errno) {}
  unsigned server_errno() const noexcept { return m_errno; }

 private:
  unsigned m_errno;
};

// A result fully fetched into memory: every column as its bytes (the text form MySQL prints
// for numbers and dates), nullopt for SQL NULL.
class MysqlResult {
 public:
  using Cell = std::optional<std::string>;

  std::size_t rows() const { return m_rows.size(); }
  std::size_t columns() const { return m_names.size(); }
  bool is_null(std::size_t row, std::size_t column) const { return !m_rows[row][column]; }
  std::string_view text(std::size_t row, std::size_t column) const;
  const Cell& cell(std::size_t row, std::size_t column) const { return m_rows[row][column]; }
  // Throws Error(internal) when the cell is NULL or not an integer.
  std::int64_t integer(std::size_t row, std::size_t column) const;
  const std::string& column_name(std::size_t column) const { return m_names[column]; }
  std::uint64_t affected_rows() const { return m_affected; }

 private:
  friend class MysqlConnection;
  std::vector<std::string> m_names;
  std::vector<std::vector<Cell>> m_rows;
  std::uint64_t m_affected = 0;
};

struct MysqlConnectOptions {
  std::string host = "localhost";  // "localhost" means the default unix socket
  std::uint16_t port = 3306;
  std::string user;
  std::string password;
  std::string database;
  std::string unix_socket;  // when set, used instead of host/port
  unsigned connect_timeout_seconds = 10;
};

// Parameters are bound (never pasted into SQL): null, integer, real, text and blob values.
using Params = std::vector<Value>;

class MysqlConnection {
 public:
  // Connects with utf8mb4, UTC session time zone, READ COMMITTED isolation, autocommit on and
  // an explicit sql_mode (strict; backslash escapes and backtick quoting as by default).
  // Throws MysqlError(unavailable).
  explicit MysqlConnection(const MysqlConnectOptions& options);
  ~MysqlConnection();
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;

  // Runs one statement through the text protocol (DDL, BEGIN/COMMIT, statements without
  // values). Returns its rows when it has any.
  MysqlResult exec(std::string_view sql);
  // Runs one statement as a prepared statement (prepared once per connection and text) with
  // `params` bound to its `?` markers.
  MysqlResult query(const std::string& sql, const Params& params = {});

  bool broken() const { return m_broken; }
  std::uint64_t thread_id() const;
  bool is_mariadb() const;
  std::string server_version() const;
  const std::string& database() const { return m_database; }

 private:
  [[noreturn]] void fail(std::string_view sql);
  [[noreturn]] void fail_statement(MYSQL_STMT* statement, std::string_view sql);
  MYSQL_STMT* prepare(const std::string& sql);

  MYSQL* m_mysql = nullptr;
  std::string m_database;
  std::map<std::string, MYSQL_STMT*, std::less<>> m_statements;
  bool m_broken = false;
};

// `name` in backticks with embedded backticks doubled. Callers validate user-given names with
// check_identifier first; names read from the catalog (columns) are only quoted.
std::string quote_name(std::string_view name);

// A single-quoted SQL string literal (quotes and backslashes escaped; NUL refused), for the
// few places a parameter cannot be used: the bodies of triggers.
std::string quote_string(std::string_view text);

// The error code for a MySQL/MariaDB error number (client errors 2xxx included).
ErrorCode code_for_mysql_errno(unsigned server_errno);

}  // namespace tandem::storage::mysql
