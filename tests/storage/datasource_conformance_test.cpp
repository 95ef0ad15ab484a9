// The Datasource contract (src/storage/datasource.h), the same scenarios on every backend of
// this build: SQLite, PostgreSQL in both capture modes, MySQL. Tracking, capture, snapshots,
// hard resets and restarts must not depend on the database; pushes (which MySQL refuses)
// must merge the same way wherever they apply. What only one engine has (PostgreSQL's slot,
// MySQL's events table, SQLite's reader connections) is tested beside this file, per backend.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "storage/backend_under_test.h"
#include "storage/push_applier.h"
#include "storage/snapshot_filter_testing.h"

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

  std::vector<std::int64_t> ids(const TableSchema& table, const RowFilter& filter) {
    return testing::snapshot_ids(*source, table, filter);
  }

  // The error code a filtered snapshot and count fail with (ok when they do not).
  ErrorCode refusal(const TableSchema& table, const RowFilter& filter) {
    SnapshotRequest request;
    request.table = &table;
    request.filter = filter;
    ErrorCode read = ErrorCode::ok;
    ErrorCode counted = ErrorCode::ok;
    try {
      source->read_snapshot(request);
    } catch (const Error& error) {
      read = error.code();
    }
    try {
      source->count_rows(request);
    } catch (const Error& error) {
      counted = error.code();
    }
    EXPECT_EQ(read, counted) << testing::describe(filter);
    return read;
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
  request.filter = RowFilter::compare("owner_id", RowFilter::Op::eq, Value("ann"));
  request.limit = 100;
  EXPECT_EQ(source->count_rows(request), 12u);
  auto owned = source->read_snapshot(request);
  EXPECT_TRUE(owned.done);
  ASSERT_EQ(owned.rows.size(), 12u);
  for (const auto& row : owned.rows)
    EXPECT_EQ(row.at("owner_id"), Value("ann"));
}

// --- Snapshot filters (common/row_filter.h): the database decides, as evaluate() would ------

// A differential test: random filters over integers, reals, text in a case-insensitive
// collation, dates and timestamps, with NULLs, case and trailing-space variants, numeric
// strings, 7 against 7.0 and integers beyond 2^53; every snapshot (paged) and count must hold
// exactly the rows evaluate() passes in memory.
TEST_P(DatasourceConformance, AFilteredSnapshotHoldsExactlyTheRowsTheFilterPassesInMemory) {
  auto text = backend->case_insensitive_text_type();
  outside(fmt::format(
      "CREATE TABLE people (id INTEGER PRIMARY KEY, n BIGINT, r DOUBLE PRECISION, s {}, d DATE, "
      "ts TIMESTAMP(6) NULL)",
      text));
  outside(
      "INSERT INTO people VALUES "
      "(1, 7, 7.0, 'Ann', '2024-01-02', '2024-01-02 03:04:05'), "
      "(2, -3, -2.5, 'ann', '0999-12-31', '2024-01-02 03:04:05.5'), "
      "(3, 0, 0.5, 'ann ', NULL, '2024-01-02 03:04:05.123456'), "
      "(4, NULL, NULL, NULL, NULL, NULL), "
      "(5, 7, 7.5, '7', '2024-12-31', '1999-12-31 23:59:59.999999'), "
      "(6, 12, -0.0, '-3', '1970-01-01', NULL), "
      "(7, 100, 1e10, 'ANN', '2024-01-02', '2024-01-02 03:04:05.5'), "
      "(8, -7, 7.000001, '', NULL, '2030-06-15 12:00:00'), "
      "(9, 3, NULL, 'b', '2000-02-29', '2024-01-02 03:04:06'), "
      "(10, NULL, 3.0, 'Émile', NULL, NULL), "
      "(11, 9007199254740993, 9007199254740992.0, 'émile', '2024-01-02', NULL), "
      "(12, 2, 2.0, '7.0', NULL, NULL)");
  outside(fmt::format(
      "CREATE TABLE members (id INTEGER PRIMARY KEY, member VARCHAR(20), n_key BIGINT, s_key {})",
      text));
  outside(
      "INSERT INTO members VALUES (1, 'ann', 7, 'Ann'), (2, 'ann', -3, 'ann '), "
      "(3, 'ANN', 0, 'ann'), (4, 'bob', 12, '7'), (5, 'ann', NULL, NULL), (6, 'bob', 100, 'ANN'), "
      "(7, NULL, 3, 'b'), (8, 'ann ', 2, 'émile')");
  auto people = source->track("people");
  ASSERT_TRUE(people.ok()) << people.error().message();
  ASSERT_TRUE(source->track("members").ok());
  auto all = rows("people");
  ASSERT_EQ(all.size(), 12u);
  testing::RowsMembership lookup({{"members", rows("members")}});

  testing::RowFilterSpace space;
  space.columns = {"id", "n", "r", "s", "d", "ts", "missing"};
  testing::take_column_values(space, all);
  auto nan = std::numeric_limits<double>::quiet_NaN();
  auto infinity = std::numeric_limits<double>::infinity();
  space.values = {Value{},
                  7,
                  -3,
                  0,
                  2,
                  12,
                  Value(std::int64_t{9007199254740992}),
                  Value(std::int64_t{9007199254740993}),
                  Value(std::numeric_limits<std::int64_t>::max()),
                  Value(std::numeric_limits<std::int64_t>::min()),
                  7.0,
                  7.5,
                  -2.5,
                  -0.0,
                  2.0,
                  1e10,
                  9007199254740992.0,
                  infinity,
                  -infinity,
                  nan,
                  "Ann",
                  "ann",
                  "ann ",
                  "ANN",
                  "7",
                  "7.0",
                  "-3",
                  "",
                  "b",
                  "émile",
                  "Émile",
                  std::string("ann\0x", 5),
                  "x' OR '1'='1",
                  "2024-01-02",
                  "2024-01-02T03:04:05.5",
                  "NaN",
                  Blob{'A', 'n', 'n'}};
  space.memberships = {{"members", "n_key", "member", Value{}},
                       {"members", "s_key", "member", Value{}},
                       {"members", "missing", "member", Value{}}};
  space.members = {"ann", "ANN", "ann ", "bob", 7, Value{}};

  testing::expect_database_agrees_with_memory(
      15015, 300, space, all, lookup,
      [&](const RowFilter& filter) { return ids(*people, filter); });
}

// The owner filter as the rules make it: a text id equals only itself (not ALICE, not
// 'alice ' in a collation that ignores case and trailing spaces, not a longer id cut to the
// column's length), and a number never equals text ('7' is not 7, 7.0 is).
TEST_P(DatasourceConformance, TheOwnerFilterComparesExactlyWhateverTheColumnsCollationOrType) {
  outside(
      fmt::format("CREATE TABLE notes (id INTEGER PRIMARY KEY, owner_id {}, owner_no INTEGER, code "
                  "VARCHAR(10))",
                  backend->case_insensitive_text_type()));
  outside(
      "INSERT INTO notes VALUES (1, 'alice', 7, 'bob_is_ver'), (2, 'ALICE', 70, '7'), "
      "(3, 'alice ', NULL, '7.0'), (4, 'Alice', -7, '07'), (5, 'alice', 7, NULL)");
  auto notes = source->track("notes");
  ASSERT_TRUE(notes.ok()) << notes.error().message();
  auto owner = [](const std::string& column, Value value) {
    return RowFilter::compare(column, RowFilter::Op::eq, std::move(value));
  };
  using Ids = std::vector<std::int64_t>;
  EXPECT_EQ(ids(*notes, owner("owner_id", "alice")), (Ids{1, 5}));
  EXPECT_EQ(ids(*notes, owner("owner_id", "ALICE")), (Ids{2}));
  EXPECT_EQ(ids(*notes, owner("owner_id", "alice ")), (Ids{3}));
  EXPECT_EQ(ids(*notes, owner("owner_id", "alicE")), (Ids{}));
  EXPECT_EQ(ids(*notes, owner("owner_no", 7)), (Ids{1, 5}));
  EXPECT_EQ(ids(*notes, owner("owner_no", 7.0)), (Ids{1, 5})) << "numbers compare as numbers";
  EXPECT_EQ(ids(*notes, owner("owner_no", "7")), (Ids{})) << "text never equals a number";
  EXPECT_EQ(ids(*notes, owner("owner_no", "07")), (Ids{}));
  EXPECT_EQ(ids(*notes, owner("code", 7)), (Ids{}));
  EXPECT_EQ(ids(*notes, owner("code", "7")), (Ids{2}));
  EXPECT_EQ(ids(*notes, owner("code", "bob_is_very_long")), (Ids{})) << "never cut to 10";
  EXPECT_EQ(ids(*notes, owner("code", Value{})), (Ids{})) << "NULL equals nothing";
  EXPECT_EQ(ids(*notes, owner("missing", "alice")), (Ids{})) << "a missing column is NULL";
  EXPECT_EQ(ids(*notes, RowFilter::negation(owner("code", "7"))), (Ids{1, 3, 4}))
      << "not equal is unknown, not true, for NULL";
}

TEST_P(DatasourceConformance, AValueInAFilterIsBoundNeverSpliced) {
  outside("CREATE TABLE notes (id INTEGER PRIMARY KEY, owner_id VARCHAR(40), code VARCHAR(10))");
  outside(
      "INSERT INTO notes VALUES (1, 'alice', '7'), (2, 'bob', '07'), (3, 'carol', '7.0'), "
      "(4, 'dave', 'b')");
  outside("CREATE TABLE members (id INTEGER PRIMARY KEY, member VARCHAR(40), owner VARCHAR(40))");
  outside("INSERT INTO members VALUES (1, 'x', 'alice')");
  auto notes = source->track("notes");
  ASSERT_TRUE(notes.ok()) << notes.error().message();
  ASSERT_TRUE(source->track("members").ok()) << "membership tables are tracked tables";
  using Ids = std::vector<std::int64_t>;
  auto eq = [](const std::string& column, Value value) {
    return RowFilter::compare(column, RowFilter::Op::eq, std::move(value));
  };
  EXPECT_EQ(ids(*notes, eq("owner_id", "x' OR '1'='1")), (Ids{}));
  EXPECT_EQ(ids(*notes, eq("owner_id", "x') OR (1=1) --")), (Ids{}));
  EXPECT_EQ(ids(*notes, eq("owner_id", "'; DROP TABLE notes; --")), (Ids{}));
  EXPECT_EQ(ids(*notes, eq("owner_id", "x\" OR \"1\"=\"1")), (Ids{}));
  EXPECT_EQ(ids(*notes, eq("owner_id", "$1")), (Ids{}));
  EXPECT_EQ(ids(*notes, eq("owner_id", "?")), (Ids{}));
  EXPECT_EQ(ids(*notes, RowFilter::in_values("owner_id", {"' OR 1=1 --", "bob"})), (Ids{2}));
  // A NUL inside a value is part of it: it is neither an end nor ignored.
  EXPECT_EQ(ids(*notes, eq("code", std::string("7\0' OR '1'='1", 13))), (Ids{}));
  EXPECT_EQ(ids(*notes, eq("code", std::string("7\0", 2))), (Ids{}));
  EXPECT_EQ(ids(*notes, RowFilter::compare("code", RowFilter::Op::lt, std::string("7\0", 2))),
            (Ids{1, 2}));
  auto membership = [](Value member) {
    return RowFilter::in_membership("owner_id", {"members", "owner", "member", std::move(member)});
  };
  EXPECT_EQ(ids(*notes, membership("x")), (Ids{1}));
  EXPECT_EQ(ids(*notes, membership("x' OR '1'='1")), (Ids{}));
  EXPECT_EQ(rows("notes").size(), 4u) << "the table is still there";
}

TEST_P(DatasourceConformance, AnInvalidIdentifierInAMembershipIsRefused) {
  outside("CREATE TABLE notes (id INTEGER PRIMARY KEY, owner_id VARCHAR(40))");
  outside("INSERT INTO notes VALUES (1, 'alice')");
  outside("CREATE TABLE members (id INTEGER PRIMARY KEY, member VARCHAR(40), owner VARCHAR(40))");
  outside("INSERT INTO members VALUES (1, 'x', 'alice')");
  auto notes = source->track("notes");
  ASSERT_TRUE(notes.ok()) << notes.error().message();
  ASSERT_TRUE(source->track("members").ok());
  auto membership = [](std::string table, std::string key, std::string member) {
    return RowFilter::in_membership("owner_id",
                                    {std::move(table), std::move(key), std::move(member), "x"});
  };
  for (const auto& filter :
       {membership("members; DROP TABLE notes", "owner", "member"),
        membership("members", "owner) OR (1=1", "member"),
        membership("members", "owner", "member\" OR \"1\"=\"1"), membership("members", "owner", ""),
        membership("tandem_changes", "seq", "tbl"),
        RowFilter::negation(
            RowFilter::any_of({RowFilter::always(), membership("members", "own`er", "m")}))}) {
    EXPECT_EQ(refusal(*notes, filter), ErrorCode::invalid_identifier) << testing::describe(filter);
  }
  EXPECT_EQ(refusal(*notes, membership("nowhere", "owner", "member")), ErrorCode::not_found);
  EXPECT_EQ(ids(*notes, membership("members", "owner", "member")), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(ids(*notes, membership("members", "missing", "member")), (std::vector<std::int64_t>{}))
      << "a key column the table lacks is NULL";
  EXPECT_EQ(rows("notes").size(), 1u);
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

// The refusal goes to the client that wrote: it names the constraint, never the values of
// the row it collided with (a row that client may not be allowed to read).
TEST_P(WritableDatasourceConformance, ARefusalByTheDatabaseNeverQuotesAnotherRowsValues) {
  outside(
      "CREATE TABLE accounts (id VARCHAR(40) PRIMARY KEY, email VARCHAR(60) UNIQUE, "
      "score INTEGER CHECK (score >= 0))");
  outside("INSERT INTO accounts VALUES ('someone-else', 'hidden@example.com', 5)");
  ASSERT_TRUE(source->track("accounts").ok());
  auto insert = [&](std::uint64_t seq, const std::string& id, Row values) {
    auto item = mutation(seq, Op::insert, id, std::move(values));
    item.mutation.table = "accounts";
    return item;
  };
  auto result = push("c1", {insert(1, "mine", {{"email", "hidden@example.com"}}),
                            insert(2, "also-mine", {{"email", "me@example.com"}, {"score", -1}})});
  ASSERT_FALSE(result.error) << result.error->message();
  ASSERT_EQ(result.exceptions.size(), 2u);
  for (const auto& refusal : result.exceptions) {
    EXPECT_EQ(refusal.code, ErrorCode::invalid_mutation);
    EXPECT_EQ(refusal.message.find("hidden@example.com"), std::string::npos) << refusal.message;
    EXPECT_EQ(refusal.message.find("someone-else"), std::string::npos) << refusal.message;
    EXPECT_EQ(refusal.message.find("me@example.com"), std::string::npos) << refusal.message;
  }
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
