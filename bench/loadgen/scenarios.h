// The end-to-end scenarios of issue 7 (docs/benchmarks.md). Each starts its own PostgreSQL
// cluster and `tandem serve`, measures its ceiling in the same run, adds its figures to the
// report and returns 0, or non-zero when the run was not valid (lost rows, errors).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/measure.h"

namespace tandem::bench {

struct CommonOptions {
  std::string tandem_binary = "build/release/src/cli/tandem";
  int loadgen_threads = 2;  // I/O threads of the load generator
  int server_threads = 2;   // tandem serve --threads
  std::string capture = "logical";
};

struct FanoutOptions {
  std::vector<int> subscribers = {100};
  double rate = 1000;   // rows committed per second by the writer
  double seconds = 10;  // measured window (after the warm-up)
  double warmup_seconds = 1;
  int ceiling_round_trips = 2000;
  // After the writer stops: how long every subscriber may take to receive every row. The
  // wait ends early when nothing arrives for 15 s (rows lost, not late).
  double drain_seconds = 30;
};

struct IngestOptions {
  std::vector<std::string> backends = {"postgres", "sqlite"};
  int clients = 8;
  int batch = 100;  // mutations per push
  double seconds = 10;
  double warmup_seconds = 1;
  int ceiling_seconds = 10;  // pgbench / SQLite batched INSERT
};

struct CaptureOptions {
  int clients = 4;
  int seconds = 10;
  int rounds = 1;  // untracked/tracked pairs, interleaved
};

struct InitialSyncOptions {
  std::int64_t rows = 1'000'000;
  int timeout_seconds = 600;
};

struct ConnectionsOptions {
  int connections = 1000;
  int in_flight = 256;  // handshakes under way at once
  int settle_seconds = 2;
};

// Permissions fan-out (issue 15): N users, each in K of L shared lists, on one server with a
// rules file; the owner case, the shared lists and membership changes in one run.
struct SharedListsOptions {
  int subscribers = 10'000;  // users u0..u<N-1>, one session each
  int lists = 100;
  int lists_per_user = 3;
  int items_per_list = 20;   // seeded: what a membership change brings at least
  double owner_rate = 1000;  // notes rows/s, each read by its owner
  double shared_rate = 100;  // items rows/s, each read by about N*K/L members
  double seconds = 10;       // measured window of each writer phase (after the warm-up)
  double warmup_seconds = 1;
  double drain_seconds = 30;        // as FanoutOptions::drain_seconds
  int membership_changes = 200;     // adds, each deleted again
  double membership_gap_ms = 20;    // pause after each add and each delete
  double membership_timeout_s = 5;  // per change, until all its rows arrived
  bool default_owner = true;        // first the owner-column default (no rules file), own server
};

int run_fanout(const CommonOptions& common, const FanoutOptions& options, Report& report);
int run_ingest(const CommonOptions& common, const IngestOptions& options, Report& report);
int run_capture(const CommonOptions& common, const CaptureOptions& options, Report& report);
int run_initial_sync(const CommonOptions& common, const InitialSyncOptions& options,
                     Report& report);
int run_connections(const CommonOptions& common, const ConnectionsOptions& options, Report& report);
int run_shared_lists(const CommonOptions& common, const SharedListsOptions& options,
                     Report& report);

// The source address of connection `index`: spread over 127.0.0.2-127.0.0.9 so that more
// connections than one range of ephemeral ports can be open at once.
std::string source_address(std::size_t index);

// A hex HLC for `millis` and a counter, as protocol v1 spells it.
std::string hlc_hex(std::uint64_t raw);
std::uint64_t wall_millis();

}  // namespace tandem::bench
