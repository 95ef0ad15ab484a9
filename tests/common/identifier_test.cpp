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

TEST(Identifier, QuotingDoublesEmbeddedQuotes) {
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
}

}  // namespace
}  // namespace tandem
