#include "storage/postgres/pg_connection.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "common/logging.h"

namespace tandem::storage::postgres {
namespace {

// SQLSTATE classes: 08 connection exception, 57P01-03 shutdown, 23 integrity constraint
// violation, 22 data exception, 42 syntax/access (an undefined column after ALTER TABLE).
ErrorCode code_for_sqlstate(std::string_view state) {
  if (state.starts_with("08") || state.starts_with("57P")) return ErrorCode::unavailable;
  if (state.starts_with("23") || state.starts_with("22")) return ErrorCode::invalid_mutation;
  if (state == "42P01") return ErrorCode::not_found;
  if (state == "42703") return ErrorCode::invalid_mutation;  // undefined column
  return ErrorCode::internal;
}

std::string first_line(std::string_view text) {
  auto end = text.find('\n');
  return std::string(text.substr(0, end));
}

// The settings that make PostgreSQL's text output a stable wire format (pg_types.h).
constexpr const char* kSessionOptions =
    "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex "
    "-c IntervalStyle=postgres -c client_encoding=UTF8";

// NOTICEs (e.g. "trigger does not exist, skipping") are expected chatter, not warnings.
void log_notice(void*, const char* message) {
  log::debug("postgres notice", {{"message", first_line(message)}});
}

}  // namespace

std::int64_t PgResult::integer(int row, int column) const {
  auto value = text(row, column);
  std::int64_t number = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc{} || end != value.data() + value.size())
    throw Error(ErrorCode::internal, fmt::format("expected an integer, got '{}'", value));
  return number;
}

PgConnection::PgConnection(const ConnectOptions& options) {
  std::vector<const char*> keys = {"dbname", "options", "application_name", "connect_timeout"};
  std::vector<const char*> values = {options.url.c_str(), kSessionOptions,
                                     options.application_name.c_str(), "10"};
  if (options.replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  m_connection = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (!m_connection || PQstatus(m_connection) != CONNECTION_OK) {
    std::string message = m_connection ? first_line(PQerrorMessage(m_connection)) : "out of memory";
    PQfinish(m_connection);
    m_connection = nullptr;
    throw PgError(
        ErrorCode::unavailable,
        fmt::format("cannot connect to PostgreSQL at {}: {}", redact_url(options.url), message),
        "08001");
  }
  PQsetNoticeProcessor(m_connection, log_notice, nullptr);
}

PgConnection::~PgConnection() {
  if (m_connection) PQfinish(m_connection);
}

void PgConnection::check(PGresult* result, std::string_view sql) const {
  auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_OUT ||
      status == PGRES_COPY_IN || status == PGRES_COPY_BOTH || status == PGRES_EMPTY_QUERY)
    return;
  std::string state;
  std::string message;
  std::string detail;
  if (result) {
    if (const char* field = PQresultErrorField(result, PG_DIAG_SQLSTATE)) state = field;
    if (const char* field = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)) message = field;
    if (const char* field = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) detail = field;
  }
  if (message.empty()) message = first_line(PQerrorMessage(m_connection));
  if (state.empty() && PQstatus(m_connection) != CONNECTION_OK) state = "08006";
  PQclear(result);
  auto code = code_for_sqlstate(state);
  if (code == ErrorCode::invalid_mutation) {
    // Constraint and data errors are shown to the client that wrote: the primary message
    // only. The detail quotes rows ("Key (email)=(...) already exists", "Failing row
    // contains (...)"), possibly rows or columns that client may not read; the log keeps it.
    if (!detail.empty())
      log::info("the database refused a write", {{"error", message}, {"detail", detail}});
    throw PgError(code, message, state);
  }
  if (!detail.empty()) message += fmt::format(" ({})", detail);
  throw PgError(code,
                fmt::format("PostgreSQL: {} [{}] in: {}", message, state,
                            sql.substr(0, std::min<std::size_t>(sql.size(), 200))),
                state);
}

PgResult PgConnection::exec(std::string_view sql) {
  std::string text(sql);
  PGresult* result = PQexec(m_connection, text.c_str());
  check(result, sql);
  return PgResult(result);
}

namespace {

struct ParamArrays {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  explicit ParamArrays(const Params& params) {
    values.reserve(params.size());
    for (const auto& param : params) {
      values.push_back(param ? param->c_str() : nullptr);
      lengths.push_back(param ? static_cast<int>(param->size()) : 0);
      formats.push_back(0);
    }
  }
};

}  // namespace

PgResult PgConnection::exec(std::string_view sql, const Params& params) {
  std::string text(sql);
  ParamArrays arrays(params);
  PGresult* result =
      PQexecParams(m_connection, text.c_str(), static_cast<int>(params.size()), nullptr,
                   arrays.values.data(), arrays.lengths.data(), arrays.formats.data(), 0);
  check(result, sql);
  return PgResult(result);
}

std::string PgConnection::prepare(const std::string& sql, int params) {
  if (auto found = m_prepared.find(sql); found != m_prepared.end()) return found->second;
  std::string name = fmt::format("tandem_{}", m_prepared.size());
  PGresult* prepared = PQprepare(m_connection, name.c_str(), sql.c_str(), params, nullptr);
  check(prepared, sql);
  PQclear(prepared);
  m_prepared.emplace(sql, name);
  return name;
}

PgResult PgConnection::exec_prepared(const std::string& sql, const Params& params) {
  auto name = prepare(sql, static_cast<int>(params.size()));
  ParamArrays arrays(params);
  PGresult* result =
      PQexecPrepared(m_connection, name.c_str(), static_cast<int>(params.size()),
                     arrays.values.data(), arrays.lengths.data(), arrays.formats.data(), 0);
  check(result, sql);
  return PgResult(result);
}

void PgConnection::send_prepared(const std::string& name, const Params& params) {
  ParamArrays arrays(params);
  if (PQsendQueryPrepared(m_connection, name.c_str(), static_cast<int>(params.size()),
                          arrays.values.data(), arrays.lengths.data(), arrays.formats.data(),
                          0) != 1) {
    throw PgError(ErrorCode::unavailable,
                  fmt::format("PostgreSQL: cannot send a statement: {}",
                              first_line(PQerrorMessage(m_connection))),
                  "08006");
  }
}

bool PgConnection::broken() const {
  return PQstatus(m_connection) != CONNECTION_OK;
}

std::string PgConnection::server_version() const {
  return std::to_string(PQserverVersion(m_connection));
}

std::string quote_literal(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    throw Error(ErrorCode::bad_request, "a SQL literal cannot hold a NUL byte");
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  quoted += '\'';
  return quoted;
}

std::string redact_url(std::string_view url) {
  std::string text(url);
  auto scheme = text.find("://");
  auto at = text.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return text;
  auto colon = text.find(':', scheme + 3);
  if (colon != std::string::npos && colon < at) text.replace(colon + 1, at - colon - 1, "***");
  return text;
}

}  // namespace tandem::storage::postgres
