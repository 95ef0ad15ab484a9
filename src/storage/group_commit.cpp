#include "storage/group_commit.h"

#include "common/logging.h"

namespace tandem::storage {

PushResult failed_push(const Error& error) {
  PushResult result;
  result.error = error;
  return result;
}

std::optional<Error> answer_every_push(std::vector<PushJob>& jobs,
                                       const std::function<void(std::vector<PushJob>&)>& apply) {
  std::vector<std::function<void(PushResult)>> dones;
  std::vector<bool> answered(jobs.size(), false);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    dones.push_back(std::move(jobs[i].done));
    jobs[i].done = [&dones, &answered, i](PushResult result) {
      if (answered[i]) return;
      answered[i] = true;
      dones[i](std::move(result));
    };
  }
  std::optional<Error> thrown;
  try {
    apply(jobs);
  } catch (const Error& error) {
    thrown = error;
  } catch (const std::exception& error) {
    thrown = Error(ErrorCode::internal, error.what());
  }
  for (std::size_t i = 0; i < dones.size(); ++i) {
    if (answered[i]) continue;
    answered[i] = true;
    dones[i](
        failed_push(thrown ? *thrown : Error(ErrorCode::internal, "the push was left unanswered")));
  }
  // The wrappers refer to this frame: leave none behind.
  for (auto& job : jobs)
    job.done = {};
  return thrown;
}

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
        job.done(failed_push(error));
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
        results.push_back(failed_push(single_error));
      }
      job = std::move(single.front());
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i)
    jobs[i].done(std::move(results[i]));
}

}  // namespace tandem::storage
