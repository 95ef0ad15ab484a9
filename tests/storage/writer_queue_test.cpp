// The writer loop shared by the datasources (WriterQueue::serve): every push and job it takes
// is answered exactly once, whatever fails. The datasource tests drive it against real
// databases; here its contract is pinned down with a connection that is only a counter.
#include "storage/writer_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace tandem::storage {
namespace {

using namespace std::chrono_literals;

struct Connection {
  int generation = 0;
};

class WriterLoop : public ::testing::Test {
 protected:
  void start(WriterQueue<Connection>::Writer writer) {
    writer.wait = [] { return 5ms; };
    m_thread = std::thread([this, writer] { queue.serve(writer); });
  }

  void TearDown() override {
    queue.close();
    if (m_thread.joinable()) m_thread.join();
  }

  std::future<PushResult> submit(std::uint64_t seq) {
    auto answered = std::make_shared<std::promise<PushResult>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    m_calls.push_back(calls);
    auto future = answered->get_future();
    PushRequest request;
    request.client_id = "c1";
    request.mutations.push_back(ClientMutation{seq, {}});
    queue.submit(std::move(request), [answered, calls](PushResult result) {
      if (calls->fetch_add(1) == 0) answered->set_value(std::move(result));
    });
    return future;
  }

  void expect_each_answered_once() {
    for (const auto& calls : m_calls)
      EXPECT_EQ(calls->load(), 1);
  }

  WriterQueue<Connection> queue{4};
  Connection connection;

 private:
  std::thread m_thread;
  std::vector<std::shared_ptr<std::atomic<int>>> m_calls;
};

TEST_F(WriterLoop, WhileNoConnectionCanBeMadeEveryPushAndJobIsAnsweredWithTheError) {
  std::atomic<bool> reachable{false};
  std::atomic<int> applied{0};
  WriterQueue<Connection>::Writer writer;
  writer.connect = [&]() -> Connection& {
    if (!reachable) throw Error(ErrorCode::unavailable, "connection refused");
    return connection;
  };
  writer.apply = [&](Connection&, std::vector<PushJob>& pushes) {
    for (auto& push : pushes) {
      ++applied;
      push.done(PushResult{push.request.mutations.front().client_seq, {}, {}});
    }
  };
  start(writer);

  std::vector<std::future<PushResult>> pending;
  for (std::uint64_t seq = 1; seq <= 10; ++seq)
    pending.push_back(submit(seq));
  try {
    queue.run([](Connection&) { return 1; });
    ADD_FAILURE() << "a job ran without a connection";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::unavailable);
  }
  for (auto& future : pending) {
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    auto result = future.get();
    ASSERT_TRUE(result.error);
    EXPECT_EQ(result.error->code(), ErrorCode::unavailable);
  }
  EXPECT_EQ(applied.load(), 0);

  reachable = true;
  auto later = submit(11);
  ASSERT_EQ(later.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(later.get().error);
  EXPECT_EQ(queue.run([](Connection& c) { return c.generation; }), 0);
  expect_each_answered_once();
}

TEST_F(WriterLoop, PushesAnApplyLeftUnansweredWhenItThrewAreAnsweredWithItsError) {
  WriterQueue<Connection>::Writer writer;
  writer.connect = [&]() -> Connection& { return connection; };
  writer.apply = [&](Connection&, std::vector<PushJob>& pushes) {
    // Answers the first, then fails with something that is not a tandem::Error.
    pushes.front().done(PushResult{1, {}, {}});
    throw std::runtime_error("bad_alloc-like surprise");
  };
  start(writer);
  // However the writer batches them, each push is answered once.
  std::vector<std::future<PushResult>> pending;
  for (std::uint64_t seq = 1; seq <= 4; ++seq)
    pending.push_back(submit(seq));
  for (auto& future : pending)
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  expect_each_answered_once();
}

TEST_F(WriterLoop, AJobThatReplacesTheConnectionIsSeenByTheNextStep) {
  std::unique_ptr<Connection> current = std::make_unique<Connection>();
  WriterQueue<Connection>::Writer writer;
  writer.connect = [&]() -> Connection& { return *current; };
  std::atomic<int> generation_applied{-1};
  writer.apply = [&](Connection& used, std::vector<PushJob>& pushes) {
    generation_applied = used.generation;
    for (auto& push : pushes)
      push.done(PushResult{});
  };
  start(writer);
  queue.run([&](Connection& old) {
    // A reload replaces the writer connection.
    current = std::make_unique<Connection>(Connection{old.generation + 1});
  });
  auto pushed = submit(1);
  ASSERT_EQ(pushed.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(generation_applied.load(), 1);
}

}  // namespace
}  // namespace tandem::storage
