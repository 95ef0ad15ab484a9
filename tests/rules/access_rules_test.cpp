#include "rules/access_rules.h"

#include <gtest/gtest.h>

namespace tandem::rules {
namespace {

TableSchema products() {
  TableSchema table;
  table.name = "products";
  table.columns = {{"id", ColumnType::text, "TEXT", false, false, 1},
                   {"name", ColumnType::text, "TEXT", false, false, 0}};
  table.primary_key = {"id"};
  return table;
}

TableSchema past_orders(const std::string& owner = "owner_id",
                        ColumnType owner_type = ColumnType::text) {
  TableSchema table;
  table.name = "past_orders";
  table.columns = {{"id", ColumnType::text, "TEXT", false, false, 1},
                   {"item", ColumnType::text, "TEXT", false, false, 0},
                   {owner, owner_type, "TEXT", false, false, 0}};
  table.primary_key = {"id"};
  return table;
}

auth::Claims user(std::string id) {
  return auth::Claims{std::move(id), auth::Role::user, {}, {}};
}
auth::Claims admin() {
  return auth::Claims{"root", auth::Role::admin, {}, {}};
}

sync::Mutation insert(Row values) {
  return sync::Mutation{"past_orders", sync::Op::insert, {{"id", "o1"}}, std::move(values), {}};
}

TEST(AccessRules, TableWithTheOwnerColumnIsPrivateOthersArePublic) {
  AccessRules rules({});
  EXPECT_TRUE(rules.rule_for(past_orders()).is_private);
  EXPECT_FALSE(rules.rule_for(products()).is_private);
}

TEST(AccessRules, OwnerColumnNameIsConfigurableForRealmPgSync) {
  AccessRules rules({"realm_id"});
  EXPECT_TRUE(rules.rule_for(past_orders("realm_id")).is_private);
  EXPECT_FALSE(rules.rule_for(past_orders("owner_id")).is_private);
}

TEST(AccessRules, UsersReadPublicRowsAndOnlyTheirOwnPrivateRows) {
  AccessRules rules({});
  EXPECT_TRUE(rules.can_read(user("bob"), products(), {{"id", "p"}}));
  EXPECT_TRUE(rules.can_read(user("alice"), past_orders(), {{"owner_id", "alice"}}));
  EXPECT_FALSE(rules.can_read(user("bob"), past_orders(), {{"owner_id", "alice"}}));
  EXPECT_FALSE(rules.can_read(user("bob"), past_orders(), {{"owner_id", nullptr}}));
  EXPECT_TRUE(rules.can_read(admin(), past_orders(), {{"owner_id", "alice"}}));
}

TEST(AccessRules, SnapshotFilterIsTheUsersIdTypedLikeTheColumn) {
  AccessRules rules({});
  auto filter = rules.read_filter(user("42"), past_orders("owner_id", ColumnType::integer));
  ASSERT_TRUE(filter);
  EXPECT_EQ(filter->second, Value(42));
  EXPECT_FALSE(rules.read_filter(admin(), past_orders()));
  EXPECT_FALSE(rules.read_filter(user("bob"), products()));
}

TEST(AccessRules, UsersCannotWritePublicTablesAdminsCan) {
  AccessRules rules({});
  sync::Mutation m{"products", sync::Op::insert, {{"id", "p"}}, {{"name", "x"}}, {}};
  EXPECT_EQ(rules.authorize_write(user("bob"), products(), nullptr, m).error().code(),
            ErrorCode::forbidden);
  EXPECT_TRUE(rules.authorize_write(admin(), products(), nullptr, m).ok());
}

TEST(AccessRules, InsertWithoutOwnerGetsTheUsersId) {
  AccessRules rules({});
  auto m = insert({{"item", "pen"}});
  ASSERT_TRUE(rules.authorize_write(user("alice"), past_orders(), nullptr, m).ok());
  EXPECT_EQ(m.values.at("owner_id"), Value("alice"));
}

TEST(AccessRules, RowsCannotBeWrittenForOrGivenToAnotherUser) {
  AccessRules rules({});
  auto m = insert({{"item", "pen"}, {"owner_id", "bob"}});
  EXPECT_EQ(rules.authorize_write(user("alice"), past_orders(), nullptr, m).error().code(),
            ErrorCode::forbidden);
  Row mine{{"id", "o1"}, {"owner_id", "alice"}};
  sync::Mutation give{"past_orders", sync::Op::update, {{"id", "o1"}}, {{"owner_id", "bob"}}, {}};
  EXPECT_EQ(rules.authorize_write(user("alice"), past_orders(), &mine, give).error().code(),
            ErrorCode::forbidden);
}

TEST(AccessRules, AnotherUsersRowLooksAbsent) {
  AccessRules rules({});
  Row theirs{{"id", "o1"}, {"owner_id", "bob"}};
  sync::Mutation edit{"past_orders", sync::Op::update, {{"id", "o1"}}, {{"item", "x"}}, {}};
  sync::Mutation remove{"past_orders", sync::Op::remove, {{"id", "o1"}}, {}, {}};
  auto overwrite = insert({{"item", "x"}});
  EXPECT_EQ(rules.authorize_write(user("alice"), past_orders(), &theirs, edit).error().code(),
            ErrorCode::not_found);
  EXPECT_EQ(rules.authorize_write(user("alice"), past_orders(), &theirs, remove).error().code(),
            ErrorCode::not_found);
  EXPECT_EQ(rules.authorize_write(user("alice"), past_orders(), &theirs, overwrite).error().code(),
            ErrorCode::not_found);
  EXPECT_EQ(rules.authorize_write(user("alice"), past_orders(), nullptr, edit).error().code(),
            ErrorCode::not_found);
}

TEST(AccessRules, ChangeOfOwnerIsADeleteForTheOldOwnerAndAnInsertForTheNew) {
  AccessRules rules({});
  auto rule = rules.rule_for(past_orders());
  sync::Change change;
  change.op = sync::Op::update;
  change.row = {{"id", "o1"}, {"owner_id", "bob"}};
  change.old = {{"owner_id", "alice"}};
  EXPECT_EQ(rules.visibility(user("alice"), rule, change), Visibility::left);
  EXPECT_EQ(rules.visibility(user("bob"), rule, change), Visibility::entered);
  EXPECT_EQ(rules.visibility(user("carol"), rule, change), Visibility::hidden);
  EXPECT_EQ(rules.visibility(admin(), rule, change), Visibility::visible);
}

}  // namespace
}  // namespace tandem::rules
