// Group commit for the datasources' writer threads: many pushes share one transaction (one
// fsync), and one push's failure does not fail the others.
#pragma once

#include <functional>
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

}  // namespace tandem::storage
