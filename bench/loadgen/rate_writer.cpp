#include "loadgen/rate_writer.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "loadgen/measure.h"

namespace tandem::bench {

RateWriter::RateWriter(const std::string& conninfo, std::int64_t first_id, std::string sql,
                       ColumnValue column)
    : m_conn(PQconnectdb(conninfo.c_str())),
      m_next_id(first_id),
      m_sql(std::move(sql)),
      m_column(std::move(column)) {
  if (PQstatus(m_conn) != CONNECTION_OK) {
    std::string error = PQerrorMessage(m_conn);
    PQfinish(m_conn);
    throw std::runtime_error("writer: " + error);
  }
}

RateWriter::~RateWriter() {
  PQfinish(m_conn);
}

void RateWriter::run(double rate, const std::atomic<bool>& stop) {
  const auto start = now_us();
  while (!stop.load()) {
    auto due = static_cast<std::int64_t>(static_cast<double>(now_us() - start) * rate / 1e6);
    auto batch = std::min<std::int64_t>(due - m_written, 10'000);
    if (batch > 0) insert_batch(batch);
    std::this_thread::sleep_for(std::chrono::microseconds(1000));
  }
}

void RateWriter::insert_batch(std::int64_t count) {
  // (not `m_ids = "{"`: GCC 12 -O3 reports a false -Wrestrict)
  m_ids.clear();
  m_ids.push_back('{');
  m_values.clear();
  m_values.push_back('{');
  for (std::int64_t i = 0; i < count; ++i) {
    if (i > 0) {
      m_ids += ',';
      m_values += ',';
    }
    m_ids += std::to_string(m_next_id + i);
    if (m_column) m_values += m_column(m_next_id + i);
  }
  m_ids += '}';
  m_values += '}';
  auto sent = std::to_string(now_us());
  const char* params[3] = {m_ids.c_str(), sent.c_str(), m_values.c_str()};
  const auto before = now_us();
  PGresult* result =
      PQexecParams(m_conn, m_sql.c_str(), m_column ? 3 : 2, nullptr, params, nullptr, nullptr, 0);
  const auto after = now_us();
  if (PQresultStatus(result) != PGRES_COMMAND_OK) {
    std::string error = PQresultErrorMessage(result);
    PQclear(result);
    throw std::runtime_error("writer insert failed: " + error);
  }
  PQclear(result);
  m_next_id += count;
  m_written += count;
  m_commit_us.push_back(after - before);
}

}  // namespace tandem::bench
