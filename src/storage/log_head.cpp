#include "storage/log_head.h"

#include "common/thread_role.h"

namespace tandem::storage {

void LogHead::publish(std::uint64_t seq) {
  {
    // Under the mutex, so that a waiter between its check and its wait cannot miss it.
    std::lock_guard lock(m_mutex);
    if (seq <= m_head.load(std::memory_order_relaxed)) return;
    m_head.store(seq, std::memory_order_release);
  }
  m_cv.notify_all();
}

std::uint64_t LogHead::wait_after(std::uint64_t after_seq,
                                  std::chrono::steady_clock::time_point until) {
  expect_may_block("waiting for the change log");
  std::unique_lock lock(m_mutex);
  m_cv.wait_until(lock, until, [&] { return current() > after_seq; });
  return current();
}

void LogHead::drop_unpublished(std::vector<sync::Change>& changes, std::uint64_t head) {
  while (!changes.empty() && changes.back().seq > head)
    changes.pop_back();
}

}  // namespace tandem::storage
