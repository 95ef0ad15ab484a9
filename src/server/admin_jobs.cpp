#include "server/admin_jobs.h"

#include <fmt/format.h>

#include <chrono>

#include "common/logging.h"
#include "common/thread_role.h"

namespace tandem::server {
namespace {

constexpr std::size_t kFinishedJobsKept = 100;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view job_state_name(JobStatus::State state) noexcept {
  switch (state) {
    case JobStatus::State::running:
      return "running";
    case JobStatus::State::succeeded:
      return "succeeded";
    case JobStatus::State::failed:
      return "failed";
  }
  return "failed";
}

JobRegistry::JobRegistry() : m_id_prefix(fmt::format("{:x}", now_ms())) {}

JobRegistry::~JobRegistry() {
  stop();
}

Result<JobRegistry::Started> JobRegistry::start(std::string kind, std::string table, JobWork work) {
  std::lock_guard lock(m_mutex);
  if (m_stopping) return Error(ErrorCode::shutting_down, "the server is shutting down");
  for (const auto& [seq, entry] : m_jobs) {
    const auto& status = entry->status;
    if (status.state == JobStatus::State::running && status.kind == kind && status.table == table)
      return Started{status, false};
  }
  auto entry = std::make_shared<Entry>();
  auto seq = m_next++;
  entry->status.id = fmt::format("{}-{}", m_id_prefix, seq);
  entry->status.kind = std::move(kind);
  entry->status.table = std::move(table);
  entry->status.started_at_ms = now_ms();
  m_jobs.emplace(seq, entry);
  forget_old_jobs();
  entry->thread = std::thread([this, entry, work = std::move(work)] { run(entry, work); });
  return Started{entry->status, true};
}

void JobRegistry::run(const std::shared_ptr<Entry>& entry, const JobWork& work) {
  set_thread_role(ThreadRole::admin_job);
  auto progress = [this, &entry](std::uint64_t done, std::uint64_t total) {
    std::lock_guard lock(m_mutex);
    entry->status.done = done;
    entry->status.total = std::max(total, done);
    if (m_stopping) throw Error(ErrorCode::shutting_down, "the server is shutting down");
  };
  Status outcome = ok_status();
  try {
    outcome = work(progress);
  } catch (const Error& error) {
    outcome = error;
  } catch (const std::exception& error) {
    outcome = Error(ErrorCode::internal, error.what());
  }
  std::lock_guard lock(m_mutex);
  auto& status = entry->status;
  status.finished_at_ms = now_ms();
  if (outcome) {
    status.state = JobStatus::State::succeeded;
    log::info("admin job succeeded", {{"job", status.id},
                                      {"kind", status.kind},
                                      {"table", status.table},
                                      {"done", status.done}});
  } else {
    status.state = JobStatus::State::failed;
    status.error_code = outcome.error().code();
    status.error_message = std::string(outcome.error().message());
    log::warn("admin job failed", {{"job", status.id},
                                   {"kind", status.kind},
                                   {"table", status.table},
                                   {"error", status.error_message}});
  }
}

void JobRegistry::forget_old_jobs() {
  std::size_t finished = 0;
  for (const auto& [seq, entry] : m_jobs)
    finished += entry->status.state != JobStatus::State::running;
  for (auto it = m_jobs.begin(); it != m_jobs.end() && finished > kFinishedJobsKept;) {
    if (it->second->status.state == JobStatus::State::running) {
      ++it;
      continue;
    }
    // Its thread has nothing left to do but return; it no longer needs the lock.
    auto entry = it->second;
    it = m_jobs.erase(it);
    --finished;
    if (entry->thread.joinable()) entry->thread.detach();
  }
}

std::optional<JobStatus> JobRegistry::find(std::string_view id) const {
  std::lock_guard lock(m_mutex);
  for (const auto& [seq, entry] : m_jobs) {
    if (entry->status.id == id) return entry->status;
  }
  return std::nullopt;
}

std::vector<JobStatus> JobRegistry::list() const {
  std::lock_guard lock(m_mutex);
  std::vector<JobStatus> jobs;
  for (const auto& [seq, entry] : m_jobs)
    jobs.push_back(entry->status);
  return jobs;
}

void JobRegistry::stop() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    for (const auto& [seq, entry] : m_jobs)
      entries.push_back(entry);
  }
  for (auto& entry : entries) {
    if (entry->thread.joinable()) entry->thread.join();
  }
}

}  // namespace tandem::server
