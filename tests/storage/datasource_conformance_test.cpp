// The Datasource contract (src/storage/datasource.h), the same scenarios on every backend of
// this build: SQLite, PostgreSQL in both capture modes, MySQL. Tracking, capture, snapshots,
// hard resets and restarts must not depend on the database; pushes (which MySQL refuses)
// must merge the same way wherever they apply. What only one engine has (PostgreSQL's slot,
// MySQL's events table, SQLite's reader connections) is tested beside this file, per backend.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <future>
#include <memory>
#include <set>

#include "storage/backend_under_test.h"
#include "storage/push_applier.h"

namespace tandem::storage {
namespace {

using namespace std::chrono_literals;
using sync::Op;

constexpr auto kItemsTable =
    "CREATE TABLE items (id VARCHAR(40) PRIMARY KEY, name VARCHAR(40), qty INTEGER, "
    "owner_id VARCHAR(40))";

class DatasourceConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend = testing::make_backend(GetParam());
    source = backend->open(clock);
  }

  // As the server restarts: a new datasource on the same data, caught up before serving.
  void reopen() {
    source.reset();
    source = backend->open(clock);
    source->catch_up();
  }

  void outside(const std::string& sql) { backend->outside(sql); }

  void create_and_track_items() {
    outside(kItemsTable);
    ASSERT_TRUE(source->track("items").ok());
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

  ClientMutation mutation(std::uint64_t seq, Op op, const std::string& id, Row values,
                          std::optional<sync::Hlc> hlc = std::nullopt,
                          const std::string& node = "c1") {
    return ClientMutation{
        seq, sync::Mutation{
                 "items", op, {{"id", id}}, std::move(values), {hlc ? *hlc : clock.now(), node}}};
  }

  // Waits until the log holds at least `count` changes after `after`; returns them all.
  std::vector<sync::Change> changes_after(std::uint64_t after, std::size_t count) {
    std::vector<sync::Change> changes;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (changes.size() < count && std::chrono::steady_clock::now() < deadline) {
      source->wait_for_changes(after, 100ms);
      for (auto& change : source->read_changes(after, 1000)) {
        after = change.seq;
        changes.push_back(std::move(change));
      }
    }
    return changes;
  }

  std::optional<TableSchema> schema(const std::string& table) {
    for (auto& candidate : source->tables()) {
      if (candidate.name == table) return candidate;
    }
    return std::nullopt;
  }

  std::vector<Row> rows(const std::string& table) {
    auto table_schema = schema(table);
    if (!table_schema) return {};
    SnapshotRequest request;
    request.table = &*table_schema;
    request.limit = 100;
    return source->read_snapshot(request).rows;
  }

  sync::HlcClock clock;
  std::unique_ptr<testing::BackendUnderTest> backend;
  std::unique_ptr<Datasource> source;
};

// Pushes apply on these backends only; the scenarios are the same.
using WritableDatasourceConformance = DatasourceConformance;

TEST_P(DatasourceConformance, TrackingATableWithoutKeyAMissingTableOrABadNameIsRefused) {
  outside("CREATE TABLE loose (a INTEGER)");
  auto refused = source->track("loose");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::no_primary_key);
  EXPECT_NE(refused.error().message().find("primary key"), std::string_view::npos);
  EXPECT_EQ(source->track("missing").error().code(), ErrorCode::not_found);
  EXPECT_EQ(source->track("x; DROP TABLE loose").error().code(), ErrorCode::invalid_identifier);
  EXPECT_EQ(source->untrack("missing").error().code(), ErrorCode::not_found);
  EXPECT_TRUE(source->tables().empty());
}

TEST_P(DatasourceConformance, TheDatabasesOwnAndTandemsTablesAreRefusedByName) {
  for (const auto& name : backend->reserved_table_names()) {
    auto tracked = source->track(name);
    ASSERT_FALSE(tracked.ok()) << name;
    EXPECT_EQ(tracked.error().code(), ErrorCode::invalid_identifier) << name;
  }
  EXPECT_TRUE(source->tables().empty());
}

TEST_P(DatasourceConformance, TrackingReportsColumnsInOrderTheirTypesAndTheDeclaredKey) {
  outside("CREATE TABLE stock (shop INTEGER, sku VARCHAR(20), price DOUBLE PRECISION, photo " +
          backend->blob_type() + ", note VARCHAR(40), PRIMARY KEY (sku, shop))");
  auto tracked = source->track("stock");
  ASSERT_TRUE(tracked.ok()) << tracked.error().message();
  EXPECT_EQ(tracked->primary_key, (std::vector<std::string>{"sku", "shop"}));
  std::vector<std::pair<std::string, ColumnType>> columns;
  for (const auto& column : tracked->columns)
    columns.emplace_back(column.name, column.type);
  EXPECT_EQ(columns, (std::vector<std::pair<std::string, ColumnType>>{{"shop", ColumnType::integer},
                                                                      {"sku", ColumnType::text},
                                                                      {"price", ColumnType::real},
                                                                      {"photo", ColumnType::blob},
                                                                      {"note", ColumnType::text}}));
  ASSERT_TRUE(schema("stock"));
  EXPECT_EQ(schema("stock")->primary_key, tracked->primary_key) << "tables() agrees";
}

TEST_P(DatasourceConformance, LookupFindsRowsOfAnyTableByABoundValueOnly) {
  outside("CREATE TABLE auth (token VARCHAR(40), id INTEGER, name VARCHAR(40))");
  outside("INSERT INTO auth VALUES ('t-alice', 7, 'Alice'), ('t-bob', 8, 'Bob')");
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

TEST_P(DatasourceConformance, WritesByAnotherProgramAreLoggedInOrderWithTheDatabasesStamp) {
  create_and_track_items();
  auto head = source->head_seq();
  outside("INSERT INTO items VALUES ('a', 'Apple', 1, 'alice')");
  outside("UPDATE items SET qty = 2 WHERE id = 'a'");
  outside("DELETE FROM items WHERE id = 'a'");
  auto changes = changes_after(head, 3);
  ASSERT_EQ(changes.size(), 3u);
  Row inserted{{"id", "a"}, {"name", "Apple"}, {"qty", 1}, {"owner_id", "alice"}};
  Row updated{{"id", "a"}, {"name", "Apple"}, {"qty", 2}, {"owner_id", "alice"}};
  EXPECT_EQ(changes[0].op, Op::insert);
  EXPECT_EQ(changes[0].table, "items");
  EXPECT_EQ(changes[0].pk, (Row{{"id", "a"}}));
  EXPECT_EQ(changes[0].row, inserted);
  EXPECT_EQ(changes[1].op, Op::update);
  EXPECT_EQ(changes[1].row, updated);
  EXPECT_EQ(changes[1].old, (Row{{"qty", 1}})) << "the changed columns, as they were";
  EXPECT_EQ(changes[2].op, Op::remove);
  EXPECT_EQ(changes[2].row, updated) << "the row before its delete";
  for (const auto& change : changes) {
    EXPECT_EQ(change.stamp.node, kDatabaseNode);
    EXPECT_FALSE(change.stamp.hlc.is_zero());
  }
  for (std::size_t i = 1; i < changes.size(); ++i) {
    EXPECT_LT(changes[i - 1].stamp, changes[i].stamp);
    EXPECT_LT(changes[i - 1].seq, changes[i].seq);
  }
  EXPECT_EQ(source->head_seq(), changes[2].seq);
}

TEST_P(DatasourceConformance, AnUpdateOfTheKeyIsLoggedAsADeleteThenAnInsert) {
  create_and_track_items();
  auto head = source->head_seq();
  outside("INSERT INTO items VALUES ('p1', 'pen', 1, 'alice')");
  head = changes_after(head, 1).back().seq;
  outside("UPDATE items SET id = 'p2' WHERE id = 'p1'");
  auto changes = changes_after(head, 2);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].op, Op::remove);
  EXPECT_EQ(changes[0].pk, (Row{{"id", "p1"}}));
  EXPECT_EQ(changes[1].op, Op::insert);
  EXPECT_EQ(changes[1].pk, (Row{{"id", "p2"}}));
  EXPECT_EQ(changes[1].row.at("name"), Value("pen"));
}

TEST_P(DatasourceConformance, SnapshotPagesResumeAfterTheLastKeyFilterByOwnerAndCount) {
  outside(
      "CREATE TABLE orders (a INTEGER, b VARCHAR(5), owner_id VARCHAR(10), PRIMARY KEY (a, b))");
  std::string values;
  for (int i = 0; i < 25; ++i) {
    values += fmt::format("{}({}, 'k{}', '{}')", i ? "," : "", i / 3, i % 3, i % 2 ? "ann" : "bob");
  }
  outside("INSERT INTO orders VALUES " + values);
  auto table = source->track("orders");
  ASSERT_TRUE(table.ok());
  SnapshotRequest request;
  request.table = &*table;
  request.limit = 10;
  EXPECT_EQ(source->count_rows(request), 25u);
  std::vector<Row> seen;
  for (int pages = 1;; ++pages) {
    ASSERT_LE(pages, 3);
    auto page = source->read_snapshot(request);
    seen.insert(seen.end(), page.rows.begin(), page.rows.end());
    if (page.done) break;
    request.after_key = table->key_of(page.rows.back());
  }
  ASSERT_EQ(seen.size(), 25u);
  for (std::size_t i = 1; i < seen.size(); ++i)
    EXPECT_LT(table->key_of(seen[i - 1]), table->key_of(seen[i])) << "in key order, once each";

  request.after_key.reset();
  request.filter_column = "owner_id";
  request.filter_value = Value("ann");
  request.limit = 100;
  EXPECT_EQ(source->count_rows(request), 12u);
  auto owned = source->read_snapshot(request);
  EXPECT_TRUE(owned.done);
  ASSERT_EQ(owned.rows.size(), 12u);
  for (const auto& row : owned.rows)
    EXPECT_EQ(row.at("owner_id"), Value("ann"));
}

TEST_P(DatasourceConformance, ReloadShowsAnAddedColumnInLaterChangesAndForgetsADroppedOne) {
  create_and_track_items();
  outside("ALTER TABLE items ADD COLUMN color VARCHAR(10)");
  auto tables = source->reload();
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_TRUE(tables[0].has_column("color"));
  auto head = source->head_seq();
  outside("INSERT INTO items (id, color) VALUES ('d', 'green')");
  auto changes = changes_after(head, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].row.at("color"), Value("green"));
  outside(backend->drop_column_sql("items", "color"));
  tables = source->reload();
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_FALSE(tables[0].has_column("color"));
}

TEST_P(DatasourceConformance, UntrackingATableStopsItsCaptureAndForgetsIt) {
  create_and_track_items();
  ASSERT_TRUE(source->untrack("items").ok());
  EXPECT_TRUE(source->tables().empty());
  auto head = source->head_seq();
  outside("INSERT INTO items VALUES ('u', 'untracked', 1, 'alice')");
  source->wait_for_changes(head, 300ms);
  EXPECT_TRUE(source->read_changes(head, 10).empty());
  ASSERT_TRUE(source->track("items").ok()) << "and can be tracked again";
}

// The log's entries for rows that existed before tracking: each row once, as an insert at the
// zero stamp (any client write wins over it), in chunks of kHardResetChunkRows.
TEST_P(DatasourceConformance, HardResetLogsEveryExistingRowOnceAtTheZeroStampInChunks) {
  outside(
      "CREATE TABLE stock (shop INTEGER, sku VARCHAR(20), qty INTEGER, PRIMARY KEY (shop, sku))");
  std::string values;
  for (int i = 0; i < 2500; ++i)
    values += fmt::format("{}({}, 'sku-{:05}', {})", i ? "," : "", i % 3, i, i);
  outside("INSERT INTO stock VALUES " + values);
  ASSERT_TRUE(source->track("stock").ok());
  auto head = source->head_seq();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> reports;
  auto report = source->hard_reset(
      "stock", [&](std::uint64_t done, std::uint64_t total) { reports.emplace_back(done, total); });
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->rows, 2500u);
  EXPECT_EQ(reports, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{
                         {0, 2500}, {1000, 2500}, {2000, 2500}, {2500, 2500}}));
  auto changes = changes_after(head, 2500);
  ASSERT_EQ(changes.size(), 2500u);
  std::set<std::pair<std::int64_t, std::string>> keys;
  for (const auto& change : changes) {
    EXPECT_EQ(change.op, Op::insert);
    EXPECT_EQ(change.stamp, sync::Stamp{});
    keys.emplace(change.pk.at("shop").as_integer(), change.pk.at("sku").as_text());
  }
  EXPECT_EQ(keys.size(), 2500u) << "every row exactly once";
  EXPECT_EQ(source->hard_reset("nowhere", {}).error().code(), ErrorCode::not_found);
}

TEST_P(DatasourceConformance, WhatWasWrittenWhileTheServerWasDownIsReadableAfterItsCatchUp) {
  create_and_track_items();
  auto head = source->head_seq();
  outside("INSERT INTO items VALUES ('a', 'before', 1, 'alice')");
  head = changes_after(head, 1).back().seq;
  source.reset();
  outside("INSERT INTO items VALUES ('b', 'while down', 2, 'bob')");
  reopen();
  EXPECT_EQ(source->tables().size(), 1u) << "tracking survives";
  auto changes = changes_after(head, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].pk, (Row{{"id", "b"}}));
  EXPECT_EQ(changes[0].stamp.node, kDatabaseNode);
  EXPECT_EQ(source->head_seq(), changes[0].seq);
  EXPECT_GE(clock.now().raw(), source->max_clock().raw()) << "the clock never goes back";
}

TEST_P(DatasourceConformance, HealthReportsReachabilityTheLogAndTheTrackedTables) {
  create_and_track_items();
  outside("INSERT INTO items VALUES ('a', 'x', 1, 'alice')");
  auto last = changes_after(0, 1).back().seq;
  auto health = source->health();
  EXPECT_TRUE(health.reachable) << health.detail;
  EXPECT_EQ(health.tracked_tables, 1u);
  EXPECT_EQ(health.head_seq, last);
  EXPECT_LE(health.oldest_seq, last);
}

TEST_P(WritableDatasourceConformance, APushedInsertIsStoredAndLoggedWithItsStamp) {
  create_and_track_items();
  auto head = source->head_seq();
  auto stamp = clock.now();
  auto result = push("c1", {mutation(1, Op::insert, "p1", {{"name", "pen"}, {"qty", 2}}, stamp)});
  ASSERT_FALSE(result.error) << result.error->message();
  EXPECT_EQ(result.acked_seq, 1u);
  EXPECT_TRUE(result.exceptions.empty());
  EXPECT_EQ(rows("items"),
            (std::vector<Row>{{{"id", "p1"}, {"name", "pen"}, {"qty", 2}, {"owner_id", Value{}}}}));
  auto changes = changes_after(head, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, Op::insert);
  EXPECT_EQ(changes[0].row.at("name"), Value("pen"));
  EXPECT_EQ(changes[0].stamp, (sync::Stamp{stamp, "c1"}));
}

// The server keeps no outcome per mutation: a retry is answered with the row as it is now, so
// that a client whose ack was lost cannot keep a write that lost the merge.
TEST_P(WritableDatasourceConformance, ARetriedPushIsAppliedOnceAndAnsweredWithTheCurrentRow) {
  create_and_track_items();
  auto batch = std::vector{mutation(1, Op::insert, "p1", {{"name", "pen"}}),
                           mutation(2, Op::update, "p1", {{"name", "pencil"}})};
  ASSERT_TRUE(push("c1", batch).exceptions.empty());
  auto head = changes_after(0, 2).back().seq;
  auto retry = push("c1", batch);
  EXPECT_EQ(retry.acked_seq, 2u);
  ASSERT_EQ(retry.exceptions.size(), 2u);
  EXPECT_EQ(retry.exceptions[1].kind, MutationOutcome::Kind::superseded);
  ASSERT_TRUE(retry.exceptions[1].current_row);
  EXPECT_EQ(retry.exceptions[1].current_row->at("name"), Value("pencil"));
  EXPECT_EQ(rows("items").at(0).at("name"), Value("pencil"));
  source->wait_for_changes(head, 300ms);
  EXPECT_TRUE(source->read_changes(head, 10).empty()) << "nothing new was written";
}

TEST_P(WritableDatasourceConformance, AClientIdOfAnotherUserIsRefusedWholesale) {
  create_and_track_items();
  ASSERT_FALSE(push("c1", {mutation(1, Op::insert, "p1", {{"name", "pen"}})}, "alice").error);
  auto result = push("c1", {mutation(2, Op::insert, "p2", {{"name", "ink"}})}, "mallory");
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->code(), ErrorCode::forbidden);
  EXPECT_EQ(rows("items").size(), 1u);
}

// A client edit made before an outside update and arriving after it: its qty loses (the
// column the outside write changed), its name (nobody wrote it since) wins.
TEST_P(WritableDatasourceConformance, AnOutsideWriteWinsOverAnOlderClientWriteToTheSameColumnOnly) {
  create_and_track_items();
  outside("INSERT INTO items VALUES ('a', 'Apple', 1, 'alice')");
  auto head = changes_after(0, 1).back().seq;
  auto before_outside = clock.now();
  outside("UPDATE items SET qty = 5 WHERE id = 'a'");
  ASSERT_EQ(changes_after(head, 1).size(), 1u);
  auto result = push(
      "c1", {mutation(1, Op::update, "a", {{"qty", 9}, {"name", "Pear"}}, before_outside, "c2")});
  ASSERT_FALSE(result.error) << result.error->message();
  auto stored = rows("items").at(0);
  EXPECT_EQ(stored.at("name"), Value("Pear"));
  EXPECT_EQ(stored.at("qty"), Value(5));
}

TEST_P(WritableDatasourceConformance, AnOlderWriteIsSupersededAndReportsTheCurrentRow) {
  create_and_track_items();
  auto older = clock.now();
  ASSERT_TRUE(push("c1", {mutation(1, Op::insert, "p1", {{"name", "new"}})}).exceptions.empty());
  auto result = push("c2", {mutation(1, Op::update, "p1", {{"name", "old"}}, older, "c2")});
  ASSERT_EQ(result.exceptions.size(), 1u);
  EXPECT_EQ(result.exceptions[0].kind, MutationOutcome::Kind::superseded);
  ASSERT_TRUE(result.exceptions[0].current_row);
  EXPECT_EQ(result.exceptions[0].current_row->at("name"), Value("new"));
  EXPECT_EQ(rows("items").at(0).at("name"), Value("new"));
}

// A client takes an exception's row as the row when the push committed: a row that a later
// mutation of the same push changed must not be echoed as it was before that mutation.
TEST_P(WritableDatasourceConformance, AnAckNeverEchoesARowAsItWasBeforeALaterMutationOfThePush) {
  create_and_track_items();
  auto stale = clock.now();
  ASSERT_TRUE(push("c1", {mutation(1, Op::insert, "p1", {{"name", "new"}})}).exceptions.empty());
  auto result = push("c2", {mutation(1, Op::update, "p1", {{"name", "old"}}, stale, "c2"),
                            mutation(2, Op::update, "p1", {{"name", "newer"}}, {}, "c2")});
  ASSERT_EQ(result.exceptions.size(), 1u);
  EXPECT_EQ(result.exceptions[0].kind, MutationOutcome::Kind::superseded);
  EXPECT_FALSE(result.exceptions[0].current_row) << "the row without mutation 2";
  EXPECT_TRUE(result.exceptions[0].row_omitted);
  EXPECT_EQ(rows("items").at(0).at("name"), Value("newer"));
}

TEST_P(WritableDatasourceConformance, AConstraintViolationRejectsOnlyThatMutation) {
  outside("CREATE TABLE strict_items (id VARCHAR(40) PRIMARY KEY, name VARCHAR(40) NOT NULL)");
  ASSERT_TRUE(source->track("strict_items").ok());
  auto insert = [&](std::uint64_t seq, const std::string& id, Row values) {
    auto item = mutation(seq, Op::insert, id, std::move(values));
    item.mutation.table = "strict_items";
    return item;
  };
  auto result = push("c1", {insert(1, "a", {}), insert(2, "b", {{"name", "ok"}})});
  ASSERT_FALSE(result.error) << result.error->message();
  EXPECT_EQ(result.acked_seq, 2u);
  ASSERT_EQ(result.exceptions.size(), 1u);
  EXPECT_EQ(result.exceptions[0].client_seq, 1u);
  EXPECT_EQ(result.exceptions[0].code, ErrorCode::invalid_mutation);
  EXPECT_EQ(rows("strict_items").size(), 1u);
}

// Row r1 is written by another program; replica A deletes it offline; replica B of the same
// user upserts it a second later (without the key among its values, as the SDK sends); A's
// delete arrives last. The row stays with B's write, the columns written before the delete
// go back to NULL, the key stays: on every datasource the same row and the same log entry.
TEST_P(WritableDatasourceConformance,
       ALateDeleteThatANewerUpsertSurvivesKeepsTheKeyAndResetsTheRest) {
  outside("CREATE TABLE notes (id VARCHAR(40) PRIMARY KEY, tag VARCHAR(40), note VARCHAR(40))");
  ASSERT_TRUE(source->track("notes").ok());
  auto head = source->head_seq();
  outside("INSERT INTO notes VALUES ('r1', 'old', 'written outside')");
  auto logged = changes_after(head, 1);
  ASSERT_EQ(logged.size(), 1u);
  head = logged.back().seq;

  auto deleted_at = clock.now();
  auto upserted_at = sync::Hlc::from_parts(deleted_at.millis() + 1000, 0);
  auto note = [&](Op op, Row values, sync::Stamp stamp) {
    return ClientMutation{1, sync::Mutation{"notes", op, {{"id", "r1"}}, std::move(values), stamp}};
  };
  auto upsert =
      push("replica-b", {note(Op::insert, {{"tag", "from B"}}, {upserted_at, "replica-b"})});
  ASSERT_FALSE(upsert.error) << upsert.error->message();
  ASSERT_TRUE(upsert.exceptions.empty());
  auto late_delete = push("replica-a", {note(Op::remove, {}, {deleted_at, "replica-a"})});
  ASSERT_FALSE(late_delete.error) << late_delete.error->message();
  EXPECT_EQ(late_delete.acked_seq, 1u);
  EXPECT_TRUE(late_delete.exceptions.empty())
      << error_code_name(late_delete.exceptions.front().code) << ": "
      << late_delete.exceptions.front().message;

  Row expected{{"id", "r1"}, {"tag", "from B"}, {"note", Value{}}};
  EXPECT_EQ(rows("notes"), std::vector<Row>{expected});
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

TEST_P(WritableDatasourceConformance, AClientsSequenceSurvivesARestart) {
  create_and_track_items();
  ASSERT_TRUE(push("c1", {mutation(1, Op::insert, "p1", {{"name", "pen"}})}).exceptions.empty());
  auto head = changes_after(0, 1).back().seq;
  reopen();
  auto retry = push("c1", {mutation(1, Op::insert, "p1", {{"name", "pen"}})});
  EXPECT_EQ(retry.acked_seq, 1u);
  source->wait_for_changes(head, 300ms);
  EXPECT_TRUE(source->read_changes(head, 10).empty()) << "the retry was not applied again";
}

auto backend_name = [](const auto& info) { return info.param; };
INSTANTIATE_TEST_SUITE_P(Backends, DatasourceConformance,
                         ::testing::ValuesIn(testing::backends_in_this_build()), backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, WritableDatasourceConformance,
                         ::testing::ValuesIn(testing::writable_backends_in_this_build()),
                         backend_name);

}  // namespace
}  // namespace tandem::storage
