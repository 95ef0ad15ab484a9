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

MutationOutcome superseded(std::uint64_t seq, std::string id, std::size_t value_bytes) {
  MutationOutcome outcome;
  outcome.client_seq = seq;
  outcome.kind = MutationOutcome::Kind::superseded;
  outcome.table = "orders";
  outcome.pk = {{"id", id}};
  outcome.current_row = Row{{"id", id}, {"item", std::string(value_bytes, 'x')}};
  return outcome;
}

TEST(RowEchoes, AnAckEchoesEachRowOnceOnTheLastExceptionAboutIt) {
  RowEchoes echoes;
  std::vector<MutationOutcome> exceptions;
  for (std::uint64_t seq = 1; seq <= 100; ++seq) {
    exceptions.push_back(superseded(seq, seq % 2 ? "a" : "b", 1000));
    echoes.add(exceptions);
  }
  for (std::size_t i = 0; i < 98; ++i) {
    EXPECT_FALSE(exceptions[i].current_row) << i;
    EXPECT_TRUE(exceptions[i].row_omitted) << i;
  }
  EXPECT_TRUE(exceptions[98].current_row);
  EXPECT_TRUE(exceptions[99].current_row);
  EXPECT_FALSE(exceptions[99].row_omitted);
}

TEST(RowEchoes, AnAckEchoesAtMostItsByteBoundOfRows) {
  RowEchoes echoes;
  std::vector<MutationOutcome> exceptions;
  constexpr std::size_t kRow = 300 * 1024;
  for (std::uint64_t seq = 1; seq <= 10; ++seq) {
    exceptions.push_back(superseded(seq, "k" + std::to_string(seq), kRow));
    echoes.add(exceptions);
  }
  std::size_t echoed_bytes = 0;
  for (const auto& exception : exceptions) {
    if (exception.current_row) echoed_bytes += exception.current_row->at("item").as_text().size();
    EXPECT_NE(exception.current_row.has_value(), exception.row_omitted);
  }
  EXPECT_GE(echoed_bytes, RowEchoes::kMaxEchoedRowBytes - kRow) << "the first rows are echoed";
  EXPECT_LE(echoed_bytes, RowEchoes::kMaxEchoedRowBytes + kRow) << "up to the bound";
  EXPECT_TRUE(exceptions.front().current_row);
  EXPECT_FALSE(exceptions.back().current_row);
}

TEST(RowEchoes, NoRowToEchoIsNotAnOmission) {
  RowEchoes echoes;
  std::vector<MutationOutcome> exceptions{superseded(1, "a", 10)};
  exceptions.back().current_row.reset();  // the row no longer exists
  echoes.add(exceptions);
  EXPECT_FALSE(exceptions.back().row_omitted);
}

TEST(RowEchoes, ARowALaterMutationOfThePushAppliedToIsNotEchoed) {
  RowEchoes echoes;
  std::vector<MutationOutcome> exceptions;
  exceptions.push_back(superseded(1, "a", 10));
  exceptions.back().current_row.reset();  // "a" did not exist when mutation 1 was merged
  echoes.add(exceptions);
  exceptions.push_back(superseded(2, "b", 10));
  echoes.add(exceptions);
  echoes.applied("orders", {{"id", "a"}}, exceptions);  // mutation 3 revived "a"
  EXPECT_FALSE(exceptions[0].current_row);
  EXPECT_TRUE(exceptions[0].row_omitted) << "a null row would tell the client 'a' is gone";
  EXPECT_TRUE(exceptions[1].current_row) << "another row keeps its echo";

  exceptions.push_back(superseded(4, "a", 10));  // a later exception about "a" echoes again
  echoes.add(exceptions);
  EXPECT_TRUE(exceptions[2].current_row);
  EXPECT_FALSE(exceptions[2].row_omitted);
}

}  // namespace
}  // namespace tandem::storage
