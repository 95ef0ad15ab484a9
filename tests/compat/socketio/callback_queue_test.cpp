#include "compat/socketio/callback_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace tandem::compat::socketio {
namespace {

TEST(CallbackQueue, TaskPostedFromATaskRunsAfterItNotInsideIt) {
  CallbackQueue queue;
  std::vector<std::string> trace;
  queue.post([&] {
    trace.push_back("outer begins");
    queue.post([&] { trace.push_back("inner"); });
    trace.push_back("outer ends");
  });
  EXPECT_EQ(trace, (std::vector<std::string>{"outer begins", "outer ends", "inner"}));
}

TEST(CallbackQueue, TasksFromManyThreadsNeverOverlapAndAllRun) {
  CallbackQueue queue;
  std::atomic<int> running{0};
  std::atomic<int> overlaps{0};
  int done = 0;  // only touched inside tasks: a data race here would be an overlap
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        queue.post([&] {
          if (running.fetch_add(1) != 0) ++overlaps;
          ++done;
          running.fetch_sub(1);
        });
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(done, 8000);
}

TEST(CallbackQueue, TasksOfOneThreadRunInPostingOrder) {
  CallbackQueue queue;
  std::vector<int> order;
  std::thread other([&] {
    for (int i = 0; i < 1000; ++i)
      queue.post([] {});
  });
  for (int i = 0; i < 1000; ++i)
    queue.post([&order, i] { order.push_back(i); });
  other.join();
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(order[i], i);
}

TEST(CallbackQueue, EnqueueLeavesTheTaskForALaterDrain) {
  CallbackQueue queue;
  int runs = 0;
  EXPECT_TRUE(queue.enqueue([&] { ++runs; }));
  EXPECT_TRUE(queue.enqueue([&] { ++runs; }));
  EXPECT_EQ(runs, 0);
  queue.drain();
  EXPECT_EQ(runs, 2);
  queue.post([&] { EXPECT_FALSE(queue.enqueue([&] { ++runs; })); });
  EXPECT_EQ(runs, 3);
}

}  // namespace
}  // namespace tandem::compat::socketio
