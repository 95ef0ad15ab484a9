#include "loadgen/bench_cluster.h"

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <stdexcept>
#include <thread>

namespace tandem::bench {
namespace {

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};

std::unique_ptr<PGconn, PgConnDeleter> connect(const testing::PostgresCluster& cluster) {
  std::unique_ptr<PGconn, PgConnDeleter> conn(PQconnectdb(cluster.url().c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error(std::string("cannot connect: ") + PQerrorMessage(conn.get()));
  return conn;
}

}  // namespace

testing::PostgresCluster::Options cluster_options() {
  testing::PostgresCluster::Options options;
  options.durable = true;
  options.max_connections = 300;
  options.shared_buffers = "256MB";
  return options;
}

BenchCluster::BenchCluster()
    : testing::PostgresCluster(cluster_options()), m_on_timeout([this] {
        stop_immediately();
        // Backends still exiting after an immediate stop may write a file while it is removed.
        std::error_code ignored;
        for (int attempt = 0; attempt < 20 && std::filesystem::exists(root(), ignored); ++attempt) {
          if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
          std::filesystem::remove_all(root(), ignored);
        }
      }) {}

BenchCluster::~BenchCluster() {
  stop_immediately();
}

void exec_sql(const testing::PostgresCluster& cluster, const std::string& sql) {
  auto conn = connect(cluster);
  PGresult* result = PQexec(conn.get(), sql.c_str());
  auto status = PQresultStatus(result);
  std::string error = PQresultErrorMessage(result);
  PQclear(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw std::runtime_error("SQL failed: " + error + " in: " + sql.substr(0, 200));
}

std::string query_value(const testing::PostgresCluster& cluster, const std::string& sql) {
  auto conn = connect(cluster);
  PGresult* result = PQexec(conn.get(), sql.c_str());
  if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) < 1) {
    std::string error = PQresultErrorMessage(result);
    PQclear(result);
    throw std::runtime_error("query failed: " + error + " in: " + sql);
  }
  std::string value = PQgetvalue(result, 0, 0);
  PQclear(result);
  return value;
}

double pgbench(const testing::PostgresCluster& cluster, const std::string& script, int clients,
               int threads, int seconds) {
  static std::atomic<int> counter{0};
  auto name = (cluster.root() / "logs" / ("pgbench-" + std::to_string(++counter))).string();
  {
    std::ofstream out(name + ".sql");
    out << script << "\n";
  }
  auto outcome = ChildProcess::run(
      {(testing::postgres_bin_dir() / "pgbench").string(), "-n", "-h", "127.0.0.1", "-p",
       std::to_string(cluster.port()), "-U", "postgres", "-c", std::to_string(clients), "-j",
       std::to_string(threads), "-T", std::to_string(seconds), "-f", name + ".sql", "postgres"},
      name + ".log", std::chrono::seconds(seconds + 60));
  std::smatch match;
  static const std::regex tps(R"(tps = ([0-9.]+) \(without initial connection time\))");
  if (outcome.status != 0 || !std::regex_search(outcome.output, match, tps))
    throw std::runtime_error("pgbench failed: " + outcome.output);
  return std::stod(match[1].str());
}

}  // namespace tandem::bench
