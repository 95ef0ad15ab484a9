// Measuring helpers of the load generator: a monotonic microsecond clock shared by every
// thread of the process (rows carry it through PostgreSQL and back), percentiles of
// latency samples, CPU use of this process and of another one, and the results printer
// (one line per figure, then a JSON summary).
#pragma once

#include <sys/types.h>

#include <cstdint>
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
