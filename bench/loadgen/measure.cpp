#include "loadgen/measure.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace tandem::bench {

std::int64_t now_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

Percentiles percentiles(std::vector<std::int64_t>& samples_us) {
  Percentiles result;
  result.count = samples_us.size();
  if (samples_us.empty()) return result;
  std::sort(samples_us.begin(), samples_us.end());
  auto rank = [&](double q) {
    auto index = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples_us.size())));
    index = std::clamp<std::size_t>(index, 1, samples_us.size());
    return static_cast<double>(samples_us[index - 1]) / 1000.0;
  };
  result.p50_ms = rank(0.50);
  result.p99_ms = rank(0.99);
  result.max_ms = static_cast<double>(samples_us.back()) / 1000.0;
  return result;
}

double self_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: fields are counted after its ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  // Fields 3.. follow; utime is field 14, stime field 15 (man 5 proc).
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::stod(field);
    if (index == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Memory process_memory(pid_t pid) {
  Memory memory;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    std::int64_t value = 0;
    fields >> key >> value;
    if (key == "VmRSS:") memory.rss_kib = value;
    if (key == "VmHWM:") memory.peak_kib = value;
  }
  return memory;
}

namespace {

void sleep_until_us(std::int64_t when_us) {
  const auto wait = when_us - now_us();
  if (wait > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait));
}

}  // namespace

Window measure_window(pid_t server, std::int64_t from_us, std::int64_t to_us,
                      const std::function<std::uint64_t()>& events,
                      const std::function<std::uint64_t()>& frames) {
  sleep_until_us(from_us);
  const auto events_before = events();
  const auto frames_before = frames();
  const auto self_before = self_cpu_seconds();
  const auto server_before = process_cpu_seconds(server);
  const auto measured_from = now_us();
  sleep_until_us(to_us);
  Window window;
  window.seconds = static_cast<double>(now_us() - measured_from) / 1e6;
  window.events = events() - events_before;
  window.frames = frames() - frames_before;
  window.loadgen_cpu_pct = 100 * (self_cpu_seconds() - self_before) / window.seconds;
  window.server_cpu_seconds = process_cpu_seconds(server) - server_before;
  window.server_cpu_pct = 100 * window.server_cpu_seconds / window.seconds;
  window.server_memory = process_memory(server);
  return window;
}

double load_average() {
  double loads[3] = {0, 0, 0};
  if (::getloadavg(loads, 3) < 1) return -1;
  return loads[0];
}

Report::Report(std::string scenario) : m_scenario(std::move(scenario)) {}

void Report::add(const std::string& figure, nlohmann::json fields) {
  fields["load1"] = std::round(load_average() * 100) / 100;
  std::lock_guard lock(m_mutex);
  std::ostringstream line;
  line << "RESULT " << m_scenario << " " << figure;
  for (const auto& [key, value] : fields.items())
    line << " " << key << "=" << value.dump();
  std::cout << line.str() << std::endl;
  fields["figure"] = figure;
  m_figures.push_back(std::move(fields));
}

void Report::print_summary() const {
  std::lock_guard lock(m_mutex);
  nlohmann::json summary = {{"scenario", m_scenario}, {"figures", m_figures}};
  std::cout << "SUMMARY " << summary.dump() << std::endl;
}

}  // namespace tandem::bench
