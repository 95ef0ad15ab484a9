#include "storage/push_applier.h"

#include <gtest/gtest.h>

#include <limits>

namespace tandem::storage {
namespace {

TableSchema orders() {
  TableSchema table;
  table.name = "orders";
  table.columns = {{"shop", ColumnType::text, "TEXT", true, false, 1},
                   {"number", ColumnType::integer, "INTEGER", true, false, 2},
                   {"item", ColumnType::text, "TEXT", false, false, 0}};
  table.primary_key = {"shop", "number"};
  return table;
}

sync::Mutation make(sync::Op op, Row pk, Row values = {}) {
  return sync::Mutation{"orders", op, std::move(pk), std::move(values), {}};
}

TEST(MutationValidation, AcceptsAMutationNamingTheWholeKey) {
  EXPECT_TRUE(validate_mutation(
                  orders(), make(sync::Op::insert, {{"shop", "a"}, {"number", 1}}, {{"item", "x"}}))
                  .ok());
}

TEST(MutationValidation, RefusesAPartialKeyANullKeyOrAnUnknownKeyColumn) {
  EXPECT_FALSE(validate_mutation(orders(), make(sync::Op::remove, {{"shop", "a"}})).ok());
  EXPECT_FALSE(
      validate_mutation(orders(), make(sync::Op::remove, {{"shop", "a"}, {"number", nullptr}}))
          .ok());
  EXPECT_FALSE(
      validate_mutation(orders(), make(sync::Op::remove, {{"shop", "a"}, {"item", 1}})).ok());
}

TEST(MutationValidation, RefusesUnknownColumnsKeyChangesAndEmptyUpdates) {
  auto key = Row{{"shop", "a"}, {"number", 1}};
  EXPECT_EQ(
      validate_mutation(orders(), make(sync::Op::update, key, {{"colour", "red"}})).error().code(),
      ErrorCode::invalid_mutation);
  EXPECT_FALSE(validate_mutation(orders(), make(sync::Op::update, key, {{"number", 2}})).ok());
  EXPECT_FALSE(validate_mutation(orders(), make(sync::Op::update, key, {})).ok());
  EXPECT_FALSE(validate_mutation(orders(), make(sync::Op::remove, key, {{"item", "x"}})).ok());
}

TEST(MutationValidation, RefusesNonFiniteNumbersInTheKeyOrTheValues) {
  auto nan = std::numeric_limits<double>::quiet_NaN();
  auto infinity = std::numeric_limits<double>::infinity();
  EXPECT_EQ(validate_mutation(orders(), make(sync::Op::remove, {{"shop", "a"}, {"number", nan}}))
                .error()
                .code(),
            ErrorCode::invalid_mutation);
  EXPECT_FALSE(validate_mutation(orders(), make(sync::Op::update, {{"shop", "a"}, {"number", 1}},
                                                {{"item", infinity}}))
                   .ok());
  EXPECT_TRUE(validate_mutation(
                  orders(), make(sync::Op::update, {{"shop", "a"}, {"number", 1}}, {{"item", 2.5}}))
                  .ok());
}

TEST(ClientId, AcceptsLettersDigitsDashAndUnderscoreOnly) {
  EXPECT_TRUE(check_client_id("phone-1_A").ok());
  EXPECT_FALSE(check_client_id("").ok());
  EXPECT_FALSE(check_client_id("$db").ok());
  EXPECT_FALSE(check_client_id("a b").ok());
  EXPECT_FALSE(check_client_id(std::string(65, 'a')).ok());
}

}  // namespace
}  // namespace tandem::storage
