#include "common/thread_role.h"

#include <gtest/gtest.h>

#include <thread>

namespace tandem {
namespace {

TEST(ThreadRole, EachThreadStartsAsOtherAndKeepsTheRoleItSets) {
  std::thread([] {
    EXPECT_EQ(thread_role(), ThreadRole::other);
    set_thread_role(ThreadRole::writer);
    EXPECT_EQ(thread_role(), ThreadRole::writer);
    EXPECT_EQ(thread_role_name(thread_role()), "writer");
  }).join();
  EXPECT_EQ(thread_role(), ThreadRole::other) << "another thread's role is its own";
}

TEST(ThreadRole, ThreadsThatMayBlockPassTheCheck) {
  for (auto role : {ThreadRole::other, ThreadRole::work_pool, ThreadRole::writer,
                    ThreadRole::publisher, ThreadRole::admin_job}) {
    std::thread([role] {
      set_thread_role(role);
      expect_may_block("a test read");
    }).join();
  }
}

#ifndef NDEBUG
TEST(ThreadRoleDeathTest, AnIoThreadThatWouldWaitOnADatabaseAbortsNamingTheCall) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        set_thread_role(ThreadRole::io);
        expect_may_block("a snapshot read");
      },
      "a snapshot read on an I/O thread");
}
#endif

}  // namespace
}  // namespace tandem
