// Snapshot filters on PostgreSQL's types beyond the portable ones the conformance suite uses:
// each column compares as the Value a snapshot reads back from it (docs/postgres-types.md),
// with no cast error whatever the filter's value. Arrays compare as unknown (their JSON text
// is not computed in SQL): there a snapshot passes fewer rows than memory, never more.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "storage/postgres/pg_datasource.h"
#include "storage/snapshot_filter_testing.h"
#include "support/postgres_cluster.h"

namespace tandem::storage::postgres {
namespace {

class PgFilterSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url = cluster.create_database("app");
    PostgresOptions options;
    options.url = url;
    options.capture = CaptureMode::trigger;
    source = std::make_unique<PostgresDatasource>(options, clock);
  }

  std::string psql(const std::string& sql) { return cluster.psql(sql, "app"); }

  std::vector<Row> all_rows(const TableSchema& table) {
    SnapshotRequest request;
    request.table = &table;
    request.limit = 1000;
    return source->read_snapshot(request).rows;
  }

  testing::PostgresCluster cluster;
  std::string url;
  sync::HlcClock clock;
  std::unique_ptr<PostgresDatasource> source;
};

TEST_F(PgFilterSqlTest, EveryTypeComparesAsTheValueASnapshotReadsBack) {
  psql(
      "CREATE TABLE kinds (id int PRIMARY KEY, b boolean, f4 real, f8 double precision, "
      "num numeric(10,3), ch char(5), vc varchar(5), u uuid, by bytea, d date, ts timestamp, "
      "tz timestamptz, js jsonb, arr int[], iv interval)");
  psql(
      "INSERT INTO kinds VALUES "
      "(1, true, 0.1, 0.1, 1.5, 'ab', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff', "
      " '2024-01-02', '2024-01-02 03:04:05.5', '2024-01-02 03:04:05.5+05:30', '{\"a\": 1}', "
      " '{1,2}', '1 day'), "
      "(2, false, 'NaN', 'Infinity', 'NaN', 'AB   ', 'Ab', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', "
      " '\\x', '0044-03-15 BC', '0001-01-01 00:00:00 BC', '2024-01-02 03:04:05+00', '[1, 2]', "
      " '{}', '02:00:00'), "
      "(3, NULL, '-Infinity', '-Infinity', '-1.500', 'a', 'ab ', NULL, '\\x41', 'infinity', "
      " 'infinity', '-infinity', '\"x\"', '{NULL}', NULL), "
      "(4, true, 3.4028235e38, -0.0, 12345.678, NULL, '', NULL, NULL, '10000-01-01', "
      " '10000-01-01 00:00:00.000001', '0001-01-01 00:00:00+00', 'null', NULL, NULL), "
      "(5, NULL, 7, 7, 7, '7', '7', NULL, NULL, '5874897-12-31', '294276-12-31 23:59:59.999999', "
      " '1999-12-31 23:59:59.999999-08', '7', NULL, NULL), "
      "(6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-infinity', '2024-01-02 03:04:05', "
      " '2024-01-02 03:04:05.123+00', NULL, NULL, NULL)");
  auto table = source->track("kinds");
  ASSERT_TRUE(table.ok()) << table.error().message();
  auto rows = all_rows(*table);
  ASSERT_EQ(rows.size(), 6u);

  testing::RowFilterSpace space;
  space.columns = {"b",  "f4", "f8", "num", "ch", "vc",  "u",
                   "by", "d",  "ts", "tz",  "js", "arr", "iv"};
  testing::take_column_values(space, rows);
  auto infinity = std::numeric_limits<double>::infinity();
  space.values = {Value{},
                  0,
                  1,
                  7,
                  -1,
                  7.0,
                  0.1,
                  static_cast<double>(0.1F),
                  -0.0,
                  1.5,
                  infinity,
                  -infinity,
                  std::numeric_limits<double>::quiet_NaN(),
                  "NaN",
                  "Infinity",
                  "1.5",
                  "1.500",
                  "7",
                  "ab",
                  "AB",
                  "ab   ",
                  "AB   ",
                  "true",
                  "t",
                  "abc",
                  "2024-01-02",
                  "infinity",
                  "-000043-03-15",
                  "2024-01-01T21:34:05.5Z",
                  "not a date",
                  "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                  "{}",
                  std::string("ab\0", 3),
                  Blob{0x00, 0xff},
                  Blob{},
                  Blob{'a', 'b'}};
  space.memberships = {{"kinds", "vc", "ch", Value{}}};
  space.members = {"AB", "ab", "7", Value{}};
  testing::RowsMembership lookup({{"kinds", rows}});

  // Array columns compare as unknown in SQL (their JSON text is not built there): a filter
  // reading one may pass fewer rows than in memory, never more.
  auto reads_array = [](const RowFilter& filter) {
    auto columns = filter.columns();
    return std::find(columns.begin(), columns.end(), "arr") != columns.end();
  };
  testing::expect_database_agrees_with_memory(
      1515, 400, space, rows, lookup,
      [&](const RowFilter& filter) { return testing::snapshot_ids(*source, *table, filter); },
      reads_array);
}

// Each date and timestamp equals exactly its own wire text (pg_datetime.h), and no other
// spelling of the same moment.
TEST_F(PgFilterSqlTest, DatesAndTimestampsCompareAsTheirWireText) {
  psql("CREATE TABLE moments (id int PRIMARY KEY, d date, ts timestamp(3), tz timestamptz)");
  psql(
      "INSERT INTO moments VALUES "
      "(1, '2024-01-02', '2024-01-02 03:04:05.5', '2024-01-02 03:04:05.5+05:30'), "
      "(2, '0044-03-15 BC', '0001-01-01 00:00:00 BC', '0001-01-01 00:00:00+00 BC'), "
      "(3, '10000-01-01', '10000-01-01 00:00:00.001', '2024-01-02 00:00:00-15:59'), "
      "(4, 'infinity', '-infinity', 'infinity')");
  auto table = source->track("moments");
  ASSERT_TRUE(table.ok()) << table.error().message();
  auto eq = [](const std::string& column, Value value) {
    return RowFilter::compare(column, RowFilter::Op::eq, std::move(value));
  };
  using Ids = std::vector<std::int64_t>;
  for (const auto& row : all_rows(*table)) {
    for (const auto* column : {"d", "ts", "tz"}) {
      EXPECT_EQ(testing::snapshot_ids(*source, *table, eq(column, row.at(column))),
                (Ids{row.at("id").as_integer()}))
          << column << " = " << testing::describe(row.at(column));
    }
  }
  EXPECT_EQ(testing::snapshot_ids(*source, *table, eq("d", "-000043-03-15")), (Ids{2}));
  EXPECT_EQ(testing::snapshot_ids(*source, *table, eq("d", "0044-03-15 BC")), (Ids{}));
  EXPECT_EQ(testing::snapshot_ids(*source, *table, eq("tz", "2024-01-01T21:34:05.5Z")), (Ids{1}));
  EXPECT_EQ(testing::snapshot_ids(*source, *table, eq("tz", "2024-01-01T21:34:05.500Z")), (Ids{}));
  EXPECT_EQ(testing::snapshot_ids(*source, *table, eq("tz", "2024-01-01 21:34:05.5+00")), (Ids{}));
  EXPECT_EQ(testing::snapshot_ids(*source, *table, eq("ts", "10000-01-01T00:00:00.001")), (Ids{}));
  EXPECT_EQ(testing::snapshot_ids(*source, *table, eq("ts", "+010000-01-01T00:00:00.001")),
            (Ids{3}));
}

}  // namespace
}  // namespace tandem::storage::postgres
