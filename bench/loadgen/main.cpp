// tandem_loadgen: the end-to-end benchmarks of docs/benchmarks.md.
//   tandem_loadgen fanout --subscribers 100,1000 --rate 1000 --seconds 10
//   tandem_loadgen ingest --backends postgres,sqlite --clients 8 --batch 100
//   tandem_loadgen capture --clients 4 --seconds 10
//   tandem_loadgen initial-sync --rows 1000000
//   tandem_loadgen connections --connections 50000
//   tandem_loadgen shared-lists --subscribers 10000 --owner-rate 1000 --shared-rate 100
// Each prints one "RESULT <scenario> <figure> key=value ..." line per figure and a final
// "SUMMARY {json}" line. Exit status: 0 valid run, 1 invalid (lost rows, errors), 2 set-up
// failure, 3 time limit reached (--time-limit, everything started is stopped).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "loadgen/bench_cluster.h"
#include "loadgen/child_process.h"
#include "loadgen/scenarios.h"

namespace tandem::bench {

std::string source_address(std::size_t index) {
  return "127.0.0." + std::to_string(2 + index % 8);
}

std::string hlc_hex(std::uint64_t raw) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(raw));
  return text;
}

std::uint64_t wall_millis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace tandem::bench

int main(int argc, char** argv) {
  using namespace tandem::bench;
  CLI::App app{"tandem_loadgen: end-to-end benchmarks of tandem serve"};
  app.require_subcommand(1);
  CommonOptions common;
  int time_limit = 900;
  app.add_option("--tandem", common.tandem_binary, "the tandem binary (release build)");
  app.add_option("--threads", common.loadgen_threads, "I/O threads of the load generator");
  app.add_option("--server-threads", common.server_threads, "tandem serve --threads");
  app.add_option("--capture", common.capture, "logical or trigger")
      ->check(CLI::IsMember({"logical", "trigger"}));
  app.add_option("--time-limit", time_limit, "stop everything and exit 3 after this many s");

  FanoutOptions fanout;
  auto* fanout_command = app.add_subcommand("fanout", "one writer, N subscribers");
  fanout_command->add_option("--subscribers", fanout.subscribers, "N, comma-separated")
      ->delimiter(',');
  fanout_command->add_option("--rate", fanout.rate, "rows committed per second");
  fanout_command->add_option("--seconds", fanout.seconds, "measured window");
  fanout_command->add_option("--warmup", fanout.warmup_seconds, "unmeasured start");
  fanout_command->add_option("--drain", fanout.drain_seconds,
                             "seconds every row may take to arrive after the writer stops");
  fanout_command->add_option("--round-trips", fanout.ceiling_round_trips,
                             "LISTEN/NOTIFY round trips for the ceiling");

  IngestOptions ingest;
  auto* ingest_command = app.add_subcommand("ingest", "M clients push as fast as acks allow");
  ingest_command->add_option("--backends", ingest.backends, "postgres,sqlite")->delimiter(',');
  ingest_command->add_option("--clients", ingest.clients, "M");
  ingest_command->add_option("--batch", ingest.batch, "mutations per push");
  ingest_command->add_option("--seconds", ingest.seconds, "measured window");
  ingest_command->add_option("--warmup", ingest.warmup_seconds, "unmeasured start");
  ingest_command->add_option("--ceiling-seconds", ingest.ceiling_seconds, "ceiling run length");

  CaptureOptions capture;
  auto* capture_command = app.add_subcommand("capture", "pgbench TPS tracked vs untracked");
  capture_command->add_option("--clients", capture.clients, "pgbench clients");
  capture_command->add_option("--seconds", capture.seconds, "each pgbench run");
  capture_command->add_option("--rounds", capture.rounds, "untracked/tracked pairs");

  InitialSyncOptions initial_sync;
  auto* sync_command = app.add_subcommand("initial-sync", "N rows into a new client replica");
  sync_command->add_option("--rows", initial_sync.rows, "rows in the table");
  sync_command->add_option("--timeout", initial_sync.timeout_seconds, "seconds");

  ConnectionsOptions connections;
  auto* connections_command = app.add_subcommand("connections", "idle sessions held at once");
  connections_command->add_option("--connections", connections.connections, "how many");
  connections_command->add_option("--in-flight", connections.in_flight, "handshakes at once");
  connections_command->add_option("--settle", connections.settle_seconds, "seconds");

  SharedListsOptions shared_lists;
  auto* shared_command =
      app.add_subcommand("shared-lists", "permission rules: owner vs shared lists, memberships");
  shared_command->add_option("--subscribers", shared_lists.subscribers,
                             "N users, one session each");
  shared_command->add_option("--lists", shared_lists.lists, "L shared lists");
  shared_command->add_option("--lists-per-user", shared_lists.lists_per_user, "K lists per user");
  shared_command->add_option("--items-per-list", shared_lists.items_per_list, "seeded items");
  shared_command->add_option("--owner-rate", shared_lists.owner_rate, "notes rows/s");
  shared_command->add_option("--shared-rate", shared_lists.shared_rate, "items rows/s");
  shared_command->add_option("--seconds", shared_lists.seconds, "measured window per phase");
  shared_command->add_option("--warmup", shared_lists.warmup_seconds, "unmeasured start");
  shared_command->add_option("--drain", shared_lists.drain_seconds,
                             "seconds every row may take to arrive after the writer stops");
  shared_command->add_option("--membership-changes", shared_lists.membership_changes,
                             "list_members rows added and deleted again");
  shared_command->add_option("--membership-gap-ms", shared_lists.membership_gap_ms,
                             "pause after each membership change");
  shared_command->add_option("--membership-timeout", shared_lists.membership_timeout_s,
                             "seconds a membership change's rows may take");
  shared_command->add_flag("--default-owner,!--no-default-owner", shared_lists.default_owner,
                           "also the owner column without rules file, on its own server");

  CLI11_PARSE(app, argc, argv);
  Watchdog::arm(std::chrono::seconds(time_limit));

  std::string scenario = app.get_subcommands().front()->get_name();
  Report report(scenario);
  std::cout << "tandem_loadgen " << scenario << ": server " << common.tandem_binary
            << ", server threads " << common.server_threads << ", load generator threads "
            << common.loadgen_threads << ", capture " << common.capture << "; PostgreSQL "
            << tandem::testing::PostgresCluster::settings_summary(cluster_options()) << std::endl;
  int status = 0;
  try {
    if (scenario == "fanout") status = run_fanout(common, fanout, report);
    if (scenario == "ingest") status = run_ingest(common, ingest, report);
    if (scenario == "capture") status = run_capture(common, capture, report);
    if (scenario == "initial-sync") status = run_initial_sync(common, initial_sync, report);
    if (scenario == "connections") status = run_connections(common, connections, report);
    if (scenario == "shared-lists") status = run_shared_lists(common, shared_lists, report);
  } catch (const std::exception& e) {
    std::cerr << "tandem_loadgen " << scenario << ": " << e.what() << std::endl;
    report.print_summary();
    return 2;
  }
  report.print_summary();
  return status;
}
