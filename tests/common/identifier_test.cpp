#include "common/identifier.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(Identifier, AcceptsPlainSqlNames) {
  EXPECT_TRUE(is_valid_identifier("past_orders"));
  EXPECT_TRUE(is_valid_identifier("_x9"));
}

TEST(Identifier, RefusesInjectionReservedPrefixAndOverlongNames) {
  EXPECT_FALSE(is_valid_identifier(""));
  EXPECT_FALSE(is_valid_identifier("9lives"));
  EXPECT_FALSE(is_valid_identifier("a b"));
  EXPECT_FALSE(is_valid_identifier("x\";DROP TABLE t;--"));
  EXPECT_FALSE(is_valid_identifier("tandem_changes"));
  EXPECT_FALSE(is_valid_identifier(std::string(64, 'a')));
  EXPECT_EQ(check_identifier("a-b", "table").error().code(), ErrorCode::invalid_identifier);
}

TEST(TrackableTable, SystemSchemasAndReservedTablesAreRefusedOnEveryDatabase) {
  for (auto schema : {"pg_catalog", "pg_toast", "pg_temp_3", "information_schema", "tandem",
                      "mysql", "performance_schema", "sys"}) {
    auto refused = check_trackable_table(schema, "users");
    ASSERT_FALSE(refused.ok()) << schema;
    EXPECT_EQ(refused.error().code(), ErrorCode::invalid_identifier) << schema;
    EXPECT_NE(refused.error().message().find(schema), std::string_view::npos);
  }
  for (auto table : {"sqlite_sequence", "sqlite_master", "sqlite_stat1", "tandem_changes"}) {
    EXPECT_EQ(check_trackable_table("", table).error().code(), ErrorCode::invalid_identifier)
        << table;
  }
}

TEST(TrackableTable, UserTablesInUserSchemasAreAccepted) {
  EXPECT_TRUE(check_trackable_table("", "products").ok());
  EXPECT_TRUE(check_trackable_table("public", "pg_like_name").ok());
  EXPECT_TRUE(check_trackable_table("app", "mysql_users").ok());
  EXPECT_TRUE(check_trackable_table("tandem_app", "orders").ok());
}

TEST(Identifier, QuotingDoublesEmbeddedQuotes) {
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
}

}  // namespace
}  // namespace tandem
