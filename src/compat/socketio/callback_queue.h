// Runs tasks one at a time, in the order posted, on the threads that drain it: the first
// drainer runs every task until the queue is empty while other threads return at once. So a
// socket's callbacks are never concurrent, and a task posted from inside a task runs after it,
// not nested in it.
#pragma once

#include <deque>
#include <functional>
#include <mutex>

namespace tandem::compat::socketio {

class CallbackQueue {
 public:
  // Enqueues and drains on this thread. Thread-safe; tasks must not throw.
  void post(std::function<void()> task);
  // Enqueues only. Returns true when no thread is draining: the caller must then see to it that
  // drain() is called (e.g. on another thread, when this one may hold locks a task needs).
  bool enqueue(std::function<void()> task);
  // Runs the queued tasks until the queue is empty, unless another thread is at it.
  void drain();

 private:
  std::mutex m_mutex;
  std::deque<std::function<void()>> m_tasks;
  bool m_running = false;
};

}  // namespace tandem::compat::socketio
