// PostgresDatasource against a real cluster, in both capture modes: what the end-to-end
// tests cannot see from outside (the log, metadata, slot, retention).
#include "storage/postgres/pg_datasource.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <future>
#include <thread>

#include "support/fragile_table.h"
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

  // After a push, every row's metadata names the transaction that wrote the row version, so
  // that the next push to it merges at once (no wait for the capture to catch up).
  void expect_metadata_matches_rows() {
    EXPECT_EQ(psql("SELECT count(*) FROM items i JOIN tandem.rows r ON r.tbl = 'items' AND "
                   "r.pk = json_build_array(i.id)::text WHERE r.writer_xid <> "
                   "i.xmin::text::bigint"),
              "0\n");
    EXPECT_EQ(psql("SELECT count(*) FROM items i LEFT JOIN tandem.rows r ON r.tbl = 'items' AND "
                   "r.pk = json_build_array(i.id)::text WHERE r.pk IS NULL"),
              "0\n");
  }

  PostgresCluster cluster;
  sync::HlcClock clock;
  std::string url;
  std::unique_ptr<PostgresDatasource> source;
};

TEST_P(PostgresDatasourceTest, AManyMutationPushWithOneRefusedByTheDatabaseReportsExactlyThatOne) {
  psql("ALTER TABLE items ADD CONSTRAINT qty_not_negative CHECK (qty >= 0)");
  std::vector<ClientMutation> mutations;
  for (int i = 1; i <= 60; ++i) {
    mutations.push_back(mutation(static_cast<std::uint64_t>(i), Op::insert, fmt::format("k{}", i),
                                 {{"name", "n"}, {"qty", i == 17 ? -1 : i}}, clock.now()));
  }
  auto result = push("c1", std::move(mutations));
  ASSERT_FALSE(result.error) << result.error->message();
  EXPECT_EQ(result.acked_seq, 60u);
  ASSERT_EQ(result.exceptions.size(), 1u);
  EXPECT_EQ(result.exceptions[0].client_seq, 17u);
  EXPECT_EQ(result.exceptions[0].kind, MutationOutcome::Kind::rejected);
  EXPECT_EQ(result.exceptions[0].code, ErrorCode::invalid_mutation);
  EXPECT_EQ(psql("SELECT count(*), sum(qty) FROM items"), "59|1813\n");
  expect_metadata_matches_rows();
  // The refused mutation is acknowledged: a retry of the whole push changes nothing.
  auto retry = push("c1", {mutation(17, Op::insert, "k17", {{"qty", 17}}, clock.now())});
  EXPECT_EQ(retry.acked_seq, 60u);
  ASSERT_EQ(retry.exceptions.size(), 1u) << "the row as it is now: none";
  EXPECT_EQ(retry.exceptions[0].kind, MutationOutcome::Kind::superseded);
  EXPECT_FALSE(retry.exceptions[0].current_row);
  EXPECT_EQ(psql("SELECT count(*) FROM items WHERE id = 'k17'"), "0\n");
}

TEST_P(PostgresDatasourceTest, InsertsUpdatesAndDeletesOfOneKeyInOnePushApplyInOrder) {
  auto head = source->head_seq();
  std::vector<ClientMutation> mutations;
  mutations.push_back(mutation(1, Op::insert, "a", {{"name", "A"}, {"qty", 1}}, clock.now()));
  mutations.push_back(mutation(2, Op::update, "a", {{"qty", 2}}, clock.now()));
  mutations.push_back(mutation(3, Op::insert, "b", {{"name", "B"}, {"qty", 1}}, clock.now()));
  mutations.push_back(mutation(4, Op::update, "a", {{"name", "A2"}}, clock.now()));
  mutations.push_back(mutation(5, Op::remove, "a", {}, clock.now()));
  mutations.push_back(mutation(6, Op::remove, "b", {}, clock.now()));
  mutations.push_back(mutation(7, Op::insert, "a", {{"name", "A3"}}, clock.now()));
  mutations.push_back(mutation(8, Op::update, "a", {{"qty", 7}}, clock.now()));
  auto stale = clock.now();
  mutations.push_back(
      mutation(9, Op::update, "a", {{"qty", 9}}, sync::Hlc::from_parts(stale.millis() - 1000, 0)));
  auto result = push("c1", std::move(mutations));
  ASSERT_FALSE(result.error) << result.error->message();
  EXPECT_EQ(result.acked_seq, 9u);
  // The last update carries a clock older than qty's winner: superseded, row as it is.
  ASSERT_EQ(result.exceptions.size(), 1u);
  EXPECT_EQ(result.exceptions[0].client_seq, 9u);
  EXPECT_EQ(result.exceptions[0].kind, MutationOutcome::Kind::superseded);
  ASSERT_TRUE(result.exceptions[0].current_row);
  EXPECT_EQ(result.exceptions[0].current_row->at("qty"), Value(7));
  // A re-insert after a delete starts from the defaults: qty 2 and name A2 are gone.
  EXPECT_EQ(psql("SELECT id, name, qty FROM items ORDER BY id"), "a|A3|7\n");
  expect_metadata_matches_rows();

  auto changes = changes_after(head, 8);
  ASSERT_EQ(changes.size(), 8u);
  std::vector<std::pair<std::string, Op>> seen;
  for (const auto& change : changes) {
    seen.emplace_back(change.pk.at("id").as_text(), change.op);
    EXPECT_EQ(change.stamp.node, "c1");
  }
  std::vector<std::pair<std::string, Op>> expected = {
      {"a", Op::insert}, {"a", Op::update}, {"b", Op::insert}, {"a", Op::update},
      {"a", Op::remove}, {"b", Op::remove}, {"a", Op::insert}, {"a", Op::update}};
  EXPECT_EQ(seen, expected);
  for (std::size_t i = 1; i < changes.size(); ++i)
    EXPECT_LT(changes[i - 1].stamp, changes[i].stamp);

  // The next push merges against what the first one stored.
  auto later = push("c1", {mutation(10, Op::update, "a", {{"name", "A4"}}, clock.now())});
  EXPECT_TRUE(later.exceptions.empty());
  EXPECT_EQ(psql("SELECT name, qty FROM items WHERE id = 'a'"), "A4|7\n");
  expect_metadata_matches_rows();
}

TEST_P(PostgresDatasourceTest, EveryRowOfAPushIsLoggedWithItsOwnMutationsStamp) {
  auto head = source->head_seq();
  std::vector<ClientMutation> mutations;
  std::vector<std::pair<std::string, sync::Hlc>> expected;
  auto add = [&](Op op, std::string id, Row values) {
    auto hlc = clock.now();
    mutations.push_back(mutation(mutations.size() + 1, op, id, std::move(values), hlc));
    expected.emplace_back(std::move(id), hlc);
  };
  for (int i = 0; i < 20; ++i)
    add(Op::insert, fmt::format("r{}", i), {{"name", "n"}, {"qty", i}});
  add(Op::update, "r3", {{"qty", 33}});
  add(Op::insert, "s1", {{"name", "s"}});  // other columns: a new run
  add(Op::insert, "s2", {{"name", "s"}});
  add(Op::remove, "s1", {});
  add(Op::insert, "s1", {{"qty", 1}});
  add(Op::insert, "s3", {{"qty", 3}});
  auto result = push("c1", std::move(mutations));
  ASSERT_FALSE(result.error) << result.error->message();
  EXPECT_TRUE(result.exceptions.empty());
  auto changes = changes_after(head, expected.size());
  ASSERT_EQ(changes.size(), expected.size());
  for (std::size_t i = 0; i < changes.size(); ++i) {
    EXPECT_EQ(changes[i].pk.at("id"), Value(expected[i].first)) << i;
    EXPECT_EQ(changes[i].stamp, (sync::Stamp{expected[i].second, "c1"})) << i;
  }
  EXPECT_EQ(psql("SELECT id, name, qty FROM items WHERE id IN ('r3', 's1') ORDER BY id"),
            "r3|n|33\ns1||1\n");
  expect_metadata_matches_rows();
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

// Tandem's own schema and information_schema are refused even when the search path reaches
// them (the catalogs of every backend are in the conformance suite).
TEST_P(PostgresDatasourceTest, TandemsSchemaAndInformationSchemaAreRefusedThroughTheSearchPath) {
  psql("ALTER DATABASE app SET search_path = public, tandem, information_schema");
  source->reload();
  for (const std::string name : {"tracked_tables", "changes", "sql_features"}) {
    auto tracked = source->track(name);
    ASSERT_FALSE(tracked.ok()) << name;
    EXPECT_EQ(tracked.error().code(), ErrorCode::invalid_identifier) << name;
  }
}

TEST_P(PostgresDatasourceTest, ATrackingThatFailsMidwayLeavesTheTablesAndTheDatabaseAsBefore) {
  psql(tandem::testing::kRefuseDdlOnFragileSql);
  auto publication_before =
      psql("SELECT tablename FROM pg_publication_tables WHERE pubname = 'tandem' ORDER BY 1");
  EXPECT_THROW((void)source->track("fragile"), Error);
  ASSERT_EQ(source->tables().size(), 1u);
  EXPECT_EQ(source->tables()[0].name, "items");
  EXPECT_EQ(psql("SELECT name FROM tandem.tracked_tables ORDER BY name"), "items\n");
  EXPECT_EQ(psql("SELECT relreplident FROM pg_class WHERE relname = 'fragile'"), "d\n");
  EXPECT_EQ(psql("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'fragile'::regclass"), "0\n");
  EXPECT_EQ(psql("SELECT tablename FROM pg_publication_tables WHERE pubname = 'tandem' "
                 "ORDER BY 1"),
            publication_before);

  // Nothing of fragile is captured; the tracked table goes on as before.
  auto head = source->head_seq();
  psql("INSERT INTO fragile VALUES (1, 'x'); INSERT INTO items (id) VALUES ('after')");
  auto changes = changes_after(head, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].table, "items");

  // A restart reads the same (unchanged) registry.
  source->close();
  open();
  ASSERT_EQ(source->tables().size(), 1u);
  psql("DROP EVENT TRIGGER refuse_fragile");
  EXPECT_TRUE(source->track("fragile").ok());
}

// The writer's connection is lost and cannot be made again while pushes wait: each one is
// answered with a retryable error, none is dropped, and once the database is back a retry
// applies.
TEST_P(PostgresDatasourceTest, EveryPushIsAnsweredWhileTheDatabaseIsDownAndAppliesOnceItIsBack) {
  cluster.stop_immediately();
  auto submit = [&](std::uint64_t seq) {
    auto answered = std::make_shared<std::promise<PushResult>>();
    auto future = answered->get_future();
    PushRequest request;
    request.client_id = "c1";
    request.user_id = "alice";
    request.mutations.push_back(
        mutation(seq, Op::insert, fmt::format("k{}", seq), {{"name", "n"}}, clock.now()));
    request.authorize = [](const TableSchema&, const Row*, sync::Mutation&) { return ok_status(); };
    source->submit(std::move(request),
                   [answered](PushResult result) { answered->set_value(std::move(result)); });
    return future;
  };
  // The first failure teaches the writer that its connection is gone; later batches find it
  // broken and cannot reconnect.
  for (int round = 0; round < 3; ++round) {
    std::vector<std::future<PushResult>> pending;
    for (std::uint64_t seq = 1; seq <= 20; ++seq)
      pending.push_back(submit(seq));
    for (auto& future : pending) {
      ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready)
          << "a push was never answered (round " << round << ")";
      auto result = future.get();
      ASSERT_TRUE(result.error) << "nothing can be applied while the database is down";
      EXPECT_EQ(result.error->code(), ErrorCode::unavailable) << result.error->message();
    }
  }
  // An admin job is answered too, with the same error.
  try {
    (void)source->track("items");
    ADD_FAILURE() << "tracking succeeded without a database";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::unavailable) << error.message();
  }

  cluster.start();
  PushResult retried;
  for (int attempt = 0; attempt < 100; ++attempt) {
    retried = push("c1", {mutation(1, Op::insert, "k1", {{"name", "n"}}, clock.now())});
    if (!retried.error) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(retried.error) << retried.error->message();
  EXPECT_EQ(retried.acked_seq, 1u);
  EXPECT_EQ(psql("SELECT count(*) FROM items WHERE id = 'k1'"), "1\n");
}

INSTANTIATE_TEST_SUITE_P(CaptureModes, PostgresDatasourceTest,
                         ::testing::Values(CaptureMode::logical, CaptureMode::trigger),
                         [](const auto& info) {
                           return std::string(capture_mode_name(info.param));
                         });

}  // namespace
}  // namespace tandem::storage::postgres
