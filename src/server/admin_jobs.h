// Long admin operations (hard resets) run as jobs: each on its own thread, so that neither
// an I/O thread nor the work pool that serves sessions waits for them, with progress that
// can be read while they run. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

namespace tandem::server {

struct JobStatus {
  enum class State { running, succeeded, failed };
  std::string id;
  std::string kind;   // "hard_reset"
  std::string table;  // what it works on
  State state = State::running;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  ErrorCode error_code = ErrorCode::ok;  // failed: why
  std::string error_message;
  std::int64_t started_at_ms = 0;
  std::int64_t finished_at_ms = 0;  // 0 while running
};

std::string_view job_state_name(JobStatus::State state) noexcept;

// Reports progress; throws Error(shutting_down) once the registry is stopping, which is how
// a job learns to give up early.
using JobProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;
using JobWork = std::function<Status(const JobProgress& progress)>;

class JobRegistry {
 public:
  JobRegistry();
  ~JobRegistry();
  JobRegistry(const JobRegistry&) = delete;
  JobRegistry& operator=(const JobRegistry&) = delete;

  // Starts `work` on a new thread, unless a job of the same kind and table is running: then
  // that one is returned with `started` false (a second reset of a table would only repeat
  // the first). Error(shutting_down) after stop().
  struct Started {
    JobStatus job;
    bool started = false;
  };
  Result<Started> start(std::string kind, std::string table, JobWork work);

  std::optional<JobStatus> find(std::string_view id) const;
  std::vector<JobStatus> list() const;  // the running jobs and the most recent finished ones

  // Asks running jobs to stop at their next progress report and waits for them. Idempotent.
  void stop();

 private:
  struct Entry {
    JobStatus status;
    std::thread thread;
  };
  void run(const std::shared_ptr<Entry>& entry, const JobWork& work);
  void forget_old_jobs();  // m_mutex held

  mutable std::mutex m_mutex;
  std::map<std::uint64_t, std::shared_ptr<Entry>> m_jobs;  // by sequence number
  std::uint64_t m_next = 1;
  std::string m_id_prefix;  // differs between server runs, so old ids never match new jobs
  bool m_stopping = false;
};

}  // namespace tandem::server
