// The PostgreSQL side of the load generator: the tests' throwaway cluster
// (tests/support/postgres_cluster.h) with the settings benchmark figures are for, and the
// libpq queries and pgbench runs the scenarios make on a cluster.
#pragma once

#include <string>

#include "loadgen/child_process.h"
#include "support/postgres_cluster.h"

namespace tandem::bench {

// The settings of every benchmark cluster, printed with every run: durable commits (fsync
// and synchronous_commit on: figures are for durable commits), 300 connections, 256MB of
// shared buffers.
testing::PostgresCluster::Options cluster_options();

// A cluster with cluster_options(). Stopped at once on destruction (nothing after the
// figures needs a clean shutdown); when the run's time limit passes, the watchdog stops it
// and removes its files.
class BenchCluster : public testing::PostgresCluster {
 public:
  BenchCluster();
  ~BenchCluster();

 private:
  WatchdogCleanup m_on_timeout;
};

// Runs SQL (one or more statements) over libpq; throws with the server's message.
void exec_sql(const testing::PostgresCluster& cluster, const std::string& sql);
// The first column of the first row of `sql`.
std::string query_value(const testing::PostgresCluster& cluster, const std::string& sql);

// pgbench with `script` (written to a file) on `clients` connections for `seconds`; returns
// the TPS it reports (without initial connection time). Throws on failure.
double pgbench(const testing::PostgresCluster& cluster, const std::string& script, int clients,
               int threads, int seconds);

}  // namespace tandem::bench
