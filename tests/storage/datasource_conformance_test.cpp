// The same scenarios on every datasource that accepts writes (SQLite, PostgreSQL in both
// capture modes): the merge rule and the tracking policy must not depend on the database.
#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "storage/postgres/pg_datasource.h"
#include "storage/sqlite/sqlite_datasource.h"
#include "support/postgres_cluster.h"
#include "support/temp_dir.h"

namespace tandem::storage {
namespace {

using sqlite::SqliteDatasource;
using sqlite::SqliteOptions;

using namespace std::chrono_literals;
using sync::Op;

class DatasourceConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      SqliteOptions options;
      options.path = dir.file("tandem.db");
      options.poll_interval = 5ms;
      auto sqlite = std::make_unique<SqliteDatasource>(options, clock);
      outside = [raw = sqlite.get()](const std::string& sql) { raw->execute(sql); };
      source = std::move(sqlite);
      return;
    }
    cluster = std::make_unique<testing::PostgresCluster>();
    postgres::PostgresOptions options;
    options.url = cluster->create_database("app");
    options.capture = GetParam() == "postgres_logical" ? postgres::CaptureMode::logical
                                                       : postgres::CaptureMode::trigger;
    source = std::make_unique<postgres::PostgresDatasource>(options, clock);
    outside = [this](const std::string& sql) { cluster->psql(sql, "app"); };
  }

  PushResult push(const std::string& client, ClientMutation item) {
    PushRequest request;
    request.client_id = client;
    request.user_id = "alice";
    request.mutations.push_back(std::move(item));
    request.authorize = [](const TableSchema&, const Row*, sync::Mutation&) { return ok_status(); };
    std::promise<PushResult> promise;
    source->submit(std::move(request),
                   [&](PushResult result) { promise.set_value(std::move(result)); });
    return promise.get_future().get();
  }

  // Waits until the log holds at least `count` changes after `after`; returns them all.
  std::vector<sync::Change> changes_after(std::uint64_t after, std::size_t count) {
    std::vector<sync::Change> changes;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (changes.size() < count && std::chrono::steady_clock::now() < deadline) {
      source->wait_for_changes(after, 100ms);
      changes = source->read_changes(after, 1000);
    }
    return changes;
  }

  std::vector<Row> rows(const std::string& table) {
    for (const auto& schema : source->tables()) {
      if (schema.name != table) continue;
      SnapshotRequest request;
      request.table = &schema;
      request.limit = 100;
      return source->read_snapshot(request).rows;
    }
    return {};
  }

  bool tracks(const std::string& table) {
    for (const auto& schema : source->tables()) {
      if (schema.name == table) return true;
    }
    return false;
  }

  testing::TempDir dir;
  std::unique_ptr<testing::PostgresCluster> cluster;
  sync::HlcClock clock;
  std::unique_ptr<Datasource> source;
  std::function<void(const std::string&)> outside;  // SQL run as another program would
};

// Row r1 is written by another program; replica A deletes it offline; replica B of the same
// user upserts it a second later (without the key among its values, as the SDK sends); A's
// delete arrives last. The row stays with B's write, the columns written before the delete
// go back to NULL, the key stays: on every datasource the same row and the same log entry.
TEST_P(DatasourceConformance, ALateDeleteThatANewerUpsertSurvivesKeepsTheKeyAndResetsTheRest) {
  outside("CREATE TABLE items (id TEXT PRIMARY KEY, tag TEXT, note TEXT)");
  ASSERT_TRUE(source->track("items").ok());
  auto head = source->head_seq();
  outside("INSERT INTO items VALUES ('r1', 'old', 'written by psql')");
  auto logged = changes_after(head, 1);
  ASSERT_EQ(logged.size(), 1u);
  head = logged.back().seq;

  auto deleted_at = clock.now();
  auto upserted_at = sync::Hlc::from_parts(deleted_at.millis() + 1000, 0);
  auto upsert = push("replica-b", ClientMutation{1, sync::Mutation{"items",
                                                                   Op::insert,
                                                                   {{"id", "r1"}},
                                                                   {{"tag", "from B"}},
                                                                   {upserted_at, "replica-b"}}});
  ASSERT_FALSE(upsert.error) << upsert.error->message();
  ASSERT_TRUE(upsert.exceptions.empty());
  auto late_delete = push(
      "replica-a",
      ClientMutation{
          1, sync::Mutation{"items", Op::remove, {{"id", "r1"}}, {}, {deleted_at, "replica-a"}}});
  ASSERT_FALSE(late_delete.error) << late_delete.error->message();
  EXPECT_EQ(late_delete.acked_seq, 1u);
  EXPECT_TRUE(late_delete.exceptions.empty())
      << error_code_name(late_delete.exceptions.front().code) << ": "
      << late_delete.exceptions.front().message;

  Row expected{{"id", "r1"}, {"tag", "from B"}, {"note", Value{}}};
  EXPECT_EQ(rows("items"), std::vector<Row>{expected});
  auto changes = changes_after(head, 2);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].op, Op::update);
  EXPECT_EQ(changes[0].stamp, (sync::Stamp{upserted_at, "replica-b"}));
  const auto& entry = changes[1];
  EXPECT_EQ(entry.op, Op::update);
  EXPECT_EQ(entry.pk, (Row{{"id", "r1"}}));
  EXPECT_EQ(entry.row, expected);
  EXPECT_EQ(entry.stamp, (sync::Stamp{deleted_at, "replica-a"}));
}

TEST_P(DatasourceConformance, TheDatabasesOwnAndTandemsTablesAreRefusedByName) {
  std::vector<std::string> refused = {"tandem_changes", "tandem_clients"};
  if (GetParam() == "sqlite") {
    // sqlite_sequence exists: Tandem's log uses AUTOINCREMENT.
    refused.insert(refused.end(), {"sqlite_sequence", "sqlite_master", "sqlite_schema"});
  } else {
    // pg_catalog is always on the search path, so these names resolve to its tables.
    refused.insert(refused.end(), {"pg_authid", "pg_class", "pg_statistic"});
  }
  for (const auto& name : refused) {
    auto tracked = source->track(name);
    ASSERT_FALSE(tracked.ok()) << name;
    EXPECT_EQ(tracked.error().code(), ErrorCode::invalid_identifier) << name;
    EXPECT_FALSE(tracks(name)) << name;
  }
  if (GetParam() != "sqlite") {
    // Tandem's own schema and information_schema, reached through the search path.
    outside("ALTER DATABASE app SET search_path = public, tandem, information_schema");
    source->reload();
    for (const std::string name : {"tracked_tables", "changes", "sql_features"}) {
      auto tracked = source->track(name);
      ASSERT_FALSE(tracked.ok()) << name;
      EXPECT_EQ(tracked.error().code(), ErrorCode::invalid_identifier) << name;
    }
  }
  EXPECT_TRUE(source->tables().empty());
}

INSTANTIATE_TEST_SUITE_P(Datasources, DatasourceConformance,
                         ::testing::Values("sqlite", "postgres_trigger", "postgres_logical"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tandem::storage
