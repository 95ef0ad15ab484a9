// The fan-out scenarios' writer: one libpq connection committing rows at a fixed rate. Every
// row carries sent_us, the writer's now_us() taken just before its INSERT was sent, so a
// subscriber of the same process computes write-to-receive latency with the same clock.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tandem::bench {

class RateWriter {
 public:
  // A column value for the row `id`, as an element of a PostgreSQL array literal (no quoting
  // is done: numbers and plain words only). Called on the writer's thread.
  using ColumnValue = std::function<std::string(std::int64_t id)>;

  // `sql` inserts one batch of rows: $1 their ids (bigint[]), $2 their sent_us (bigint) and,
  // when `column` is given, $3 the array of column(id) for those ids (in the same order).
  RateWriter(const std::string& conninfo, std::int64_t first_id, std::string sql,
             ColumnValue column = {});
  ~RateWriter();
  RateWriter(const RateWriter&) = delete;
  RateWriter& operator=(const RateWriter&) = delete;

  // Every millisecond, inserts the rows now due in one statement (one transaction), so the
  // rate holds even when a commit takes longer than the interval. Runs until `stop`; throws
  // when an INSERT fails.
  void run(double rate, const std::atomic<bool>& stop);

  std::int64_t written() const { return m_written; }
  std::int64_t next_id() const { return m_next_id; }
  std::int64_t commits() const { return static_cast<std::int64_t>(m_commit_us.size()); }
  std::vector<std::int64_t>& commit_latencies() { return m_commit_us; }

 private:
  void insert_batch(std::int64_t count);

  PGconn* m_conn;
  std::int64_t m_next_id;
  std::string m_sql;
  ColumnValue m_column;
  std::int64_t m_written = 0;
  std::vector<std::int64_t> m_commit_us;
  std::string m_ids;  // reused array literals
  std::string m_values;
};

}  // namespace tandem::bench
