#include "storage/sqlite/sqlite_datasource.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <future>
#include <set>

#include "common/thread_role.h"
#include "storage/push_applier.h"
#include "storage/sqlite/sqlite_connection.h"
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
        "CREATE TABLE products(id TEXT PRIMARY KEY, name TEXT, price REAL, photo BLOB);"
        "CREATE TABLE past_orders(id TEXT PRIMARY KEY, item TEXT, qty INTEGER, owner_id TEXT);");
    ASSERT_TRUE(source->track("products").ok());
    ASSERT_TRUE(source->track("past_orders").ok());
  }

  void open() {
    SqliteOptions options;
    options.path = path;
    options.poll_interval = std::chrono::milliseconds(5);
    source = std::make_unique<SqliteDatasource>(options, clock);
  }

  PushResult push(const std::string& client, std::vector<ClientMutation> mutations,
                  const std::string& user = "alice") {
    PushRequest request;
    request.client_id = client;
    request.user_id = user;
    request.mutations = std::move(mutations);
    request.authorize = [](const TableSchema&, const Row*, sync::Mutation&) { return ok_status(); };
    std::promise<PushResult> promise;
    source->submit(std::move(request),
                   [&](PushResult result) { promise.set_value(std::move(result)); });
    return promise.get_future().get();
  }

  ClientMutation mutation(std::uint64_t seq, Op op, std::string id, Row values,
                          std::string table = "products") {
    return ClientMutation{seq, sync::Mutation{std::move(table),
                                              op,
                                              {{"id", std::move(id)}},
                                              std::move(values),
                                              sync::Stamp{clock.now(), "c1"}}};
  }

  std::vector<Row> all_rows(const std::string& table) {
    auto schemas = source->tables();
    const TableSchema* schema = nullptr;
    for (const auto& s : schemas) {
      if (s.name == table) schema = &s;
    }
    SnapshotRequest request;
    request.table = schema;
    request.limit = 1000;
    return source->read_snapshot(request).rows;
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

TEST_F(SqliteDatasourceTest, TrackingATableWithoutPrimaryKeyIsRefusedWithAReason) {
  source->execute("CREATE TABLE notes(body TEXT)");
  auto result = source->track("notes");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::no_primary_key);
  EXPECT_NE(std::string(result.error().message()).find("no primary key"), std::string::npos);
}

TEST_F(SqliteDatasourceTest, TrackingAMissingTableOrABadNameIsRefused) {
  EXPECT_EQ(source->track("nope").error().code(), ErrorCode::not_found);
  EXPECT_EQ(source->track("x; DROP TABLE products").error().code(), ErrorCode::invalid_identifier);
}

TEST_F(SqliteDatasourceTest, LookupFindsRowsOfAnyTableByABoundValueOnly) {
  source->execute(
      "CREATE TABLE auth(token TEXT, id INTEGER, name TEXT);"  // no key: lookups do not need one
      "INSERT INTO auth VALUES ('t-alice', 7, 'Alice'), ('t-bob', 8, 'Bob');");
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

TEST_F(SqliteDatasourceTest, IntrospectionReportsColumnsTypesAndKey) {
  auto tables = source->tables();
  ASSERT_EQ(tables.size(), 2u);
  const auto& products = tables[1];
  EXPECT_EQ(products.name, "products");
  EXPECT_EQ(products.primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ(products.column("price")->type, ColumnType::real);
  EXPECT_EQ(products.column("photo")->type, ColumnType::blob);
}

TEST_F(SqliteDatasourceTest, PushedInsertIsStoredAndLoggedWithItsStamp) {
  auto result = push("c1", {mutation(1, Op::insert, "p1", {{"name", "pen"}, {"price", 1.5}})});
  EXPECT_FALSE(result.error);
  EXPECT_EQ(result.acked_seq, 1u);
  EXPECT_TRUE(result.exceptions.empty());
  auto changes = changes_after(0);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, Op::insert);
  EXPECT_EQ(changes[0].row.at("name"), Value("pen"));
  EXPECT_EQ(changes[0].stamp.node, "c1");
  EXPECT_FALSE(changes[0].stamp.hlc.is_zero());
}

TEST_F(SqliteDatasourceTest, RetriedPushIsAppliedExactlyOnce) {
  auto batch = std::vector{mutation(1, Op::insert, "p1", {{"name", "pen"}}),
                           mutation(2, Op::update, "p1", {{"name", "pencil"}})};
  push("c1", batch);
  auto head = source->head_seq();
  auto retry = push("c1", batch);
  EXPECT_EQ(retry.acked_seq, 2u);
  EXPECT_EQ(source->head_seq(), head) << "nothing new was written";
  EXPECT_EQ(all_rows("products").at(0).at("name"), Value("pencil"));
  // The first outcome is not kept: the row as it is now goes back, so that a client whose
  // ack was lost cannot keep a write that lost the merge.
  ASSERT_EQ(retry.exceptions.size(), 2u);
  EXPECT_EQ(retry.exceptions[1].kind, MutationOutcome::Kind::superseded);
  ASSERT_TRUE(retry.exceptions[1].current_row);
  EXPECT_EQ(retry.exceptions[1].current_row->at("name"), Value("pencil"));
}

TEST_F(SqliteDatasourceTest, ClientIdOfAnotherUserIsRefusedWholesale) {
  push("c1", {mutation(1, Op::insert, "p1", {{"name", "pen"}})}, "alice");
  auto result = push("c1", {mutation(2, Op::insert, "p2", {{"name", "ink"}})}, "mallory");
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->code(), ErrorCode::forbidden);
  EXPECT_EQ(all_rows("products").size(), 1u);
}

TEST_F(SqliteDatasourceTest, OlderWriteIsSupersededAndReportsTheCurrentRow) {
  auto older = sync::Stamp{clock.now(), "c2"};
  push("c1", {mutation(1, Op::insert, "p1", {{"name", "new"}})});
  ClientMutation late{
      1, sync::Mutation{"products", Op::update, {{"id", "p1"}}, {{"name", "old"}}, older}};
  auto result = push("c2", {late});
  ASSERT_EQ(result.exceptions.size(), 1u);
  EXPECT_EQ(result.exceptions[0].kind, MutationOutcome::Kind::superseded);
  EXPECT_EQ(result.exceptions[0].current_row->at("name"), Value("new"));
  EXPECT_EQ(all_rows("products").at(0).at("name"), Value("new"));
}

// A client takes an exception's row as the row when the push committed: a row that a later
// mutation of the same push changed must not be echoed as it was before that mutation.
TEST_F(SqliteDatasourceTest, AnAckDoesNotEchoARowAsItWasBeforeALaterMutationOfThePush) {
  auto stale = clock.now();
  push("c1", {mutation(1, Op::insert, "p1", {{"name", "new"}})});
  auto late = mutation(1, Op::update, "p1", {{"name", "old"}});
  late.mutation.stamp.hlc = stale;  // older than the insert: superseded
  auto result = push("c2", {late, mutation(2, Op::update, "p1", {{"name", "newer"}})});
  ASSERT_EQ(result.exceptions.size(), 1u);
  EXPECT_EQ(result.exceptions[0].kind, MutationOutcome::Kind::superseded);
  EXPECT_FALSE(result.exceptions[0].current_row) << "the row without mutation 2";
  EXPECT_TRUE(result.exceptions[0].row_omitted);
  EXPECT_EQ(all_rows("products").at(0).at("name"), Value("newer"));
}

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

TEST_F(SqliteDatasourceTest, ConstraintViolationRejectsOnlyThatMutation) {
  source->execute("CREATE TABLE strict_items(id TEXT PRIMARY KEY, name TEXT NOT NULL)");
  ASSERT_TRUE(source->track("strict_items").ok());
  auto result = push("c1", {mutation(1, Op::insert, "a", {}, "strict_items"),
                            mutation(2, Op::insert, "b", {{"name", "ok"}}, "strict_items")});
  EXPECT_EQ(result.acked_seq, 2u);
  ASSERT_EQ(result.exceptions.size(), 1u);
  EXPECT_EQ(result.exceptions[0].code, ErrorCode::invalid_mutation);
  EXPECT_EQ(all_rows("strict_items").size(), 1u);
}

TEST_F(SqliteDatasourceTest, WritesByAnotherProgramAreCapturedAndStamped) {
  {
    SqliteConnection other(path, SqliteConnection::Mode::read_write);
    other.exec("INSERT INTO products(id, name, photo) VALUES ('x', 'outside', x'00ff10')");
    other.exec("UPDATE products SET name = 'edited' WHERE id = 'x'");
    other.exec("DELETE FROM products WHERE id = 'x'");
  }
  auto changes = changes_after(0);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].op, Op::insert);
  EXPECT_EQ(changes[0].row.at("photo"), Value(Blob{0x00, 0xff, 0x10}));
  EXPECT_EQ(changes[1].op, Op::update);
  EXPECT_EQ(changes[1].old, (Row{{"name", "outside"}}));
  EXPECT_EQ(changes[2].op, Op::remove);
  for (const auto& change : changes) {
    EXPECT_EQ(change.stamp.node, "$db");
    EXPECT_FALSE(change.stamp.hlc.is_zero());
  }
  EXPECT_LT(changes[0].stamp, changes[1].stamp);
}

TEST_F(SqliteDatasourceTest, OutsideWriteBeatsAnOlderClientWriteThatArrivesLater) {
  auto offline_stamp = sync::Stamp{clock.now(), "c2"};
  push("c1", {mutation(1, Op::insert, "p1", {{"name", "first"}})});
  {
    SqliteConnection other(path, SqliteConnection::Mode::read_write);
    other.exec("UPDATE products SET name = 'from psql' WHERE id = 'p1'");
  }
  ClientMutation late{
      1,
      sync::Mutation{"products", Op::update, {{"id", "p1"}}, {{"name", "offline"}}, offline_stamp}};
  auto result = push("c2", {late});
  EXPECT_EQ(all_rows("products").at(0).at("name"), Value("from psql"));
  EXPECT_EQ(result.exceptions.size(), 1u);
}

TEST_F(SqliteDatasourceTest, UpdateThatChangesThePrimaryKeyBecomesDeleteAndInsert) {
  push("c1", {mutation(1, Op::insert, "p1", {{"name", "pen"}})});
  auto head = source->head_seq();
  {
    SqliteConnection other(path, SqliteConnection::Mode::read_write);
    other.exec("UPDATE products SET id = 'p2' WHERE id = 'p1'");
  }
  auto changes = changes_after(head);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].op, Op::remove);
  EXPECT_EQ(changes[0].pk, (Row{{"id", "p1"}}));
  EXPECT_EQ(changes[1].op, Op::insert);
  EXPECT_EQ(changes[1].pk, (Row{{"id", "p2"}}));
}

TEST_F(SqliteDatasourceTest, SnapshotPagesResumeAfterTheLastKeyAndFilterByOwner) {
  std::vector<ClientMutation> batch;
  for (int i = 0; i < 25; ++i) {
    batch.push_back(
        mutation(static_cast<std::uint64_t>(i + 1), Op::insert, fmt::format("o{:02}", i),
                 {{"item", "x"}, {"owner_id", i % 2 == 0 ? "alice" : "bob"}}, "past_orders"));
  }
  push("c1", batch);
  auto tables = source->tables();
  SnapshotRequest request;
  request.table = &tables[0];
  request.filter_column = "owner_id";
  request.filter_value = Value("alice");
  request.limit = 5;
  std::vector<Row> seen;
  for (;;) {
    auto page = source->read_snapshot(request);
    for (auto& row : page.rows)
      seen.push_back(row);
    if (page.done) break;
    request.after_key = tables[0].key_of(seen.back());
  }
  ASSERT_EQ(seen.size(), 13u);
  for (const auto& row : seen)
    EXPECT_EQ(row.at("owner_id"), Value("alice"));
  EXPECT_EQ(seen.front().at("id"), Value("o00"));
  EXPECT_EQ(seen.back().at("id"), Value("o24"));
}

TEST_F(SqliteDatasourceTest, ReloadPicksUpAnAddedColumn) {
  source->execute("ALTER TABLE products ADD COLUMN color TEXT");
  auto tables = source->reload();
  EXPECT_TRUE(tables[1].has_column("color"));
  push("c1", {mutation(1, Op::insert, "p1", {{"color", "red"}})});
  auto changes = changes_after(0);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].row.at("color"), Value("red"));
}

TEST_F(SqliteDatasourceTest, HardResetLogsRowsThatExistedBeforeTracking) {
  source->execute(
      "CREATE TABLE legacy(id INTEGER PRIMARY KEY, v TEXT);"
      "INSERT INTO legacy VALUES (1, 'a'), (2, 'b'), (3, 'c');");
  ASSERT_TRUE(source->track("legacy").ok());
  auto head = source->head_seq();
  std::uint64_t reported = 0;
  auto report =
      source->hard_reset("legacy", [&](std::uint64_t done, std::uint64_t) { reported = done; });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->rows, 3u);
  EXPECT_EQ(reported, 3u);
  auto changes = changes_after(head);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[2].row.at("v"), Value("c"));
}

TEST_F(SqliteDatasourceTest, HardResetWalksACompositeKeyInChunksReportingEach) {
  source->execute(
      "CREATE TABLE stock(shop INTEGER, sku TEXT, qty INTEGER, PRIMARY KEY (shop, sku));"
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2499) "
      "INSERT INTO stock SELECT i % 3, printf('sku-%05d', i), i FROM n;");
  ASSERT_TRUE(source->track("stock").ok());
  auto head = source->head_seq();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> reports;
  auto report = source->hard_reset(
      "stock", [&](std::uint64_t done, std::uint64_t total) { reports.emplace_back(done, total); });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->rows, 2500u);
  EXPECT_EQ(reports, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{
                         {0, 2500}, {1000, 2500}, {2000, 2500}, {2500, 2500}}));
  std::vector<sync::Change> changes;
  for (auto page = changes_after(head); !page.empty(); page = changes_after(page.back().seq))
    changes.insert(changes.end(), page.begin(), page.end());
  ASSERT_EQ(changes.size(), 2500u);
  std::set<std::pair<std::int64_t, std::string>> keys;
  for (const auto& change : changes) {
    EXPECT_EQ(change.op, Op::insert);
    EXPECT_EQ(change.stamp, sync::Stamp{});
    keys.emplace(change.pk.at("shop").as_integer(), change.pk.at("sku").as_text());
  }
  EXPECT_EQ(keys.size(), 2500u) << "every row exactly once";
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

TEST_F(SqliteDatasourceTest, StateSurvivesReopening) {
  push("c1", {mutation(1, Op::insert, "p1", {{"name", "pen"}})});
  auto head = source->head_seq();
  source.reset();
  open();
  EXPECT_EQ(source->head_seq(), head);
  EXPECT_EQ(source->tables().size(), 2u);
  auto retry = push("c1", {mutation(1, Op::insert, "p1", {{"name", "pen"}})});
  EXPECT_EQ(source->head_seq(), head) << "the client's sequence survived the restart";
  EXPECT_GE(clock.now().raw(), source->max_clock().raw());
}

TEST_F(SqliteDatasourceTest, CatchUpLogsWhatOtherProgramsWroteWhileTheServerWasDown) {
  auto head = source->head_seq();
  source.reset();
  {
    SqliteConnection other(path, SqliteConnection::Mode::read_write);
    other.exec("INSERT INTO products(id, name) VALUES ('p-down', 'written while down')");
  }
  open();
  source->catch_up();
  EXPECT_EQ(source->head_seq(), head + 1) << "readable before any client is served";
  auto changes = source->read_changes(head, 10);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].stamp.node, kDatabaseNode);
}

}  // namespace
}  // namespace tandem::storage
