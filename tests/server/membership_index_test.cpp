// The membership index: what the rules' membership tables hold, in memory, in step with the
// change stream.
#include "server/membership_index.h"

#include <gtest/gtest.h>

#include "storage/sqlite/sqlite_datasource.h"
#include "support/temp_dir.h"

namespace tandem::server {
namespace {

using sync::Op;

const RowFilter::Membership kListMembers{"list_members", "list_id", "user_id", Value{}};

RowFilter::Membership of(Value member) {
  auto membership = kListMembers;
  membership.member = std::move(member);
  return membership;
}

sync::Change change(Op op, Row row, Row old = {}) {
  sync::Change change;
  change.table = "list_members";
  change.op = op;
  change.pk = {{"id", row.at("id")}};
  change.row = std::move(row);
  change.old = std::move(old);
  return change;
}

// A SQLite datasource in a temporary directory.
struct Database {
  Database() : source(options(dir), clock) {}
  static storage::sqlite::SqliteOptions options(const testing::TempDir& dir) {
    storage::sqlite::SqliteOptions options;
    options.path = dir.file("tandem.db");
    return options;
  }
  testing::TempDir dir;
  sync::HlcClock clock;
  storage::sqlite::SqliteDatasource source;
};

TEST(MembershipIndex, StartsFromTheTablesRowsThenFollowsTheirChanges) {
  Database database;
  auto& source = database.source;
  source.execute(
      "CREATE TABLE list_members (id TEXT PRIMARY KEY, list_id TEXT, user_id TEXT);"
      "INSERT INTO list_members VALUES ('m1', 'groceries', 'alice'), ('m2', 'work', 'bob'),"
      "('m3', 'work', 'alice'), ('m4', NULL, 'carol');");
  ASSERT_TRUE(source.track("list_members").ok());
  MembershipIndex index({kListMembers});
  index.starting(source);
  EXPECT_TRUE(index.contains(of("alice"), "groceries"));
  EXPECT_TRUE(index.contains(of("alice"), "work"));
  EXPECT_FALSE(index.contains(of("bob"), "groceries"));
  EXPECT_EQ(index.keys(kListMembers, "alice"), (std::vector<Value>{"groceries", "work"}));
  EXPECT_TRUE(index.keys(kListMembers, "carol").empty()) << "a NULL key is no group";

  index.before_publish(
      {change(Op::insert, {{"id", "m5"}, {"list_id", "groceries"}, {"user_id", "bob"}}),
       change(Op::remove, {{"id", "m3"}, {"list_id", "work"}, {"user_id", "alice"}}),
       change(Op::update, {{"id", "m2"}, {"list_id", "home"}, {"user_id", "bob"}},
              {{"list_id", "work"}})});
  EXPECT_TRUE(index.contains(of("bob"), "groceries"));
  EXPECT_FALSE(index.contains(of("alice"), "work"));
  EXPECT_FALSE(index.contains(of("bob"), "work")) << "moved to another list";
  EXPECT_TRUE(index.contains(of("bob"), "home"));
  EXPECT_FALSE(index.contains(of(Value{}), "home"));
  source.close();
}

TEST(MembershipIndex, AMemberListedTwiceInAGroupStaysUntilTheLastRowGoes) {
  MembershipIndex index({kListMembers});
  index.before_publish({change(Op::insert, {{"id", "m1"}, {"list_id", "L"}, {"user_id", "ann"}}),
                        change(Op::insert, {{"id", "m2"}, {"list_id", "L"}, {"user_id", "ann"}}),
                        change(Op::remove, {{"id", "m1"}, {"list_id", "L"}, {"user_id", "ann"}})});
  EXPECT_TRUE(index.contains(of("ann"), "L"));
  index.before_publish({change(Op::remove, {{"id", "m2"}, {"list_id", "L"}, {"user_id", "ann"}})});
  EXPECT_FALSE(index.contains(of("ann"), "L"));
}

// The publisher reads a table after taking the log's head, so the changes after the head that
// the read already holds are applied again: that must not count a row twice.
TEST(MembershipIndex, AChangeTheTableReadAlreadyHeldIsAppliedAgainWithoutEffect) {
  MembershipIndex index({kListMembers});
  auto joined = change(Op::insert, {{"id", "m1"}, {"list_id", "L"}, {"user_id", "ann"}});
  index.before_publish({joined});
  index.before_publish({joined});
  index.before_publish({change(Op::remove, {{"id", "m1"}, {"list_id", "L"}, {"user_id", "ann"}})});
  EXPECT_FALSE(index.contains(of("ann"), "L")) << "one row, one removal";
}

TEST(MembershipIndex, AnUpdateThatChangesTheKeyColumnMovesTheRow) {
  MembershipIndex index({kListMembers});
  index.before_publish({change(Op::insert, {{"id", "m1"}, {"list_id", "L"}, {"user_id", "ann"}})});
  auto moved =
      change(Op::update, {{"id", "m9"}, {"list_id", "L"}, {"user_id", "ann"}}, {{"id", "m1"}});
  index.before_publish({moved});
  index.before_publish({change(Op::remove, {{"id", "m9"}, {"list_id", "L"}, {"user_id", "ann"}})});
  EXPECT_FALSE(index.contains(of("ann"), "L")) << "the row under its old key is gone too";
}

// A membership table tracked after publishing started, or declared by a rules reload, is read
// in full: the index agrees with the SQL a snapshot runs.
TEST(MembershipIndex, ReadsADeclaredTableOnceItIsTrackedAndANewlyDeclaredOne) {
  Database database;
  auto& source = database.source;
  source.execute(
      "CREATE TABLE list_members (id TEXT PRIMARY KEY, list_id TEXT, user_id TEXT);"
      "INSERT INTO list_members VALUES ('m1', 'groceries', 'alice');"
      "CREATE TABLE team (id TEXT PRIMARY KEY, project TEXT, member TEXT);"
      "INSERT INTO team VALUES ('t1', 'apollo', 'bob');");
  MembershipIndex index({kListMembers});
  index.starting(source);
  EXPECT_FALSE(index.contains(of("alice"), "groceries")) << "not tracked yet";
  ASSERT_TRUE(source.track("list_members").ok());
  index.tables_read(source, source.tables());
  EXPECT_TRUE(index.contains(of("alice"), "groceries"));

  const RowFilter::Membership team{"team", "project", "member", Value{}};
  ASSERT_TRUE(source.track("team").ok());
  index.declare({team}, source);
  auto bob = team;
  bob.member = "bob";
  EXPECT_TRUE(index.contains(bob, "apollo"));
  EXPECT_FALSE(index.contains(of("alice"), "groceries")) << "no longer declared";
  source.close();
}

TEST(MembershipIndex, ValuesCompareExactly) {
  MembershipIndex index({kListMembers});
  index.before_publish({change(Op::insert, {{"id", "m1"}, {"list_id", 7}, {"user_id", "Alice"}})});
  EXPECT_FALSE(index.contains(of("alice"), 7)) << "no collation";
  EXPECT_FALSE(index.contains(of("Alice"), "7")) << "text never equals 7";
  EXPECT_TRUE(index.contains(of("Alice"), 7));
}

}  // namespace
}  // namespace tandem::server
