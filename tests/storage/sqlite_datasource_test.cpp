// What only SQLite's datasource does, or what its policy pieces do that the conformance
// suite (datasource_conformance_test.cpp, every backend) does not reach: the byte bound on
// echoed rows, a hard reset stopped midway, the reader connections' thread checks.
#include "storage/sqlite/sqlite_datasource.h"

#include <gtest/gtest.h>

#include <future>

#include "common/thread_role.h"
#include "support/temp_dir.h"

namespace tandem::storage {
namespace {

using sqlite::SqliteDatasource;
using sqlite::SqliteOptions;

using sync::Op;

class SqliteDatasourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path = dir.file("tandem.db");
    open();
    source->execute(
        "CREATE TABLE products(id TEXT PRIMARY KEY, name TEXT, price REAL, photo BLOB);");
    ASSERT_TRUE(source->track("products").ok());
  }

  void open() {
    SqliteOptions options;
    options.path = path;
    options.poll_interval = std::chrono::milliseconds(5);
    source = std::make_unique<SqliteDatasource>(options, clock);
  }

  PushResult push(const std::string& client, std::vector<ClientMutation> mutations) {
    PushRequest request;
    request.client_id = client;
    request.user_id = "alice";
    request.mutations = std::move(mutations);
    request.authorize = [](const TableSchema&, const Row*, sync::Mutation&) { return ok_status(); };
    std::promise<PushResult> promise;
    source->submit(std::move(request),
                   [&](PushResult result) { promise.set_value(std::move(result)); });
    return promise.get_future().get();
  }

  ClientMutation mutation(std::uint64_t seq, Op op, std::string id, Row values) {
    return ClientMutation{seq, sync::Mutation{"products",
                                              op,
                                              {{"id", std::move(id)}},
                                              std::move(values),
                                              sync::Stamp{clock.now(), "c1"}}};
  }

  std::vector<sync::Change> changes_after(std::uint64_t seq) {
    source->wait_for_changes(seq, std::chrono::seconds(2));
    return source->read_changes(seq, 1000);
  }

  testing::TempDir dir;
  std::string path;
  sync::HlcClock clock;
  std::unique_ptr<SqliteDatasource> source;
};

TEST_F(SqliteDatasourceTest, StaleWritesToALargeRowEchoItOnceNotOncePerWrite) {
  auto stale = clock.now();
  std::string large(1 << 20, 'L');
  ASSERT_TRUE(push("c1", {mutation(1, Op::insert, "big", {{"name", large}})}).exceptions.empty());
  std::vector<ClientMutation> updates;
  for (std::uint64_t seq = 2; seq <= 101; ++seq) {
    auto update = mutation(seq, Op::update, "big", {{"name", "old"}});
    update.mutation.stamp.hlc = stale;  // older than the insert: superseded
    updates.push_back(std::move(update));
  }
  auto result = push("c1", std::move(updates));
  ASSERT_EQ(result.exceptions.size(), 100u);
  std::size_t echoed = 0;
  for (const auto& exception : result.exceptions)
    echoed += exception.current_row ? 1 : 0;
  EXPECT_EQ(echoed, 1u);
  ASSERT_TRUE(result.exceptions.back().current_row);
  EXPECT_EQ(result.exceptions.back().current_row->at("name"), Value(large));
}

TEST_F(SqliteDatasourceTest, HardResetStopsWhenProgressThrowsAndKeepsWhatItLogged) {
  source->execute(
      "CREATE TABLE big(id INTEGER PRIMARY KEY);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) "
      "INSERT INTO big SELECT i FROM n;");
  ASSERT_TRUE(source->track("big").ok());
  auto head = source->head_seq();
  EXPECT_THROW(source->hard_reset("big",
                                  [](std::uint64_t done, std::uint64_t) {
                                    if (done > 0) throw Error(ErrorCode::shutting_down, "stop");
                                  }),
               Error);
  EXPECT_EQ(changes_after(head).size(), 1000u) << "the first chunk is committed";
  EXPECT_EQ(source->hard_reset("nowhere", {}).error().code(), ErrorCode::not_found);
}

#ifndef NDEBUG
// The threading contract (datasource.h): an I/O thread never waits on the database.
TEST_F(SqliteDatasourceTest, AReadOnAnIoThreadAbortsDebugBuilds) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  SnapshotRequest request;
  auto schemas = source->tables();
  request.table = &schemas.front();
  EXPECT_DEATH(
      {
        set_thread_role(ThreadRole::io);
        source->read_snapshot(request);
      },
      "a database reader connection on an I/O thread");
  EXPECT_DEATH(
      {
        set_thread_role(ThreadRole::io);
        source->reload();
      },
      "waiting for a datasource's writer on an I/O thread");
  set_thread_role(ThreadRole::io);
  EXPECT_GE(source->head_seq(), 0u) << "never blocks: allowed";
  EXPECT_FALSE(source->tables().empty()) << "never blocks: allowed";
  set_thread_role(ThreadRole::other);
}
#endif

}  // namespace
}  // namespace tandem::storage
