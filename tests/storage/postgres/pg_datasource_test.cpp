// PostgresDatasource against a real cluster, in both capture modes: what the end-to-end
// tests cannot see from outside (the log, metadata, slot, retention).
#include "storage/postgres/pg_datasource.h"

#include <gtest/gtest.h>

#include <future>

#include "support/postgres_cluster.h"

namespace tandem::storage::postgres {
namespace {

using sync::Op;
using testing::PostgresCluster;

class PostgresDatasourceTest : public ::testing::TestWithParam<CaptureMode> {
 protected:
  void SetUp() override {
    url = cluster.create_database("app");
    psql("CREATE TABLE items (id text PRIMARY KEY, name text, qty int, owner_id text)");
    open();
    ASSERT_TRUE(source->track("items").ok());
  }

  void open() {
    PostgresOptions options;
    options.url = url;
    options.capture = GetParam();
    source = std::make_unique<PostgresDatasource>(options, clock);
  }

  std::string psql(const std::string& sql) { return cluster.psql(sql, "app"); }

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

  ClientMutation mutation(std::uint64_t seq, Op op, std::string id, Row values, sync::Hlc hlc) {
    return ClientMutation{
        seq, sync::Mutation{"items", op, {{"id", std::move(id)}}, std::move(values), {hlc, "c1"}}};
  }

  // Waits until the log holds more than `after` and returns everything after it.
  std::vector<sync::Change> changes_after(std::uint64_t after, std::size_t at_least = 1) {
    std::vector<sync::Change> changes;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (changes.size() < at_least && std::chrono::steady_clock::now() < deadline) {
      source->wait_for_changes(after, std::chrono::milliseconds(200));
      changes = source->read_changes(after, 1000);
    }
    return changes;
  }

  PostgresCluster cluster;
  sync::HlcClock clock;
  std::string url;
  std::unique_ptr<PostgresDatasource> source;
};

TEST_P(PostgresDatasourceTest, OutsideWritesAreStampedByTheServerAsNodeDb) {
  auto head = source->head_seq();
  psql(
      "INSERT INTO items VALUES ('a', 'Apple', 1, 'alice'); UPDATE items SET qty = 2 WHERE id = "
      "'a'");
  auto changes = changes_after(head, 2);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].op, Op::insert);
  EXPECT_EQ(changes[1].op, Op::update);
  EXPECT_EQ(changes[1].row.at("qty"), Value(2));
  EXPECT_EQ(changes[1].old.at("qty"), Value(1));
  EXPECT_EQ(changes[0].stamp.node, "$db");
  EXPECT_LT(changes[0].stamp, changes[1].stamp);
}

TEST_P(PostgresDatasourceTest, LookupFindsRowsOfAnyTableByABoundValueOnly) {
  psql(
      "CREATE TABLE auth (token text, id bigint, name text);"
      "INSERT INTO auth VALUES ('t-alice', 7, 'Alice'), ('t-bob', 8, 'Bob')");
  auto found = source->lookup_rows("auth", "token", Value("t-alice"), 2);
  ASSERT_TRUE(found.ok()) << found.error().message();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().at("id"), Value(7));
  EXPECT_EQ(found->front().at("name"), Value("Alice"));

  auto hostile = source->lookup_rows("auth", "token", Value("' OR 1=1 --"), 2);
  ASSERT_TRUE(hostile.ok());
  EXPECT_TRUE(hostile->empty());
  EXPECT_EQ(source->lookup_rows("auth", "nope", Value("x"), 2).error().code(),
            ErrorCode::not_found);
  EXPECT_EQ(source->lookup_rows("missing", "token", Value("x"), 2).error().code(),
            ErrorCode::not_found);
  EXPECT_EQ(source->lookup_rows("auth; --", "token", Value("x"), 2).error().code(),
            ErrorCode::invalid_identifier);
}

TEST_P(PostgresDatasourceTest, AnOutsideWriteWinsOverAnOlderClientWriteToTheSameColumnOnly) {
  psql("INSERT INTO items VALUES ('a', 'Apple', 1, 'alice')");
  ASSERT_EQ(changes_after(0, 1).size(), 1u);
  auto before_outside = clock.now();
  psql("UPDATE items SET qty = 5 WHERE id = 'a'");
  // A client edit made before the outside update, arriving after it: its qty loses, its
  // name (a column nobody wrote since the client's edit) wins.
  auto result =
      push("c1", {mutation(1, Op::update, "a", {{"qty", 9}, {"name", "Pear"}}, before_outside)});
  ASSERT_FALSE(result.error) << result.error->message();
  EXPECT_EQ(psql("SELECT name, qty FROM items WHERE id = 'a'"), "Pear|5\n");
}

TEST_P(PostgresDatasourceTest, APushIsAppliedExactlyOnceAcrossRetries) {
  auto first =
      push("c1", {mutation(1, Op::insert, "b", {{"name", "Bread"}, {"qty", 1}}, clock.now())});
  auto retry =
      push("c1", {mutation(1, Op::insert, "b", {{"name", "Bread"}, {"qty", 1}}, clock.now())});
  EXPECT_EQ(first.acked_seq, 1u);
  EXPECT_EQ(retry.acked_seq, 1u);
  ASSERT_FALSE(changes_after(0, 1).empty());
  std::size_t inserts = 0;
  for (const auto& change : source->read_changes(0, 1000)) {
    if (change.pk.at("id") == Value("b")) {
      ++inserts;
      EXPECT_EQ(change.stamp.node, "c1");
    }
  }
  EXPECT_EQ(inserts, 1u);
}

TEST_P(PostgresDatasourceTest, ChangesMadeWhileTheServerIsDownArePublishedAtStart) {
  auto head = source->head_seq();
  source->close();
  source.reset();
  psql("INSERT INTO items VALUES ('c', 'Cheese', 1, 'bob')");
  open();
  auto changes = changes_after(head, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].pk.at("id"), Value("c"));
}

TEST_P(PostgresDatasourceTest, ReloadAfterAlterTableShowsANewColumnInSchemaAndChanges) {
  psql("ALTER TABLE items ADD COLUMN color text");
  auto tables = source->reload();
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_TRUE(tables[0].has_column("color"));
  auto head = source->head_seq();
  psql("INSERT INTO items (id, name, color) VALUES ('d', 'Dill', 'green')");
  auto changes = changes_after(head, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].row.at("color"), Value("green"));
  psql("ALTER TABLE items DROP COLUMN color");
  tables = source->reload();
  EXPECT_FALSE(tables[0].has_column("color"));
}

TEST_P(PostgresDatasourceTest, HardResetLogsPreexistingRowsAsInsertsAtTheZeroStamp) {
  psql(
      "CREATE TABLE legacy (id int PRIMARY KEY, v text); "
      "INSERT INTO legacy SELECT g, 'v' || g FROM generate_series(1, 2500) g");
  ASSERT_TRUE(source->track("legacy").ok());
  auto head = source->head_seq();
  std::uint64_t last_done = 0;
  auto report = source->hard_reset("legacy", [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_EQ(total, 2500u);
    EXPECT_GE(done, last_done);
    last_done = done;
  });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->rows, 2500u);
  EXPECT_EQ(last_done, 2500u);
  auto changes = changes_after(head, 2500);
  ASSERT_EQ(changes.size(), 1000u);  // read_changes' limit
  EXPECT_EQ(changes[0].op, Op::insert);
  EXPECT_EQ(changes[0].stamp, sync::Stamp{});
  EXPECT_EQ(changes[0].row.at("id"), Value(1));
}

TEST_P(PostgresDatasourceTest, UntrackingTheLastTableDropsTheReplicationSlot) {
  if (GetParam() != CaptureMode::logical) GTEST_SKIP() << "no slot in trigger mode";
  EXPECT_EQ(psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tandem'"), "1\n");
  EXPECT_NE(source->health().detail.find("slot 'tandem'"), std::string::npos)
      << source->health().detail;
  ASSERT_TRUE(source->untrack("items").ok());
  EXPECT_EQ(psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tandem'"), "0\n");
  EXPECT_EQ(psql("SELECT relreplident FROM pg_class WHERE relname = 'items'"), "d\n");
  ASSERT_TRUE(source->track("items").ok());
  EXPECT_EQ(psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'tandem'"), "1\n");
}

TEST_P(PostgresDatasourceTest, TrackingATableWithoutPrimaryKeyOrAnUnknownTableIsRefused) {
  psql("CREATE TABLE loose (a int)");
  EXPECT_EQ(source->track("loose").error().code(), ErrorCode::no_primary_key);
  EXPECT_EQ(source->track("missing").error().code(), ErrorCode::not_found);
  EXPECT_EQ(source->track("bad name;").error().code(), ErrorCode::invalid_identifier);
}

INSTANTIATE_TEST_SUITE_P(CaptureModes, PostgresDatasourceTest,
                         ::testing::Values(CaptureMode::logical, CaptureMode::trigger),
                         [](const auto& info) {
                           return std::string(capture_mode_name(info.param));
                         });

}  // namespace
}  // namespace tandem::storage::postgres
