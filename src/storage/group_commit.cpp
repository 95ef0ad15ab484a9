#include "storage/group_commit.h"

#include "common/logging.h"

namespace tandem::storage {
namespace {

PushResult failed(const Error& error) {
  PushResult result;
  result.error = error;
  return result;
}

}  // namespace

void run_group_commit(std::vector<PushJob>& jobs,
                      const std::function<std::vector<PushResult>(std::vector<PushJob>&)>& apply,
                      const std::function<bool(const Error&)>& fails_all) {
  std::vector<PushResult> results;
  try {
    results = apply(jobs);
  } catch (const Error& error) {
    if (fails_all && fails_all(error)) {
      // Nothing committed that we know of; clients retry, and exactly-once makes it safe.
      for (auto& job : jobs)
        job.done(failed(error));
      throw;
    }
    log::warn("group commit failed; retrying pushes one by one",
              {{"error", std::string(error.message())}});
    results.clear();
    for (auto& job : jobs) {
      std::vector<PushJob> single;
      single.push_back(std::move(job));
      try {
        results.push_back(std::move(apply(single).front()));
      } catch (const Error& single_error) {
        results.push_back(failed(single_error));
      }
      job = std::move(single.front());
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i)
    jobs[i].done(std::move(results[i]));
}

}  // namespace tandem::storage
