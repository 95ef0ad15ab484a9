// Initial sync: a table of `rows` rows and 5 columns in PostgreSQL, synced into an empty
// client replica (the real client SDK, tandem/tandem.h, writing its SQLite file) through
// `tandem serve`. Measures the wall time from start of sync to "synced", and the server's
// resident memory (sampled, and its kernel-reported peak). Ceiling: COPY ... TO STDOUT of
// the same table on the same cluster.
#include <libpq-fe.h>
#include <tandem/tandem.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "loadgen/bench_cluster.h"
#include "loadgen/bench_server.h"
#include "loadgen/scenarios.h"

namespace tandem::bench {
namespace {

struct CopyResult {
  double seconds = 0;
  std::int64_t bytes = 0;
  std::int64_t lines = 0;
};

CopyResult copy_out(const BenchCluster& cluster) {
  PGconn* conn = PQconnectdb(cluster.url().c_str());
  if (PQstatus(conn) != CONNECTION_OK) throw std::runtime_error("COPY: cannot connect");
  CopyResult result;
  const auto start = now_us();
  PGresult* begin = PQexec(conn, "COPY sync_rows TO STDOUT");
  if (PQresultStatus(begin) != PGRES_COPY_OUT) {
    PQclear(begin);
    PQfinish(conn);
    throw std::runtime_error("COPY did not start");
  }
  PQclear(begin);
  char* buffer = nullptr;
  int length = 0;
  while ((length = PQgetCopyData(conn, &buffer, 0)) > 0) {
    result.bytes += length;
    ++result.lines;
    PQfreemem(buffer);
  }
  PQclear(PQgetResult(conn));
  result.seconds = static_cast<double>(now_us() - start) / 1e6;
  PQfinish(conn);
  return result;
}

int count_callback(void* context, const char* row_json) {
  auto row = nlohmann::json::parse(row_json);
  *static_cast<std::int64_t*>(context) = row.begin()->get<std::int64_t>();
  return 0;
}

}  // namespace

int run_initial_sync(const CommonOptions& common, const InitialSyncOptions& options,
                     Report& report) {
  BenchCluster cluster;
  const auto load_start = now_us();
  exec_sql(
      cluster,
      "CREATE TABLE sync_rows (id bigint PRIMARY KEY, quantity int NOT NULL, name text NOT NULL,"
      " price double precision NOT NULL, updated_at timestamptz NOT NULL);"
      "INSERT INTO sync_rows SELECT g, g % 1000, 'item ' || md5(g::text), g * 0.25,"
      " timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'"
      " FROM generate_series(1, " +
          std::to_string(options.rows) + ") g");
  exec_sql(cluster, "VACUUM ANALYZE sync_rows");
  std::cout << "initial-sync: loaded " << options.rows << " rows in "
            << static_cast<double>(now_us() - load_start) / 1e6 << " s" << std::endl;
  copy_out(cluster);  // warms the cache as the sync below will find it
  auto copy = copy_out(cluster);
  report.add("ceiling_copy_to_stdout",
             {{"rows", copy.lines},
              {"seconds", copy.seconds},
              {"rows_per_s", static_cast<double>(copy.lines) / copy.seconds},
              {"mib", static_cast<double>(copy.bytes) / (1 << 20)}});

  BenchServer server(common, {"--database-url", cluster.url(), "--capture", common.capture,
                              "--track", "sync_rows"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto baseline = process_memory(server.pid());
  std::atomic<bool> sampling{true};
  std::atomic<std::int64_t> sampled_peak{baseline.rss_kib};
  std::thread sampler([&] {
    while (sampling.load()) {
      auto rss = process_memory(server.pid()).rss_kib;
      if (rss > sampled_peak.load()) sampled_peak = rss;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  std::random_device random;
  auto replica_dir =
      std::filesystem::temp_directory_path() / ("tandem-bench-replica-" + std::to_string(random()));
  std::filesystem::create_directories(replica_dir);
  tandem_db* db = nullptr;
  if (tandem_open((replica_dir / "replica.db").c_str(), &db) != TANDEM_OK)
    throw std::runtime_error(std::string("tandem_open: ") + tandem_last_error());
  const auto token = testing::ServerProcess::token("reader");
  const auto url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/sync";
  const auto self_before = self_cpu_seconds();
  const auto server_before = process_cpu_seconds(server.pid());
  const auto start = now_us();
  int status = tandem_start_sync(db, url.c_str(), token.c_str(), nullptr);
  if (status == TANDEM_OK) status = tandem_wait_synced(db, 0, options.timeout_seconds * 1000);
  const auto end = now_us();
  const auto self_cpu = self_cpu_seconds() - self_before;
  const auto server_cpu = process_cpu_seconds(server.pid()) - server_before;
  sampling = false;
  sampler.join();
  const auto final_memory = process_memory(server.pid());
  tandem_stop_sync(db);
  std::int64_t replica_rows = -1;
  tandem_query(db, "SELECT count(*) FROM sync_rows", nullptr, count_callback, &replica_rows);
  tandem_close(db);
  std::error_code ignored;
  std::filesystem::remove_all(replica_dir, ignored);

  const double seconds = static_cast<double>(end - start) / 1e6;
  report.add("initial_sync", {{"rows", options.rows},
                              {"replica_rows", replica_rows},
                              {"seconds", seconds},
                              {"rows_per_s", static_cast<double>(options.rows) / seconds},
                              {"times_copy", seconds / copy.seconds},
                              {"server_rss_before_kib", baseline.rss_kib},
                              {"server_rss_peak_sampled_kib", sampled_peak.load()},
                              {"server_vmhwm_kib", final_memory.peak_kib},
                              {"client_process_cpu_pct", 100 * self_cpu / seconds},
                              {"server_cpu_pct", 100 * server_cpu / seconds}});
  if (status != TANDEM_OK || replica_rows != options.rows) {
    std::cerr << "initial-sync: status " << tandem_code_name(status) << ", " << replica_rows
              << " rows in the replica\n"
              << server.log_tail();
    return 1;
  }
  return 0;
}

}  // namespace tandem::bench
