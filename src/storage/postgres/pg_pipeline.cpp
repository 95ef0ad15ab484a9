#include "storage/postgres/pg_pipeline.h"

#include <fmt/format.h>

#include <exception>

namespace tandem::storage::postgres {
namespace {

// Statements per sync: bounds what each side buffers while the other is not reading (in
// blocking mode a client that only writes and a server that only writes would deadlock).
constexpr std::size_t kChunk = 256;

PgError lost(PgConnection& connection, std::string_view what) {
  return PgError(ErrorCode::unavailable,
                 fmt::format("PostgreSQL pipeline: {}: {}", what, PQerrorMessage(connection.raw())),
                 "08006");
}

}  // namespace

void PgPipeline::add(std::string sql, Params params) {
  m_statements.push_back({std::move(sql), std::move(params)});
}

void PgPipeline::run() {
  // Emptied whatever happens: a failed pipeline is never sent again.
  auto statements = std::move(m_statements);
  m_statements.clear();
  if (statements.empty()) return;
  // Statements are prepared before the pipeline starts: a failed pipeline then never leaves
  // this connection unsure which of its statements exist.
  for (const auto& statement : statements)
    m_connection.prepare(statement.sql, static_cast<int>(statement.params.size()));
  if (PQenterPipelineMode(m_connection.raw()) != 1) throw lost(m_connection, "cannot start");
  std::exception_ptr failure;
  for (std::size_t first = 0; first < statements.size() && !failure; first += kChunk) {
    failure = run_chunk(statements, first, std::min(first + kChunk, statements.size()));
  }
  if (PQexitPipelineMode(m_connection.raw()) != 1 && !failure)
    failure = std::make_exception_ptr(lost(m_connection, "cannot end"));
  if (failure) std::rethrow_exception(failure);
}

std::exception_ptr PgPipeline::run_chunk(const std::vector<Queued>& statements, std::size_t first,
                                         std::size_t last) {
  PGconn* raw = m_connection.raw();
  for (std::size_t i = first; i < last; ++i) {
    const auto& statement = statements[i];
    m_connection.send_prepared(
        m_connection.prepare(statement.sql, static_cast<int>(statement.params.size())),
        statement.params);
  }
  if (PQpipelineSync(raw) != 1) throw lost(m_connection, "cannot sync");
  std::exception_ptr failure;
  std::size_t index = first;
  bool previous_null = false;
  for (;;) {
    PGresult* result = PQgetResult(raw);
    if (!result) {
      // A null ends each statement's results; two in a row mean the connection is gone.
      if (previous_null || PQstatus(raw) != CONNECTION_OK) throw lost(m_connection, "lost");
      previous_null = true;
      ++index;
      continue;
    }
    previous_null = false;
    auto status = PQresultStatus(result);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(result);
      return failure;
    }
    if (status == PGRES_PIPELINE_ABORTED || failure) {
      PQclear(result);
      continue;
    }
    try {
      m_connection.check(result, statements[std::min(index, last - 1)].sql);
      PQclear(result);
    } catch (const PgError&) {
      failure = std::current_exception();  // check() freed the result
    }
  }
}

}  // namespace tandem::storage::postgres
