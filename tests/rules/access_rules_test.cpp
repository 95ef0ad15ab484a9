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
  auth::Claims claims;
  claims.subject = std::move(id);
  return claims;
}
auth::Claims admin() {
  auth::Claims claims;
  claims.subject = "root";
  claims.role = auth::Role::admin;
  claims.role_name = "admin";
  return claims;
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

TEST(OwnerValue, AnIntegerOwnerIsOnlyTheCanonicalDecimalForm) {
  EXPECT_EQ(owner_value("7", ColumnType::integer), Value(7));
  EXPECT_EQ(owner_value("-7", ColumnType::integer), Value(-7));
  EXPECT_EQ(owner_value("0", ColumnType::integer), Value(0));
  for (const char* impostor : {"07", "+7", "7.0", " 7", "7 ", "7e0", "-0", "", "seven"}) {
    EXPECT_TRUE(owner_value(impostor, ColumnType::integer).is_null()) << "'" << impostor << "'";
  }
}

TEST(OwnerValue, ATextOwnerIsTheIdByteForByteAndOtherTypesOwnNothing) {
  EXPECT_EQ(owner_value("Alice@X ", ColumnType::text), Value("Alice@X "));
  EXPECT_EQ(owner_value("7", ColumnType::any), Value("7"));
  EXPECT_EQ(owner_value("0f0e8a44-6c4e-4b8e-9c4a-1b2c3d4e5f60", ColumnType::uuid),
            Value("0f0e8a44-6c4e-4b8e-9c4a-1b2c3d4e5f60"));
  EXPECT_TRUE(owner_value("0F0E8A44-6C4E-4B8E-9C4A-1B2C3D4E5F60", ColumnType::uuid).is_null());
  EXPECT_TRUE(owner_value("1", ColumnType::boolean).is_null());
  EXPECT_TRUE(owner_value("7", ColumnType::real).is_null());
}

TEST(AccessRules, OwnersCompareExactlyOnEveryPath) {
  AccessRules rules({});
  auto numbered = past_orders("owner_id", ColumnType::integer);
  Row sevens{{"id", "o1"}, {"owner_id", 7}};
  EXPECT_TRUE(rules.can_read(user("7"), numbered, sevens));
  EXPECT_FALSE(rules.can_read(user("07"), numbered, sevens));
  EXPECT_FALSE(rules.can_read(user("7.0"), numbered, sevens));
  EXPECT_TRUE(rules.read_filter(user("07"), numbered)->second.is_null()) << "matches no row";
  auto mutation = insert({{"item", "x"}});
  EXPECT_EQ(rules.authorize_write(user("07"), numbered, nullptr, mutation).error().code(),
            ErrorCode::forbidden);
  auto given = insert({{"owner_id", "7"}});  // text, in an integer column
  EXPECT_EQ(rules.authorize_write(user("7"), numbered, nullptr, given).error().code(),
            ErrorCode::forbidden);
  EXPECT_FALSE(rules.can_read(user("ALICE"), past_orders(), {{"owner_id", "alice"}}));
}

TEST(AccessRules, AWriteMustLeaveARowTheWriterOwnsBuiltOnlyFromWhatTheyMayRead) {
  AccessRules rules({});
  Row mine{{"id", "o1"}, {"owner_id", "alice"}, {"item", "x"}};
  Row bobs{{"id", "o1"}, {"owner_id", "bob"}, {"item", "x"}};
  EXPECT_TRUE(rules.authorize_result(user("alice"), past_orders(), mine, false).ok());
  EXPECT_EQ(rules.authorize_result(user("alice"), past_orders(), bobs, false).error().code(),
            ErrorCode::not_found);
  EXPECT_EQ(rules.authorize_result(user("alice"), past_orders(), mine, true).error().code(),
            ErrorCode::not_found);
  EXPECT_TRUE(rules.authorize_result(admin(), past_orders(), bobs, true).ok());
}

}  // namespace
}  // namespace tandem::rules
