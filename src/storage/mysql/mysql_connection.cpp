#include "storage/mysql/mysql_connection.h"

#include <errmsg.h>
#include <fmt/format.h>
#include <mysqld_error.h>

#include <charconv>
#include <cstring>

namespace tandem::storage::mysql {
namespace {

// Session settings the datasource relies on: utf8mb4 text, UTC for TIMESTAMP values and
// logged_at, committed reads without gap locks for the capture mover, and a fixed sql_mode
// (triggers record the sql_mode of the session that creates them).
constexpr const char* kSessionSetup =
    "SET time_zone = '+00:00', "
    "SESSION tx_isolation = 'READ-COMMITTED', "
    "sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_"
    "ZERO', "
    "autocommit = 1";

constexpr std::size_t kMaxCachedStatements = 256;

std::string shorten(std::string_view sql) {
  constexpr std::size_t kMax = 200;
  if (sql.size() <= kMax) return std::string(sql);
  return std::string(sql.substr(0, kMax)) + "...";
}

}  // namespace

ErrorCode code_for_mysql_errno(unsigned server_errno) {
  switch (server_errno) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_UNKNOWN_HOST:
    case ER_CON_COUNT_ERROR:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_QUERY_INTERRUPTED:
    case ER_ACCESS_DENIED_ERROR:
    case ER_BAD_DB_ERROR:
      return ErrorCode::unavailable;
    case ER_NO_SUCH_TABLE:
    case ER_BAD_TABLE_ERROR:
    case ER_BAD_FIELD_ERROR:
      return ErrorCode::not_found;
    case ER_DUP_ENTRY:
    case ER_BAD_NULL_ERROR:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case ER_DATA_TOO_LONG:
    case ER_NO_REFERENCED_ROW_2:
    case ER_ROW_IS_REFERENCED_2:
      return ErrorCode::invalid_mutation;
    default:
      return ErrorCode::internal;
  }
}

std::string quote_name(std::string_view name) {
  std::string quoted = "`";
  for (char c : name) {
    if (c == '`') quoted += '`';
    quoted += c;
  }
  quoted += '`';
  return quoted;
}

std::string quote_string(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\0') throw Error(ErrorCode::invalid_identifier, "a name holds a NUL byte");
    if (c == '\'' || c == '\\') quoted += c == '\'' ? '\'' : '\\';
    quoted += c;
  }
  quoted += '\'';
  return quoted;
}

std::string_view MysqlResult::text(std::size_t row, std::size_t column) const {
  const auto& cell = m_rows[row][column];
  return cell ? std::string_view(*cell) : std::string_view();
}

std::int64_t MysqlResult::integer(std::size_t row, std::size_t column) const {
  const auto& cell = m_rows[row][column];
  if (!cell) throw Error(ErrorCode::internal, "expected an integer, got NULL");
  std::int64_t number = 0;
  auto [end, error] = std::from_chars(cell->data(), cell->data() + cell->size(), number);
  if (error != std::errc{} || end != cell->data() + cell->size())
    throw Error(ErrorCode::internal, fmt::format("expected an integer, got '{}'", *cell));
  return number;
}

MysqlConnection::MysqlConnection(const MysqlConnectOptions& options)
    : m_database(options.database) {
  m_mysql = mysql_init(nullptr);
  if (!m_mysql) throw MysqlError(ErrorCode::unavailable, "mysql_init failed", 0);
  unsigned timeout = options.connect_timeout_seconds;
  mysql_optionsv(m_mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_optionsv(m_mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  const char* socket = options.unix_socket.empty() ? nullptr : options.unix_socket.c_str();
  if (!mysql_real_connect(m_mysql, options.host.c_str(), options.user.c_str(),
                          options.password.c_str(), options.database.c_str(), options.port, socket,
                          0)) {
    unsigned number = mysql_errno(m_mysql);
    std::string message = mysql_error(m_mysql);
    mysql_close(m_mysql);
    m_mysql = nullptr;
    // The password is never part of the message.
    throw MysqlError(ErrorCode::unavailable,
                     fmt::format("cannot connect to MySQL at {}:{} (database '{}', user '{}'): {}",
                                 socket ? options.unix_socket : options.host, options.port,
                                 options.database, options.user, message),
                     number);
  }
  exec(kSessionSetup);
}

MysqlConnection::~MysqlConnection() {
  for (auto& [sql, statement] : m_statements)
    mysql_stmt_close(statement);
  if (m_mysql) mysql_close(m_mysql);
}

void MysqlConnection::fail(std::string_view sql) {
  unsigned number = mysql_errno(m_mysql);
  auto code = code_for_mysql_errno(number);
  if (number >= 2000 && number < 3000) m_broken = true;
  if (code == ErrorCode::unavailable) m_broken = true;
  throw MysqlError(
      code, fmt::format("MySQL error {}: {} (in: {})", number, mysql_error(m_mysql), shorten(sql)),
      number);
}

void MysqlConnection::fail_statement(MYSQL_STMT* statement, std::string_view sql) {
  unsigned number = mysql_stmt_errno(statement);
  auto code = code_for_mysql_errno(number);
  if (number >= 2000 && number < 3000) m_broken = true;
  if (code == ErrorCode::unavailable) m_broken = true;
  throw MysqlError(
      code,
      fmt::format("MySQL error {}: {} (in: {})", number, mysql_stmt_error(statement), shorten(sql)),
      number);
}

MysqlResult MysqlConnection::exec(std::string_view sql) {
  if (mysql_real_query(m_mysql, sql.data(), sql.size()) != 0) fail(sql);
  MysqlResult result;
  MYSQL_RES* rows = mysql_store_result(m_mysql);
  if (!rows) {
    if (mysql_field_count(m_mysql) != 0) fail(sql);
    result.m_affected = mysql_affected_rows(m_mysql);
    return result;
  }
  unsigned fields = mysql_num_fields(rows);
  MYSQL_FIELD* descriptions = mysql_fetch_fields(rows);
  for (unsigned i = 0; i < fields; ++i)
    result.m_names.emplace_back(descriptions[i].name);
  while (MYSQL_ROW row = mysql_fetch_row(rows)) {
    unsigned long* lengths = mysql_fetch_lengths(rows);
    std::vector<MysqlResult::Cell> cells;
    cells.reserve(fields);
    for (unsigned i = 0; i < fields; ++i) {
      if (row[i]) {
        cells.emplace_back(std::string(row[i], lengths[i]));
      } else {
        cells.emplace_back(std::nullopt);
      }
    }
    result.m_rows.push_back(std::move(cells));
  }
  mysql_free_result(rows);
  return result;
}

MYSQL_STMT* MysqlConnection::prepare(const std::string& sql) {
  if (auto it = m_statements.find(sql); it != m_statements.end()) return it->second;
  // Snapshot filters make the texts many (one per rule and reader shape), and the server
  // caps prepared statements (max_prepared_stmt_count): past a bound the cache starts over.
  // No statement is in use here: query() finishes with one before it returns.
  if (m_statements.size() >= kMaxCachedStatements) {
    for (auto& [text, statement] : m_statements)
      mysql_stmt_close(statement);
    m_statements.clear();
  }
  MYSQL_STMT* statement = mysql_stmt_init(m_mysql);
  if (!statement) fail(sql);
  if (mysql_stmt_prepare(statement, sql.data(), sql.size()) != 0) {
    try {
      fail_statement(statement, sql);
    } catch (...) {
      mysql_stmt_close(statement);
      throw;
    }
  }
  m_statements.emplace(sql, statement);
  return statement;
}

MysqlResult MysqlConnection::query(const std::string& sql, const Params& params) {
  MYSQL_STMT* statement = prepare(sql);
  if (mysql_stmt_param_count(statement) != params.size()) {
    throw Error(ErrorCode::internal,
                fmt::format("statement expects {} parameters, {} given: {}",
                            mysql_stmt_param_count(statement), params.size(), shorten(sql)));
  }
  // Parameter buffers must live until execute: values are read from `params` in place.
  std::vector<MYSQL_BIND> binds(params.size());
  std::vector<long long> integers(params.size());
  std::vector<double> reals(params.size());
  std::vector<unsigned long> lengths(params.size());
  std::vector<my_bool> nulls(params.size());
  std::uint8_t empty_blob = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    MYSQL_BIND& bind = binds[i];
    std::memset(&bind, 0, sizeof(bind));
    const Value& value = params[i];
    switch (value.kind()) {
      case Value::Kind::null:
        bind.buffer_type = MYSQL_TYPE_NULL;
        nulls[i] = 1;
        bind.is_null = &nulls[i];
        break;
      case Value::Kind::integer:
        integers[i] = value.as_integer();
        bind.buffer_type = MYSQL_TYPE_LONGLONG;
        bind.buffer = &integers[i];
        break;
      case Value::Kind::real:
        reals[i] = value.as_real();
        bind.buffer_type = MYSQL_TYPE_DOUBLE;
        bind.buffer = &reals[i];
        break;
      case Value::Kind::text:
        bind.buffer_type = MYSQL_TYPE_STRING;
        bind.buffer = const_cast<char*>(value.as_text().data());
        lengths[i] = value.as_text().size();
        bind.buffer_length = lengths[i];
        bind.length = &lengths[i];
        break;
      case Value::Kind::blob:
        bind.buffer_type = MYSQL_TYPE_BLOB;
        // An empty vector's data() may be null, which the connector sends as NULL.
        bind.buffer = value.as_blob().empty() ? static_cast<void*>(&empty_blob)
                                              : const_cast<std::uint8_t*>(value.as_blob().data());
        lengths[i] = value.as_blob().size();
        bind.buffer_length = lengths[i];
        bind.length = &lengths[i];
        break;
    }
  }
  if (!binds.empty() && mysql_stmt_bind_param(statement, binds.data()) != 0)
    fail_statement(statement, sql);
  if (mysql_stmt_execute(statement) != 0) fail_statement(statement, sql);

  MysqlResult result;
  MYSQL_RES* metadata = mysql_stmt_result_metadata(statement);
  if (!metadata) {
    result.m_affected = mysql_stmt_affected_rows(statement);
    return result;
  }
  unsigned fields = mysql_num_fields(metadata);
  MYSQL_FIELD* descriptions = mysql_fetch_fields(metadata);
  for (unsigned i = 0; i < fields; ++i)
    result.m_names.emplace_back(descriptions[i].name);
  mysql_free_result(metadata);
  if (mysql_stmt_store_result(statement) != 0) fail_statement(statement, sql);

  // Every column is fetched as bytes: first its length (a zero-sized buffer), then its
  // contents with mysql_stmt_fetch_column.
  std::vector<MYSQL_BIND> outputs(fields);
  std::vector<unsigned long> out_lengths(fields);
  std::vector<my_bool> out_nulls(fields);
  std::vector<my_bool> out_errors(fields);
  for (unsigned i = 0; i < fields; ++i) {
    std::memset(&outputs[i], 0, sizeof(MYSQL_BIND));
    outputs[i].buffer_type = MYSQL_TYPE_STRING;
    outputs[i].length = &out_lengths[i];
    outputs[i].is_null = &out_nulls[i];
    outputs[i].error = &out_errors[i];
  }
  if (fields > 0 && mysql_stmt_bind_result(statement, outputs.data()) != 0)
    fail_statement(statement, sql);
  for (;;) {
    int status = mysql_stmt_fetch(statement);
    if (status == MYSQL_NO_DATA) break;
    if (status != 0 && status != MYSQL_DATA_TRUNCATED) {
      mysql_stmt_free_result(statement);
      fail_statement(statement, sql);
    }
    std::vector<MysqlResult::Cell> cells;
    cells.reserve(fields);
    for (unsigned i = 0; i < fields; ++i) {
      if (out_nulls[i]) {
        cells.emplace_back(std::nullopt);
        continue;
      }
      // One spare byte: conversions of numbers to text end with a NUL.
      std::string bytes(out_lengths[i] + 1, '\0');
      if (out_lengths[i] > 0) {
        MYSQL_BIND column;
        std::memset(&column, 0, sizeof(column));
        unsigned long length = 0;
        column.buffer_type = MYSQL_TYPE_STRING;
        column.buffer = bytes.data();
        column.buffer_length = bytes.size();
        column.length = &length;
        if (mysql_stmt_fetch_column(statement, &column, i, 0) != 0) {
          mysql_stmt_free_result(statement);
          fail_statement(statement, sql);
        }
      }
      bytes.resize(out_lengths[i]);
      cells.emplace_back(std::move(bytes));
    }
    result.m_rows.push_back(std::move(cells));
  }
  mysql_stmt_free_result(statement);
  return result;
}

std::uint64_t MysqlConnection::thread_id() const {
  return mysql_thread_id(m_mysql);
}

std::string MysqlConnection::server_version() const {
  return mysql_get_server_info(m_mysql);
}

bool MysqlConnection::is_mariadb() const {
  return server_version().find("MariaDB") != std::string::npos;
}

}  // namespace tandem::storage::mysql
