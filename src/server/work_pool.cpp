#include "server/work_pool.h"

#include "common/logging.h"
#include "common/thread_role.h"

namespace tandem::server {

WorkPool::WorkPool(std::size_t threads) {
  for (std::size_t i = 0; i < threads; ++i)
    m_threads.emplace_back([this] { run(); });
}

WorkPool::~WorkPool() {
  stop();
}

void WorkPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    m_tasks.push_back(std::move(task));
  }
  m_cv.notify_one();
}

void WorkPool::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_cv.notify_all();
  for (auto& thread : m_threads) {
    if (thread.joinable()) thread.join();
  }
}

void WorkPool::run() {
  set_thread_role(ThreadRole::work_pool);
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [&] { return m_stopping || !m_tasks.empty(); });
      if (m_tasks.empty()) return;
      task = std::move(m_tasks.front());
      m_tasks.pop_front();
    }
    try {
      task();
    } catch (const std::exception& error) {
      log::error("background task failed", {{"error", error.what()}});
    }
  }
}

}  // namespace tandem::server
