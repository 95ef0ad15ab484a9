// Measuring helpers of the load generator: a monotonic microsecond clock shared by every
// thread of the process (rows carry it through PostgreSQL and back), percentiles of
// latency samples, CPU use of this process and of another one, and the results printer
// (one line per figure, then a JSON summary).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tandem::bench {

// CLOCK_MONOTONIC in microseconds: comparable between threads of one process.
std::int64_t now_us();

struct Percentiles {
  std::size_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};
// Sorts `samples_us` (microseconds) and takes nearest-rank percentiles.
Percentiles percentiles(std::vector<std::int64_t>& samples_us);

// CPU seconds (user + system) used so far.
double self_cpu_seconds();
// Of another process (from /proc/<pid>/stat); 0 when it is gone.
double process_cpu_seconds(pid_t pid);
// Resident set size and its peak (VmRSS, VmHWM from /proc/<pid>/status), in KiB.
struct Memory {
  std::int64_t rss_kib = 0;
  std::int64_t peak_kib = 0;
};
Memory process_memory(pid_t pid);

// What the scenario's counters and the CPU clocks saw over a measured window.
struct Window {
  double seconds = 0;
  std::uint64_t events = 0;    // growth of the `events` counter
  std::uint64_t frames = 0;    // growth of the `frames` counter
  double loadgen_cpu_pct = 0;  // this process, % of one core
  double server_cpu_pct = 0;
  double server_cpu_seconds = 0;
  Memory server_memory;  // at the end
};
// Sleeps until `from_us` (now_us() time), samples the counters and CPU clocks, sleeps until
// `to_us` and samples them again.
Window measure_window(pid_t server, std::int64_t from_us, std::int64_t to_us,
                      const std::function<std::uint64_t()>& events,
                      const std::function<std::uint64_t()>& frames);

// The 1-minute load average, recorded with each figure (the machine is shared).
double load_average();

// Collects figures: each is printed at once as one line and kept for the JSON summary.
class Report {
 public:
  explicit Report(std::string scenario);
  // `figure` names what was measured; `fields` holds its numbers and context.
  void add(const std::string& figure, nlohmann::json fields);
  // Prints {"scenario":..., "figures":[...]} on one line prefixed with "SUMMARY ".
  void print_summary() const;

 private:
  std::string m_scenario;
  mutable std::mutex m_mutex;
  nlohmann::json m_figures = nlohmann::json::array();
};

}  // namespace tandem::bench
