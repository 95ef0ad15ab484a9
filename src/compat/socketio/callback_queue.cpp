#include "compat/socketio/callback_queue.h"

namespace tandem::compat::socketio {

void CallbackQueue::post(std::function<void()> task) {
  enqueue(std::move(task));
  drain();
}

bool CallbackQueue::enqueue(std::function<void()> task) {
  std::lock_guard lock(m_mutex);
  m_tasks.push_back(std::move(task));
  return !m_running;
}

void CallbackQueue::drain() {
  std::unique_lock lock(m_mutex);
  if (m_running) return;
  m_running = true;
  while (!m_tasks.empty()) {
    auto next = std::move(m_tasks.front());
    m_tasks.pop_front();
    lock.unlock();
    next();
    next = nullptr;  // the task's captures are released outside the lock
    lock.lock();
  }
  m_running = false;
}

}  // namespace tandem::compat::socketio
