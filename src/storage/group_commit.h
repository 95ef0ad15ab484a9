// Group commit for the datasources' writer threads: many pushes share one transaction (one
// fsync), and one push's failure does not fail the others.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "storage/datasource.h"

namespace tandem::storage {

struct PushJob {
  PushRequest request;
  std::function<void(PushResult)> done;
};

// Applies all `jobs` with one call of `apply` (one transaction, one result per job). When it
// throws, each job is retried alone, so that only the push at fault fails; an error for which
// `fails_all` is true (a lost connection: nothing more can succeed) fails every job and is
// rethrown instead. Every job's `done` is called exactly once.
void run_group_commit(std::vector<PushJob>& jobs,
                      const std::function<std::vector<PushResult>(std::vector<PushJob>&)>& apply,
                      const std::function<bool(const Error&)>& fails_all = {});

// A push result that applied nothing: `error` (the client retries an `unavailable` one).
PushResult failed_push(const Error& error);

// Calls `apply` with `jobs` and makes sure every job's done is called exactly once: a job
// that `apply` left unanswered (it threw before answering it) gets a failed_push with the
// error thrown (its own code when it is a tandem::Error, internal otherwise). `apply` must
// answer synchronously. Returns the error `apply` threw, if any.
std::optional<Error> answer_every_push(std::vector<PushJob>& jobs,
                                       const std::function<void(std::vector<PushJob>&)>& apply);

}  // namespace tandem::storage
