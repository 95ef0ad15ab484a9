// Statements whose results are only checked, sent in libpq pipeline mode (PostgreSQL 14+
// client library): a chunk of statements costs one round trip instead of one each.
//
// Run it inside an open transaction block: a failing statement then aborts the transaction,
// and nothing after it takes effect; the caller rolls back.
#pragma once

#include <exception>
#include <string>
#include <vector>

#include "storage/postgres/pg_connection.h"

namespace tandem::storage::postgres {

class PgPipeline {
 public:
  explicit PgPipeline(PgConnection& connection) : m_connection(connection) {}

  void add(std::string sql, Params params);
  bool empty() const { return m_statements.empty(); }
  std::size_t size() const { return m_statements.size(); }

  // Runs the statements in order and empties the pipeline. Throws the PgError of the first
  // statement that failed (the later ones did not run).
  void run();

 private:
  struct Queued {
    std::string sql;
    Params params;
  };
  // Sends statements [first, last), then a sync; returns the first error's exception.
  std::exception_ptr run_chunk(const std::vector<Queued>& statements, std::size_t first,
                               std::size_t last);

  PgConnection& m_connection;
  std::vector<Queued> m_statements;
};

}  // namespace tandem::storage::postgres
