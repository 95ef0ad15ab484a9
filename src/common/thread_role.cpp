#include "common/thread_role.h"

#include <cstdio>
#include <cstdlib>

namespace tandem {

namespace {
thread_local ThreadRole t_role = ThreadRole::other;
}  // namespace

std::string_view thread_role_name(ThreadRole role) noexcept {
  switch (role) {
    case ThreadRole::other:
      return "other";
    case ThreadRole::io:
      return "io";
    case ThreadRole::work_pool:
      return "work_pool";
    case ThreadRole::writer:
      return "writer";
    case ThreadRole::publisher:
      return "publisher";
    case ThreadRole::capture:
      return "capture";
    case ThreadRole::admin_job:
      return "admin_job";
  }
  return "other";
}

void set_thread_role(ThreadRole role) noexcept {
  t_role = role;
}

ThreadRole thread_role() noexcept {
  return t_role;
}

void expect_may_block(std::string_view what) noexcept {
#ifndef NDEBUG
  if (t_role == ThreadRole::io) {
    std::fprintf(stderr, "tandem: %.*s on an I/O thread, which must never wait on a database\n",
                 static_cast<int>(what.size()), what.data());
    std::abort();
  }
#else
  (void)what;
#endif
}

}  // namespace tandem
