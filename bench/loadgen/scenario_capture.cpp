// Capture overhead: pgbench single-row INSERT TPS on a table Tandem tracks against an
// identical table it does not track, same cluster, same run, with `tandem serve` running
// (its capture competes for the same two cores, which is part of the cost). Rounds
// alternate untracked and tracked so that drift of the shared machine hits both.
#include <iostream>
#include <thread>

#include "loadgen/bench_cluster.h"
#include "loadgen/bench_server.h"
#include "loadgen/scenarios.h"

namespace tandem::bench {

int run_capture(const CommonOptions& common, const CaptureOptions& options, Report& report) {
  BenchCluster cluster;
  exec_sql(cluster,
           "CREATE TABLE cap_tracked (id bigint PRIMARY KEY, a int NOT NULL, b text NOT NULL);"
           "CREATE TABLE cap_plain (id bigint PRIMARY KEY, a int NOT NULL, b text NOT NULL);"
           "CREATE SEQUENCE cap_seq");
  BenchServer server(common, {"--database-url", cluster.url(), "--capture", common.capture,
                              "--track", "cap_tracked"});
  auto script = [](const std::string& table) {
    return "INSERT INTO " + table +
           " (id, a, b) VALUES (nextval('cap_seq'), 1, 'a short text payload');";
  };
  double plain_sum = 0;
  double tracked_sum = 0;
  double catch_up_max = 0;
  for (int round = 0; round < options.rounds; ++round) {
    plain_sum += pgbench(cluster, script("cap_plain"), options.clients, 2, options.seconds);
    const auto server_before = process_cpu_seconds(server.pid());
    const auto start = now_us();
    tracked_sum += pgbench(cluster, script("cap_tracked"), options.clients, 2, options.seconds);
    const auto pgbench_end = now_us();
    // Every tracked row must reach the change log; how long that takes after the load
    // stops is the capture's backlog.
    auto rows = std::stoll(query_value(cluster, "SELECT count(*) FROM cap_tracked"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    std::int64_t logged = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      logged = std::stoll(
          query_value(cluster, "SELECT count(*) FROM tandem.changes WHERE tbl = 'cap_tracked'"));
      if (logged >= rows) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const auto caught_up = now_us();
    const auto server_cpu = process_cpu_seconds(server.pid()) - server_before;
    catch_up_max = std::max(catch_up_max, static_cast<double>(caught_up - pgbench_end) / 1e6);
    report.add("capture_round",
               {{"round", round + 1},
                {"tracked_rows", rows},
                {"logged_rows", logged},
                {"capture_backlog_s", static_cast<double>(caught_up - pgbench_end) / 1e6},
                {"server_cpu_pct_during_tracked",
                 100 * server_cpu / (static_cast<double>(caught_up - start) / 1e6)}});
    if (logged < rows) {
      std::cerr << "capture: only " << logged << " of " << rows << " rows reached the log\n"
                << server.log_tail();
      return 1;
    }
  }
  const double plain = plain_sum / options.rounds;
  const double tracked = tracked_sum / options.rounds;
  report.add("capture_overhead", {{"capture", common.capture},
                                  {"clients", options.clients},
                                  {"seconds", options.seconds},
                                  {"rounds", options.rounds},
                                  {"untracked_tps", plain},
                                  {"tracked_tps", tracked},
                                  {"tracked_over_untracked", tracked / plain},
                                  {"max_capture_backlog_s", catch_up_max}});
  return 0;
}

}  // namespace tandem::bench
