// A fixed set of threads for blocking work (database reads for snapshots and catch-up),
// so that the I/O threads never block on the database.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tandem::server {

class WorkPool {
 public:
  explicit WorkPool(std::size_t threads);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Runs `task` on a pool thread. Exceptions from a task are logged, never propagated.
  // Tasks posted after stop() are dropped.
  void post(std::function<void()> task);
  // Finishes queued tasks, then joins the threads. Idempotent.
  void stop();

 private:
  void run();

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_tasks;
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
};

}  // namespace tandem::server
