#include "storage/mysql/mysql_datasource.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "storage/mysql/mysql_change_log.h"
#include "support/mariadb_server.h"

namespace tandem::storage::mysql {
namespace {

using testing::MariadbServer;
using namespace std::chrono_literals;

class MysqlSource : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    m_database = "t_" + name.substr(0, 60);
    server().create_database(m_database);
  }

  static MariadbServer& server() { return MariadbServer::shared(); }

  MysqlConnectOptions connect_options() const {
    MysqlConnectOptions options;
    options.host = server().host();
    options.port = server().port();
    options.user = server().user();
    options.database = m_database;
    return options;
  }

  MysqlSourceOptions options() const {
    MysqlSourceOptions options;
    options.connect = connect_options();
    return options;
  }

  std::unique_ptr<MysqlDatasource> open(MysqlSourceOptions custom) {
    return std::make_unique<MysqlDatasource>(std::move(custom), m_clock);
  }
  std::unique_ptr<MysqlDatasource> open() { return open(options()); }

  void sql(const std::string& text) const { server().exec(text, m_database); }
  MariadbServer::Rows query(const std::string& text) const {
    return server().query(text, m_database);
  }

  // Reads changes after `after` until `count` have arrived (or 10 s passed).
  static std::vector<sync::Change> collect(Datasource& source, std::size_t count,
                                           std::uint64_t after = 0) {
    std::vector<sync::Change> changes;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (changes.size() < count && std::chrono::steady_clock::now() < deadline) {
      source.wait_for_changes(after, 100ms);
      for (auto& change : source.read_changes(after, 10000)) {
        after = change.seq;
        changes.push_back(std::move(change));
      }
    }
    return changes;
  }

  std::string m_database;
  sync::HlcClock m_clock;
};

TEST_F(MysqlSource, WritesByAnotherConnectionArriveWithOpRowAndOldValues) {
  sql("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50), qty INT)");
  auto source = open();
  ASSERT_TRUE(source->track("items"));
  sql("INSERT INTO items VALUES (1, 'apple', 3)");
  sql("UPDATE items SET qty = 4 WHERE id = 1");
  sql("DELETE FROM items WHERE id = 1");
  auto changes = collect(*source, 3);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].op, sync::Op::insert);
  EXPECT_EQ(changes[0].row, (Row{{"id", 1}, {"name", "apple"}, {"qty", 3}}));
  EXPECT_EQ(changes[0].pk, (Row{{"id", 1}}));
  EXPECT_EQ(changes[0].stamp.node, "$db");
  EXPECT_EQ(changes[1].op, sync::Op::update);
  EXPECT_EQ(changes[1].row, (Row{{"id", 1}, {"name", "apple"}, {"qty", 4}}));
  EXPECT_EQ(changes[1].old, (Row{{"qty", 3}}));
  EXPECT_EQ(changes[2].op, sync::Op::remove);
  EXPECT_EQ(changes[2].row, (Row{{"id", 1}, {"name", "apple"}, {"qty", 4}}));
  EXPECT_LT(changes[0].stamp.hlc, changes[1].stamp.hlc);
  EXPECT_LT(changes[0].seq, changes[1].seq);
  EXPECT_EQ(source->head_seq(), changes[2].seq);
  // Moved events are gone from the events table.
  EXPECT_EQ(query("SELECT COUNT(*) FROM pub_events")[0][0], "0");
}

TEST_F(MysqlSource, ManyColumnTypesRoundTrip) {
  sql("CREATE TABLE typed (id BIGINT PRIMARY KEY, i INT, d DECIMAL(12,3), f DOUBLE, "
      "v VARCHAR(40), t TEXT, b BLOB, dt DATE, ts DATETIME(3), tz TIMESTAMP(3) NULL, j JSON, "
      "bo BOOLEAN, bits BIT(5), n INT NULL, e ENUM('a','b'), tm TIME, p POINT NULL, "
      "u BIGINT UNSIGNED)");
  auto source = open();
  auto tracked = source->track("typed");
  ASSERT_TRUE(tracked);
  EXPECT_EQ(tracked->column("d")->type, ColumnType::numeric);
  EXPECT_EQ(tracked->column("j")->type, ColumnType::json);
  EXPECT_EQ(tracked->column("b")->type, ColumnType::blob);
  EXPECT_EQ(tracked->column("ts")->type, ColumnType::timestamp);
  // The writer's session time zone must not matter for TIMESTAMP.
  sql("SET time_zone = '+05:30'; INSERT INTO typed VALUES (9007199254740993, -7, 12345.678, "
      "0.1, 'it''s \"q\" \\\\ é😀', 'long text', x'00ff0a41', '2024-02-29', "
      "'2024-01-02 03:04:05.500', '2024-01-02 08:34:05.250', '{\"a\": [1, 2.5, null]}', TRUE, "
      "b'10101', NULL, 'b', '10:11:12', POINT(1, 2), 18446744073709551615)");
  auto changes = collect(*source, 1);
  ASSERT_EQ(changes.size(), 1u);
  Row expected{{"id", std::int64_t{9007199254740993}},
               {"i", -7},
               {"d", "12345.678"},
               {"f", 0.1},
               {"v", "it's \"q\" \\ é😀"},
               {"t", "long text"},
               {"b", Blob{0x00, 0xff, 0x0a, 0x41}},
               {"dt", "2024-02-29"},
               {"ts", "2024-01-02T03:04:05.5"},
               {"tz", "2024-01-02T03:04:05.25Z"},
               {"j", "{\"a\": [1, 2.5, null]}"},
               {"bo", 1},
               {"bits", 21},
               {"n", Value{}},
               {"e", "b"},
               {"tm", "10:11:12"},
               {"p", "POINT(1 2)"},
               {"u", "18446744073709551615"}};
  EXPECT_EQ(changes[0].row, expected);
  // The snapshot reads the same values through the same conversion.
  SnapshotRequest request;
  request.table = &*tracked;
  auto page = source->read_snapshot(request);
  ASSERT_EQ(page.rows.size(), 1u);
  EXPECT_EQ(page.rows[0], expected);
}

TEST_F(MysqlSource, NamesThatNeedQuotingWork) {
  sql("CREATE TABLE `order` (`select` INT PRIMARY KEY, `from` VARCHAR(10), `we ird` INT)");
  auto source = open();
  ASSERT_TRUE(source->track("order"));
  sql("INSERT INTO `order` VALUES (1, 'x', 2)");
  auto changes = collect(*source, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].table, "order");
  EXPECT_EQ(changes[0].row, (Row{{"select", 1}, {"from", "x"}, {"we ird", 2}}));
  auto triggers = query(
      "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = "
      "DATABASE() ORDER BY TRIGGER_NAME");
  ASSERT_EQ(triggers.size(), 3u);
  EXPECT_EQ(triggers[0][0], "order_after_delete");
  EXPECT_EQ(triggers[1][0], "order_after_insert");
  EXPECT_EQ(triggers[2][0], "order_after_update");
}

TEST_F(MysqlSource, BadIdentifiersAndUntrackableTablesAreRefused) {
  sql("CREATE TABLE nokey (a INT); CREATE VIEW v AS SELECT 1 AS a");
  auto source = open();
  EXPECT_EQ(source->track("a; DROP TABLE x").error().code(), ErrorCode::invalid_identifier);
  EXPECT_EQ(source->track("tandem_changes").error().code(), ErrorCode::invalid_identifier);
  EXPECT_EQ(source->track("missing").error().code(), ErrorCode::not_found);
  EXPECT_EQ(source->track("pub_events").error().code(), ErrorCode::invalid_identifier);
  EXPECT_EQ(source->track("v").error().code(), ErrorCode::not_found);
  auto refused = source->track("nokey");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::no_primary_key);
  EXPECT_NE(refused.error().message().find("primary key"), std::string_view::npos);
  EXPECT_EQ(source->untrack("missing").error().code(), ErrorCode::not_found);
  MysqlSourceOptions bad = options();
  bad.events_table = "x`; DROP";
  EXPECT_THROW(open(bad), Error);
}

TEST_F(MysqlSource, EventsWrittenWhileClosedAreDeliveredOnceAfterReopening) {
  sql("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50))");
  std::uint64_t head = 0;
  {
    auto source = open();
    ASSERT_TRUE(source->track("items"));
    sql("INSERT INTO items VALUES (1, 'a')");
    head = collect(*source, 1).back().seq;
  }
  // Tandem is down: the triggers keep recording.
  sql("INSERT INTO items VALUES (2, 'b'); UPDATE items SET name = 'c' WHERE id = 1");
  EXPECT_EQ(query("SELECT COUNT(*) FROM pub_events")[0][0], "2");
  auto source = open();
  EXPECT_EQ(source->head_seq(), head + 2);  // moved before the constructor returned
  auto all = collect(*source, 3, 0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].row, (Row{{"id", 2}, {"name", "b"}}));
  EXPECT_EQ(all[2].op, sync::Op::update);
  EXPECT_EQ(query("SELECT COUNT(*) FROM pub_events")[0][0], "0");
  // A third start neither loses nor repeats anything, and never drops the events table.
  source.reset();
  sql("INSERT INTO items VALUES (3, 'd')");
  source = open();
  auto after = collect(*source, 4, 0);
  EXPECT_EQ(after.size(), 4u);
  EXPECT_EQ(after.back().row.at("id"), Value(3));
}

TEST_F(MysqlSource, AnEventsTableLeftByEsinkIsKeptAndItsEventsArePublished) {
  sql("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50))");
  { ASSERT_TRUE(open()->track("items")); }
  // Esink's own DDL, with an event its (never installed) trigger would have written.
  sql("DROP TABLE pub_events; CREATE TABLE pub_events (id INT AUTO_INCREMENT PRIMARY KEY, "
      "data JSON NOT NULL, table_name VARCHAR(128) NOT NULL, type VARCHAR(64) NOT NULL, "
      "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP); "
      "INSERT INTO pub_events (data, table_name, type) VALUES "
      "('{\"id\": 5, \"name\": \"from esink\"}', 'items', 'INSERT')");
  auto source = open();
  auto changes = collect(*source, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].row, (Row{{"id", 5}, {"name", "from esink"}}));
  sql("INSERT INTO items VALUES (6, 'after')");
  EXPECT_EQ(collect(*source, 2).size(), 2u);
  EXPECT_EQ(query("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                  "DATABASE() AND TABLE_NAME = 'pub_events' AND COLUMN_NAME = 'old_data'")[0][0],
            "1");
}

TEST_F(MysqlSource, CaptureResumesAfterMysqlRestarts) {
  sql("CREATE TABLE items (id INT PRIMARY KEY)");
  auto source = open();
  ASSERT_TRUE(source->track("items"));
  sql("INSERT INTO items VALUES (1)");
  ASSERT_EQ(collect(*source, 1).size(), 1u);
  server().restart();
  sql("INSERT INTO items VALUES (2)");
  auto changes = collect(*source, 2);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].row.at("id"), Value(2));
  EXPECT_TRUE(source->health().reachable);
}

TEST_F(MysqlSource, ACrashBetweenAppendAndDeleteLogsNothingTwice) {
  sql("CREATE TABLE items (id INT PRIMARY KEY)");
  // The mover's connection is killed after it appended and before it deleted: the server
  // rolls the whole batch back, and the next pass (on a new connection) moves it once.
  std::atomic<bool> armed{false};
  std::atomic<int> kills{0};
  auto custom = options();
  custom.before_delete = [&] {
    if (!armed || kills.fetch_add(1) > 0) return;
    for (const auto& row : query("SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX"))
      server().exec("KILL CONNECTION " + *row[0]);
  };
  auto source = open(custom);
  ASSERT_TRUE(source->track("items"));
  armed = true;
  sql("INSERT INTO items VALUES (1), (2), (3)");
  auto changes = collect(*source, 3);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_GE(kills.load(), 2);  // killed once, then moved by a later pass
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(source->read_changes(changes.back().seq, 10).empty());
  EXPECT_EQ(query("SELECT COUNT(*) FROM tandem_changes")[0][0], "3");
  EXPECT_EQ(query("SELECT COUNT(*) FROM pub_events")[0][0], "0");
}

TEST_F(MysqlSource, ConcurrentWritersArriveExactlyOnceInCommitOrderPerWriter) {
  sql("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, writer INT, n INT)");
  auto source = open();
  ASSERT_TRUE(source->track("items"));
  constexpr int kWriters = 4, kRows = 250;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      MysqlConnection connection(connect_options());
      for (int n = 0; n < kRows; ++n)
        connection.query("INSERT INTO items (writer, n) VALUES (?, ?)", {Value(w), Value(n)});
    });
  }
  for (auto& writer : writers)
    writer.join();
  auto changes = collect(*source, kWriters * kRows);
  ASSERT_EQ(changes.size(), static_cast<std::size_t>(kWriters * kRows));
  std::vector<std::int64_t> next(kWriters, 0);
  std::set<std::int64_t> ids;
  for (const auto& change : changes) {
    auto w = change.row.at("writer").as_integer();
    EXPECT_EQ(change.row.at("n").as_integer(), next[w]++) << "writer " << w;
    ids.insert(change.row.at("id").as_integer());
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kWriters * kRows));
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(source->read_changes(changes.back().seq, 10).empty());
}

TEST_F(MysqlSource, LookupRowsBindsTheValue) {
  sql("CREATE TABLE auth (id INT PRIMARY KEY, token VARCHAR(64)); "
      "INSERT INTO auth VALUES (1, 'secret-1'), (2, 'secret-2'), (0, 'zero')");
  auto source = open();
  auto found = source->lookup_rows("auth", "token", Value("secret-2"), 2);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->at(0).at("id"), Value(2));
  EXPECT_TRUE(source->lookup_rows("auth", "token", Value("' OR 1=1 --"), 10)->empty());
  EXPECT_TRUE(source->lookup_rows("auth", "token", Value("x' OR '1'='1"), 10)->empty());
  // MySQL would compare 'abc' = 0 as true; an integer column only matches integers.
  EXPECT_TRUE(source->lookup_rows("auth", "id", Value("abc"), 10)->empty());
  EXPECT_EQ(source->lookup_rows("auth", "id", Value("1"), 10)->size(), 1u);
  EXPECT_EQ(source->lookup_rows("auth; --", "token", Value("x"), 1).error().code(),
            ErrorCode::invalid_identifier);
  EXPECT_EQ(source->lookup_rows("auth", "to`ken", Value("x"), 1).error().code(),
            ErrorCode::invalid_identifier);
  EXPECT_EQ(source->lookup_rows("nothere", "token", Value("x"), 1).error().code(),
            ErrorCode::not_found);
  EXPECT_EQ(source->lookup_rows("auth", "nothere", Value("x"), 1).error().code(),
            ErrorCode::not_found);
}

TEST_F(MysqlSource, PushesAreRejectedAsForbiddenWithTheStoredRow) {
  sql("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(10)); "
      "INSERT INTO items VALUES (1, 'db')");
  auto source = open();
  ASSERT_TRUE(source->track("items"));
  PushRequest request;
  request.client_id = "client-1";
  request.user_id = "u";
  for (std::uint64_t seq : {5u, 6u}) {
    ClientMutation item;
    item.client_seq = seq;
    item.mutation.table = "items";
    item.mutation.op = sync::Op::update;
    item.mutation.pk = Row{{"id", seq == 5 ? 1 : 2}};
    item.mutation.values = Row{{"name", "client"}};
    request.mutations.push_back(item);
  }
  std::promise<PushResult> promise;
  source->submit(std::move(request),
                 [&](PushResult result) { promise.set_value(std::move(result)); });
  auto result = promise.get_future().get();
  EXPECT_FALSE(result.error);
  EXPECT_EQ(result.acked_seq, 6u);
  ASSERT_EQ(result.exceptions.size(), 2u);
  EXPECT_EQ(result.exceptions[0].kind, MutationOutcome::Kind::rejected);
  EXPECT_EQ(result.exceptions[0].code, ErrorCode::forbidden);
  EXPECT_EQ(result.exceptions[0].message, MysqlDatasource::kReadOnlyMessage);
  ASSERT_TRUE(result.exceptions[0].current_row);
  EXPECT_EQ(*result.exceptions[0].current_row, (Row{{"id", 1}, {"name", "db"}}));
  EXPECT_FALSE(result.exceptions[1].current_row);  // no such row
  EXPECT_EQ(query("SELECT name FROM items WHERE id = 1")[0][0], "db");
}

TEST_F(MysqlSource, ReloadPicksUpAnAddedColumnAndUntrackDropsTheTriggers) {
  sql("CREATE TABLE items (id INT PRIMARY KEY)");
  auto source = open();
  ASSERT_TRUE(source->track("items"));
  sql("ALTER TABLE items ADD COLUMN label VARCHAR(10) DEFAULT 'new'");
  auto tables = source->reload();
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_TRUE(tables[0].has_column("label"));
  sql("INSERT INTO items (id) VALUES (7)");
  auto changes = collect(*source, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].row, (Row{{"id", 7}, {"label", "new"}}));
  ASSERT_TRUE(source->untrack("items"));
  EXPECT_TRUE(source->tables().empty());
  EXPECT_EQ(query("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE "
                  "EVENT_OBJECT_SCHEMA = DATABASE()")[0][0],
            "0");
}

TEST_F(MysqlSource, PollLatencyIsAboutHalfThePollInterval) {
  sql("CREATE TABLE items (id INT PRIMARY KEY)");
  auto source = open();
  ASSERT_TRUE(source->track("items"));
  MysqlConnection writer(connect_options());
  std::vector<double> latencies;
  std::uint64_t after = source->head_seq();
  for (int i = 0; i < 40; ++i) {
    auto began = std::chrono::steady_clock::now();
    writer.query("INSERT INTO items VALUES (?)", {Value(i)});
    auto changes = collect(*source, 1, after);
    ASSERT_EQ(changes.size(), 1u);
    after = changes.back().seq;
    latencies.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began)
            .count());
    // Spread the inserts over the poll cycle: a fixed pause would lock onto its phase.
    std::this_thread::sleep_for(std::chrono::milliseconds((i * 7) % 23));
  }
  std::sort(latencies.begin(), latencies.end());
  double p50 = latencies[latencies.size() / 2];
  double p90 = latencies[latencies.size() * 9 / 10];
  std::printf(
      "[ measure ] insert -> read_changes with poll_interval 20 ms: p50 %.1f ms, p90 %.1f ms\n",
      p50, p90);
  EXPECT_LT(p50, 60.0);
}

TEST_F(MysqlSource, MovesTenThousandEventsQuickly) {
  sql("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))");
  { ASSERT_TRUE(open()->track("items")); }
  sql("INSERT INTO items SELECT seq, CONCAT('row ', seq) FROM seq_1_to_10000");
  auto began = std::chrono::steady_clock::now();
  auto source = open();  // moves the 10,000 pending events before returning
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  EXPECT_EQ(source->head_seq(), 10000u);
  std::printf("[ measure ] moved 10,000 events in %.2f s (%.0f events/s); server start %lld ms\n",
              took, 10000 / took, static_cast<long long>(server().start_time().count()));
  auto changes = collect(*source, 10000);
  ASSERT_EQ(changes.size(), 10000u);
  EXPECT_EQ(changes.back().row.at("name"), Value("row 10000"));
}

// Tables of the server's own databases are refused by name (the same check as PostgreSQL's
// catalogs and SQLite's sqlite_* tables), and so are Tandem's tandem_* tables.
TEST_F(MysqlSource, TablesOfTheServersOwnDatabaseAndTandemsAreRefusedByName) {
  {
    auto source = open();
    for (const std::string name : {"tandem_changes", "tandem_meta"})
      EXPECT_EQ(source->track(name).error().code(), ErrorCode::invalid_identifier) << name;
  }
  auto system = options();
  system.connect.database = "mysql";
  system.events_table = "t_refusal_events";
  {
    auto source = open(system);
    for (const std::string name : {"db", "user", "tables_priv"}) {
      auto tracked = source->track(name);
      ASSERT_FALSE(tracked.ok()) << name;
      EXPECT_EQ(tracked.error().code(), ErrorCode::invalid_identifier) << name;
      EXPECT_NE(tracked.error().message().find("mysql"), std::string_view::npos);
    }
    EXPECT_TRUE(source->tables().empty());
  }
  // The server is shared by the suite: leave its mysql database as it was.
  server().exec(
      "DROP TABLE IF EXISTS tandem_tracked_tables, tandem_changes, tandem_meta, t_refusal_events",
      "mysql");
}

}  // namespace
}  // namespace tandem::storage::mysql
