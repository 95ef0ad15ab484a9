// A thin RAII layer over libpq: connections, results, parameters bound as text, and the
// mapping of PostgreSQL errors onto Tandem's error codes.
//
// Errors: every failure throws PgError (a tandem::Error). Its code says what the caller can
// do about it: unavailable (connection lost: reconnect), invalid_mutation (the data was
// refused: a constraint, a bad value), internal (anything else). `sqlstate()` keeps the
// precise PostgreSQL code.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.h"

namespace tandem::storage::postgres {

class PgError : public Error {
 public:
  PgError(ErrorCode code, const std::string& message, std::string sqlstate)
      : Error(code, message), m_sqlstate(std::move(sqlstate)) {}
  const std::string& sqlstate() const noexcept { return m_sqlstate; }

 private:
  std::string m_sqlstate;
};

// Parameters travel in text format (each is cast in the SQL, e.g. `$1::timestamptz`);
// nullopt is SQL NULL.
using Param = std::optional<std::string>;
using Params = std::vector<Param>;

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* result) : m_result(result, &PQclear) {}

  int rows() const { return m_result ? PQntuples(m_result.get()) : 0; }
  int columns() const { return m_result ? PQnfields(m_result.get()) : 0; }
  bool is_null(int row, int column) const { return PQgetisnull(m_result.get(), row, column); }
  std::string_view text(int row, int column) const {
    return {PQgetvalue(m_result.get(), row, column),
            static_cast<std::size_t>(PQgetlength(m_result.get(), row, column))};
  }
  std::optional<std::string_view> optional_text(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
  }
  std::int64_t integer(int row, int column) const;
  std::string column_name(int column) const { return PQfname(m_result.get(), column); }
  PGresult* raw() const { return m_result.get(); }

 private:
  std::shared_ptr<PGresult> m_result;
};

struct ConnectOptions {
  std::string url;  // postgres://... or a libpq key=value string
  // A replication connection (replication=database): logical replication commands and SQL.
  bool replication = false;
  std::string application_name = "tandem";
};

class PgConnection {
 public:
  // Connects and fixes the session settings Tandem's value conversions rely on (ISO dates,
  // UTC, exact floats, hex bytea). Throws PgError(unavailable).
  explicit PgConnection(const ConnectOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  PgResult exec(std::string_view sql);  // simple protocol; several statements allowed
  PgResult exec(std::string_view sql, const Params& params);
  // Prepares `sql` once per connection under a name derived from it; runs it.
  PgResult exec_prepared(const std::string& sql, const Params& params);
  // Prepares `sql` (with `params` text parameters) unless this connection already has; returns
  // the statement's name.
  std::string prepare(const std::string& sql, int params);
  // Queues a prepared statement without waiting for its result (pipeline mode, pg_pipeline.h).
  // Throws PgError(unavailable) when libpq cannot queue it.
  void send_prepared(const std::string& name, const Params& params);

  bool broken() const;
  std::string server_version() const;
  PGconn* raw() { return m_connection; }

  // Throws the PgError that `result` carries when it is not a success.
  void check(PGresult* result, std::string_view sql) const;

 private:
  PGconn* m_connection = nullptr;
  std::unordered_map<std::string, std::string> m_prepared;  // sql text -> statement name
};

// Quotes a SQL string literal (for the rare places a parameter cannot be used, such as
// replication commands). Doubles single quotes; refuses NUL bytes.
std::string quote_literal(std::string_view text);

// The libpq connection string for a URL given as postgres:// or postgresql://; errors name
// the problem without echoing the password.
std::string redact_url(std::string_view url);

}  // namespace tandem::storage::postgres
