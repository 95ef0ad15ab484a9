// The newest position of a datasource's change log that readers may see. Written once for
// every datasource: the thread that commits entries to the log (the writer, or PostgreSQL's
// logical capture thread) publishes the new head after the commit, so that no reader is
// told of entries it cannot see yet; anyone reads it without blocking; the publisher waits
// on it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "sync/change.h"

namespace tandem::storage {

class LogHead {
 public:
  // Any thread; never blocks.
  std::uint64_t current() const noexcept { return m_head.load(std::memory_order_acquire); }

  // The committing thread, after its commit. A head below the current one is ignored:
  // positions only grow.
  void publish(std::uint64_t seq);

  // Blocks until current() > after_seq or `until` passes; returns current(). Threads that
  // may block only (never an I/O thread).
  std::uint64_t wait_after(std::uint64_t after_seq, std::chrono::steady_clock::time_point until);

  // Drops the changes a reader found past `head`: they may belong to a transaction that is
  // not published yet, and come with a later head.
  static void drop_unpublished(std::vector<sync::Change>& changes, std::uint64_t head);

 private:
  std::atomic<std::uint64_t> m_head{0};
  std::mutex m_mutex;
  std::condition_variable m_cv;
};

}  // namespace tandem::storage
