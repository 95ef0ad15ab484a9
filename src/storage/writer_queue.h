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
#include <thread>
#include <vector>

#include "common/logging.h"
#include "common/thread_role.h"
#include "storage/group_commit.h"

namespace tandem::storage {

template <typename Connection>
class WriterQueue {
 public:
  using Job = std::function<void(Connection&)>;
  // Called instead of the job when the writer cannot run it (no connection to the database).
  using JobFailure = std::function<void(const Error&)>;

  struct QueuedJob {
    Job run;
    JobFailure fail;  // may be empty: the job is then dropped (logged) when it cannot run
  };

  struct Batch {
    std::vector<QueuedJob> jobs;  // all queued jobs, in order
    std::vector<PushJob> pushes;  // at most max_group_commit pushes, in order
    bool stop = false;            // closing and nothing left: the writer thread ends
  };

  explicit WriterQueue(std::size_t max_group_commit) : m_max_group_commit(max_group_commit) {}

  // What a datasource's writer thread does inside the shared loop (serve()).
  struct Writer {
    // How long to wait for work before `after` runs again.
    std::function<std::chrono::milliseconds()> wait;
    // The writer connection, reconnected first when it is broken. Throws (an Error with code
    // unavailable) when the database cannot be reached.
    std::function<Connection&()> connect;
    // Applies a batch of pushes (never empty), answering each (see run_group_commit).
    std::function<void(Connection&, std::vector<PushJob>&)> apply;
    // After each batch, also an empty one (capture polling, pruning); `pushed`: the batch
    // held pushes. May be empty.
    std::function<void(Connection&, bool pushed)> after;
  };

  // Throws Error(shutting_down) once closed.
  void post(Job job, JobFailure fail = {}) {
    {
      std::lock_guard lock(m_mutex);
      if (m_closed) throw Error(ErrorCode::shutting_down, "the datasource is closing");
      m_jobs.push_back(QueuedJob{std::move(job), std::move(fail)});
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

  // Runs `job` on the writer thread and waits for its result (or exception). Throws the
  // writer's Error (unavailable) when it could not connect to run it.
  template <typename Fn>
  auto run(Fn job) -> decltype(job(std::declval<Connection&>())) {
    using R = decltype(job(std::declval<Connection&>()));
    expect_may_block("waiting for a datasource's writer");
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    post(
        [promise, job = std::move(job)](Connection& connection) mutable {
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
        },
        [promise](const Error& error) { promise->set_exception(std::make_exception_ptr(error)); });
    return future.get();
  }

  // The writer thread's loop, shared by the datasources; returns once closed and drained.
  // Every job and push it takes is answered exactly once. When no connection can be had, the
  // batch's pushes are answered with the error (unavailable: the client retries, and
  // exactly-once makes the retry safe) and its jobs' failure handlers get it; the next batch
  // tries to connect again. A job that throws is logged and does not stop the batch.
  void serve(const Writer& writer) {
    set_thread_role(ThreadRole::writer);
    for (;;) {
      auto batch = next(writer.wait());
      if (batch.stop) return;
      try {
        writer.connect();
      } catch (const std::exception& thrown) {
        auto error = as_error(thrown);
        log::error(
            "datasource writer cannot reach the database; its work is answered with the "
            "error",
            {{"error", std::string(error.message())},
             {"pushes", batch.pushes.size()},
             {"jobs", batch.jobs.size()}});
        fail(batch, error);
        std::this_thread::sleep_for(kPauseAfterFailure);
        continue;
      }
      // Each step asks for the connection again: a job may replace it (a reload), or break it.
      for (auto& job : batch.jobs) {
        Connection* connection = nullptr;
        try {
          connection = &writer.connect();
        } catch (const std::exception& thrown) {
          fail_job(job, as_error(thrown));
          continue;
        }
        try {
          job.run(*connection);
        } catch (const std::exception& error) {
          log::error("datasource job failed", {{"error", error.what()}});
        }
      }
      bool pushed = !batch.pushes.empty();
      if (pushed) {
        auto thrown = answer_every_push(batch.pushes, [&](std::vector<PushJob>& pushes) {
          writer.apply(writer.connect(), pushes);
        });
        if (thrown) {
          log::error("datasource writer failed to apply pushes",
                     {{"error", std::string(thrown->message())}});
        }
      }
      if (writer.after) {
        try {
          writer.after(writer.connect(), pushed);
        } catch (const std::exception& error) {
          log::error("datasource writer", {{"error", error.what()}});
          std::this_thread::sleep_for(kPauseAfterFailure);
        }
      }
    }
  }

 private:
  // Keeps a writer whose database is down from spinning.
  static constexpr std::chrono::milliseconds kPauseAfterFailure{200};

  static Error as_error(const std::exception& thrown) {
    if (const auto* error = dynamic_cast<const Error*>(&thrown)) return *error;
    return Error(ErrorCode::unavailable, thrown.what());
  }

  static void fail_job(QueuedJob& job, const Error& error) {
    if (job.fail) {
      job.fail(error);
    } else {
      log::warn("datasource job dropped: no connection", {{"error", std::string(error.message())}});
    }
  }

  static void fail(Batch& batch, const Error& error) {
    for (auto& job : batch.jobs)
      fail_job(job, error);
    for (auto& push : batch.pushes)
      push.done(failed_push(error));
  }

  std::size_t m_max_group_commit;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<PushJob> m_pushes;
  std::deque<QueuedJob> m_jobs;
  bool m_closed = false;
};

}  // namespace tandem::storage
