// Snapshot filters on MySQL's and MariaDB's types beyond the portable ones the conformance
// suite uses: each column compares as the Value a snapshot reads back from it
// (mysql_rows.h), with neither the collation's rules nor MySQL's conversions of strings
// into numbers.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "storage/mysql/mysql_datasource.h"
#include "storage/snapshot_filter_testing.h"
#include "support/mariadb_server.h"

namespace tandem::storage::mysql {
namespace {

using testing::MariadbServer;

class MysqlFilterSql : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    m_database = "f_" + name.substr(0, 60);
    server().create_database(m_database);
    MysqlSourceOptions options;
    options.connect.host = server().host();
    options.connect.port = server().port();
    options.connect.user = server().user();
    options.connect.database = m_database;
    options.poll_interval = std::chrono::milliseconds(5);
    source = std::make_unique<MysqlDatasource>(options, clock);
  }

  static MariadbServer& server() { return MariadbServer::shared(); }
  void sql(const std::string& text) const { server().exec(text, m_database); }

  std::vector<Row> all_rows(const TableSchema& table) {
    SnapshotRequest request;
    request.table = &table;
    request.limit = 1000;
    return source->read_snapshot(request).rows;
  }

  std::string m_database;
  sync::HlcClock clock;
  std::unique_ptr<MysqlDatasource> source;
};

TEST_F(MysqlFilterSql, EveryTypeComparesAsTheValueASnapshotReadsBack) {
  sql("CREATE TABLE kinds (id INT PRIMARY KEY, flag BOOLEAN, y YEAR, big BIGINT UNSIGNED, "
      "bits BIT(64), f FLOAT, num DECIMAL(10,3), e ENUM('a','B','c '), tm TIME(3), "
      "bin BINARY(3), vb VARBINARY(10), js JSON, d DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL, "
      "latin VARCHAR(10) CHARACTER SET latin1)");
  sql("INSERT INTO kinds VALUES "
      "(1, 1, 2024, 18446744073709551615, b'1', 0.1, 1.5, 'a', '12:34:56.5', 'ab', 'ab', "
      " '{\"a\": 1}', '2024-01-02', '2024-01-02 03:04:05.5', '2024-01-02 03:04:05.5', 'é'), "
      "(2, 0, 1999, 7, 18446744073709551615, 7, -1.5, 'B', '-01:00:00', 'a', '', '[1, 2]', "
      " '1000-01-01', '2024-01-02 03:04:05', '1999-12-31 23:59:59.999', 'E'), "
      "(3, NULL, NULL, 9223372036854775808, 7, -0.5, 12345.678, 'c ', '00:00:00', NULL, "
      " 'a ', '\"x\"', '9999-12-31', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01', 'e '), "
      "(4, 1, 2000, 0, NULL, NULL, NULL, NULL, NULL, 'AB', 'AB', 'null', NULL, NULL, NULL, NULL)");
  auto table = source->track("kinds");
  ASSERT_TRUE(table.ok()) << table.error().message();
  auto rows = all_rows(*table);
  ASSERT_EQ(rows.size(), 4u);

  testing::RowFilterSpace space;
  space.columns = {"flag", "y",  "big", "bits", "f",  "num", "e",    "tm",
                   "bin",  "vb", "js",  "d",    "dt", "ts",  "latin"};
  testing::take_column_values(space, rows);
  space.values = {Value{},
                  0,
                  1,
                  7,
                  24,
                  2024,
                  -1,
                  7.0,
                  0.1,
                  static_cast<double>(0.1F),
                  -0.5,
                  std::numeric_limits<double>::infinity(),
                  "1",
                  "7",
                  "abc",
                  "a",
                  "A",
                  "a ",
                  "b",
                  "c",
                  "1.5",
                  "1.500",
                  "2024",
                  "2024-01-02",
                  "2024-01-02 03:04:05.5",
                  "12:34:56.5",
                  "e",
                  "É",
                  "18446744073709551615",
                  Blob{'a', 'b'},
                  Blob{'a', 'b', 0},
                  Blob{},
                  std::string("a\0", 2)};
  space.memberships = {{"kinds", "latin", "e", Value{}}, {"kinds", "big", "num", Value{}}};
  space.members = {"a", "A", "c ", "1.500", Value{}};
  testing::RowsMembership lookup({{"kinds", rows}});

  testing::expect_database_agrees_with_memory(
      1516, 400, space, rows, lookup,
      [&](const RowFilter& filter) { return testing::snapshot_ids(*source, *table, filter); });
}

}  // namespace
}  // namespace tandem::storage::mysql
