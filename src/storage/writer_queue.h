// The queue in front of a datasource's writer thread: jobs (tracking, hard-reset chunks,
// SQL) and pushes (group-committed). Shared by every datasource whose writes go through
// one connection owned by one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/group_commit.h"

namespace tandem::storage {

template <typename Connection>
class WriterQueue {
 public:
  using Job = std::function<void(Connection&)>;

  struct Batch {
    std::vector<Job> jobs;        // all queued jobs, in order
    std::vector<PushJob> pushes;  // at most max_group_commit pushes, in order
    bool stop = false;            // closing and nothing left: the writer thread ends
  };

  explicit WriterQueue(std::size_t max_group_commit) : m_max_group_commit(max_group_commit) {}

  // Throws Error(shutting_down) once closed.
  void post(Job job) {
    {
      std::lock_guard lock(m_mutex);
      if (m_closed) throw Error(ErrorCode::shutting_down, "the datasource is closing");
      m_jobs.push_back(std::move(job));
    }
    m_cv.notify_one();
  }

  // Once closed, `done` is called at once with a shutting_down error.
  void submit(PushRequest request, std::function<void(PushResult)> done) {
    {
      std::lock_guard lock(m_mutex);
      if (!m_closed) {
        m_pushes.push_back(PushJob{std::move(request), std::move(done)});
        m_cv.notify_one();
        return;
      }
    }
    PushResult refused;
    refused.error = Error(ErrorCode::shutting_down, "the server is shutting down");
    done(std::move(refused));
  }

  // Waits up to `wait` for work; what is queued when closing is still handed out.
  Batch next(std::chrono::milliseconds wait) {
    Batch batch;
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, wait, [&] { return m_closed || !m_jobs.empty() || !m_pushes.empty(); });
    while (!m_jobs.empty()) {
      batch.jobs.push_back(std::move(m_jobs.front()));
      m_jobs.pop_front();
    }
    while (!m_pushes.empty() && batch.pushes.size() < m_max_group_commit) {
      batch.pushes.push_back(std::move(m_pushes.front()));
      m_pushes.pop_front();
    }
    batch.stop = m_closed && batch.jobs.empty() && batch.pushes.empty();
    return batch;
  }

  void close() {
    {
      std::lock_guard lock(m_mutex);
      m_closed = true;
    }
    m_cv.notify_all();
  }

  // Runs `job` on the writer thread and waits for its result (or exception).
  template <typename Fn>
  auto run(Fn job) -> decltype(job(std::declval<Connection&>())) {
    using R = decltype(job(std::declval<Connection&>()));
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    post([promise, job = std::move(job)](Connection& connection) mutable {
      try {
        if constexpr (std::is_void_v<R>) {
          job(connection);
          promise->set_value();
        } else {
          promise->set_value(job(connection));
        }
      } catch (...) {
        promise->set_exception(std::current_exception());
      }
    });
    return future.get();
  }

 private:
  std::size_t m_max_group_commit;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<PushJob> m_pushes;
  std::deque<Job> m_jobs;
  bool m_closed = false;
};

}  // namespace tandem::storage
