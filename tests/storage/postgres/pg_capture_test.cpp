// The capture path's fold of outside changes (record_changes) against a real cluster: a
// flush folds all its changes in bulk, and the result is the fold of each change in turn.
#include "storage/postgres/pg_capture.h"

#include <gtest/gtest.h>

#include "storage/postgres/pg_schema.h"
#include "support/postgres_cluster.h"
#include "sync/row_state_codec.h"

namespace tandem::storage::postgres {
namespace {

using sync::Op;
using testing::PostgresCluster;

// Two databases with the same table, and clocks that give both the same stamps.
class PostgresCaptureFoldTest : public ::testing::Test {
 protected:
  struct Side {
    std::unique_ptr<PgConnection> connection;
    PgTable table;
    sync::HlcClock clock{std::chrono::seconds(60), [] { return std::uint64_t{1'700'000'000'000}; }};
  };

  void SetUp() override {
    open(bulk, "bulk");
    open(one_by_one, "single");
  }

  void open(Side& side, const std::string& name) {
    auto url = cluster.create_database(name);
    cluster.psql("CREATE TABLE items (id text PRIMARY KEY, name text, qty int)", name);
    side.connection = std::make_unique<PgConnection>(ConnectOptions{url});
    create_tandem_tables(*side.connection);
    auto table = introspect(*side.connection, "items");
    ASSERT_TRUE(table.ok()) << table.error().message();
    side.table = std::move(*table);
  }

  std::vector<LogRecord> record(Side& side, std::vector<CapturedChange> changes) {
    PgTableLookup lookup = [&side](std::string_view name) -> const PgTable* {
      return name == "items" ? &side.table : nullptr;
    };
    side.connection->exec("BEGIN");
    auto records = record_changes(*side.connection, lookup, side.clock, std::move(changes));
    side.connection->exec("COMMIT");
    return records;
  }

  static std::string metadata(Side& side) {
    auto result =
        side.connection->exec("SELECT tbl, pk, state, writer_xid FROM tandem.rows ORDER BY 1, 2");
    std::string text;
    for (int row = 0; row < result.rows(); ++row) {
      for (int column = 0; column < result.columns(); ++column)
        text +=
            std::string(result.text(row, column)) + (column + 1 < result.columns() ? "|" : "\n");
    }
    return text;
  }

  static Row item(std::string id, std::optional<std::string> name, std::optional<int> qty) {
    return Row{{"id", Value(std::move(id))},
               {"name", name ? Value(*name) : Value{}},
               {"qty", qty ? Value(*qty) : Value{}}};
  }

  static CapturedChange change(Op op, std::optional<Row> new_row, std::optional<Row> old_row,
                               std::int64_t xid) {
    CapturedChange captured;
    captured.table = "items";
    captured.op = op;
    captured.new_row = std::move(new_row);
    captured.old_row = std::move(old_row);
    captured.writer_xid = xid;
    captured.at_ms = 1'700'000'000'000;
    return captured;
  }

  // Several changes to one key (with a delete and a re-insert), a change of another key, a
  // change stamped by Tandem (not folded) and one to an untracked table (dropped).
  static std::vector<CapturedChange> flush() {
    std::vector<CapturedChange> changes;
    changes.push_back(change(Op::update, item("a", "Apple", 2), item("a", "Apple", 1), 101));
    changes.push_back(change(Op::update, item("a", "Apricot", 2), item("a", "Apple", 2), 102));
    changes.push_back(change(Op::insert, item("b", "Bread", 1), std::nullopt, 102));
    auto stamped = change(Op::update, item("b", "Bun", 1), item("b", "Bread", 1), 103);
    stamped.stamp = sync::Stamp{sync::Hlc::from_parts(1'600'000'000'000, 0), "c1"};
    changes.push_back(std::move(stamped));
    changes.push_back(change(Op::remove, std::nullopt, item("a", "Apricot", 2), 104));
    changes.push_back(change(Op::insert, item("a", "Avocado", 3), std::nullopt, 105));
    changes.push_back(change(Op::update, item("a", "Avocado", 5), item("a", "Avocado", 3), 106));
    changes.push_back(change(Op::update, item("c", "Bun", 1), item("b", "Bun", 1), 107));
    changes.push_back(change(Op::update, item("c", "Cherry", 4), item("c", "Bun", 1), 108));
    auto untracked = change(Op::insert, item("z", "Zest", 1), std::nullopt, 108);
    untracked.table = "gone";
    changes.push_back(std::move(untracked));
    return changes;
  }

  PostgresCluster cluster;
  Side bulk;
  Side one_by_one;
};

TEST_F(PostgresCaptureFoldTest, AFlushFoldsItsChangesInCommitOrderLikeOneByOne) {
  // Metadata that exists before the flush is folded onto, not replaced.
  for (auto* side : {&bulk, &one_by_one})
    record(*side, {change(Op::insert, item("a", "Apple", 1), std::nullopt, 100)});

  auto records = record(bulk, flush());
  std::size_t count = 0;
  for (auto& captured : flush()) {
    record(one_by_one, {std::move(captured)});
    ++count;
  }
  ASSERT_EQ(count, 10u);
  ASSERT_EQ(records.size(), 9u);  // the untracked table's change is dropped
  EXPECT_EQ(records[3].stamp.node, "c1");
  EXPECT_EQ(records[0].stamp.node, "$db");
  EXPECT_LT(records[0].stamp, records[1].stamp);

  auto folded = metadata(bulk);
  EXPECT_EQ(folded, metadata(one_by_one));
  // a: deleted, re-inserted and updated within the flush, on top of its older history.
  auto a = bulk.connection->exec(
      "SELECT state, writer_xid FROM tandem.rows WHERE tbl = 'items' AND pk = '[\"a\"]'");
  ASSERT_EQ(a.rows(), 1);
  EXPECT_EQ(a.integer(0, 1), 106);
  Row live_a = item("a", "Avocado", 5);
  auto a_state = sync::decode_row_state(a.text(0, 0), &live_a);
  ASSERT_TRUE(a_state.ok());
  EXPECT_EQ(a_state->insert_stamp, records[5].stamp);
  EXPECT_EQ(a_state->delete_stamp, records[4].stamp);
  EXPECT_EQ(a_state->stamps.at("qty"), records[6].stamp);
  // b: inserted, then its key changed to c (a delete of b, an insert of c), then c updated.
  auto b = bulk.connection->exec(
      "SELECT state, writer_xid FROM tandem.rows WHERE tbl = 'items' AND pk = '[\"b\"]'");
  ASSERT_EQ(b.rows(), 1);
  EXPECT_EQ(b.integer(0, 1), 107);
  auto b_state = sync::decode_row_state(b.text(0, 0), nullptr);
  ASSERT_TRUE(b_state.ok());
  EXPECT_EQ(b_state->delete_stamp, records[7].stamp);
  auto c = bulk.connection->exec(
      "SELECT state, writer_xid FROM tandem.rows WHERE tbl = 'items' AND pk = '[\"c\"]'");
  ASSERT_EQ(c.rows(), 1);
  EXPECT_EQ(c.integer(0, 1), 108);
  Row live_c = item("c", "Cherry", 4);
  auto c_state = sync::decode_row_state(c.text(0, 0), &live_c);
  ASSERT_TRUE(c_state.ok());
  EXPECT_EQ(c_state->insert_stamp, records[7].stamp);
  EXPECT_EQ(c_state->stamps.at("name"), records[8].stamp);
}

TEST_F(PostgresCaptureFoldTest, AFlushWithoutOutsideChangesWritesNoMetadata) {
  auto stamped = change(Op::insert, item("b", "Bread", 1), std::nullopt, 100);
  stamped.stamp = sync::Stamp{sync::Hlc::from_parts(1'600'000'000'000, 0), "c1"};
  auto records = record(bulk, {std::move(stamped)});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(metadata(bulk), "");
}

}  // namespace
}  // namespace tandem::storage::postgres
