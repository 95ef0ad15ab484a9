// A throwaway PostgreSQL 15 cluster for one benchmark run: initdb in a temporary directory,
// started on a free loopback port, stopped and removed on destruction. Unlike the tests'
// cluster it keeps fsync and synchronous_commit on: benchmark figures are for durable
// commits (the settings are printed with every run).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::bench {

class PgCluster {
 public:
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  std::uint16_t port() const { return m_port; }
  std::string url() const;       // postgres://postgres@127.0.0.1:PORT/postgres
  std::string conninfo() const;  // the same as libpq keywords
  const std::string& root() const { return m_root; }
  static std::string settings_summary();  // the non-default settings, for the report
  static std::string bin_dir();

  // Runs SQL (one or more statements) over libpq; throws with the server's message.
  void exec(const std::string& sql) const;
  // The first column of the first row of `sql`.
  std::string query_value(const std::string& sql) const;

  // pgbench with `script` (written to a file) on `clients` connections for `seconds`;
  // returns the TPS it reports (without initial connection time). Throws on failure.
  double pgbench(const std::string& script, int clients, int threads, int seconds) const;

 private:
  void stop();
  void remove_root() const;

  std::string m_root;
  std::uint16_t m_port = 0;
  int m_cleanup = 0;
};

}  // namespace tandem::bench
