// RowFilter in memory: SQL's semantics (exact comparisons, NULL unknown, Kleene logic), which
// every datasource's SQL form of a filter must share (tests/storage: the conformance suite).
#include "common/row_filter.h"

#include <gtest/gtest.h>

#include <set>

#include "common/error.h"

namespace tandem {
namespace {

using Op = RowFilter::Op;

// list_members as a set of (list_id, user_id).
class Members final : public MembershipLookup {
 public:
  explicit Members(std::set<std::pair<std::string, std::string>> rows) : m_rows(std::move(rows)) {}
  bool contains(const RowFilter::Membership& membership, const Value& key) const override {
    return key.kind() == Value::Kind::text && membership.member.kind() == Value::Kind::text &&
           m_rows.contains({key.as_text(), membership.member.as_text()});
  }

 private:
  std::set<std::pair<std::string, std::string>> m_rows;
};

RowFilter::Membership list_members(Value user) {
  return {"list_members", "list_id", "user_id", std::move(user)};
}

TEST(RowFilter, ComparisonsAreExactAcrossKindsAndCaseButNumericAcrossIntegerAndReal) {
  Row row{{"n", 7}, {"x", 2.5}, {"name", "Alice"}};
  EXPECT_TRUE(passes(RowFilter::compare("n", Op::eq, 7), row));
  EXPECT_TRUE(passes(RowFilter::compare("n", Op::eq, 7.0), row));
  EXPECT_FALSE(passes(RowFilter::compare("n", Op::eq, "7"), row)) << "text never equals 7";
  EXPECT_FALSE(passes(RowFilter::compare("name", Op::eq, "alice"), row)) << "no collation";
  EXPECT_FALSE(passes(RowFilter::compare("name", Op::eq, "Alice "), row)) << "no trimming";
  EXPECT_TRUE(passes(RowFilter::compare("x", Op::lt, 3), row));
  EXPECT_TRUE(passes(RowFilter::compare("name", Op::lt, "a"), row)) << "byte order: 'A' < 'a'";
  EXPECT_TRUE(passes(RowFilter::compare("n", Op::ge, 7), row));
  EXPECT_FALSE(passes(RowFilter::compare("n", Op::ne, 7), row));
}

TEST(RowFilter, NullComparesUnknownSoNeitherAFilterNorItsNegationPassesIt) {
  Row row{{"owner", Value{}}};
  auto mine = RowFilter::compare("owner", Op::eq, "alice");
  EXPECT_EQ(evaluate(mine, row, nullptr), Truth::unknown);
  EXPECT_FALSE(passes(mine, row));
  EXPECT_FALSE(passes(RowFilter::negation(mine), row)) << "NOT unknown is unknown, as in SQL";
  EXPECT_FALSE(passes(RowFilter::compare("missing", Op::ne, 1), row)) << "absent reads as NULL";
  EXPECT_TRUE(passes(RowFilter::is_null("owner"), row));
  EXPECT_FALSE(passes(RowFilter::is_null("owner", false), row));
}

TEST(RowFilter, AndOrAreThreeValued) {
  Row row{{"a", 1}, {"b", Value{}}};
  auto a_is_1 = RowFilter::compare("a", Op::eq, 1);
  auto a_is_2 = RowFilter::compare("a", Op::eq, 2);
  auto b_is_1 = RowFilter::compare("b", Op::eq, 1);
  EXPECT_EQ(evaluate(RowFilter::any_of({b_is_1, a_is_1}), row, nullptr), Truth::yes);
  EXPECT_EQ(evaluate(RowFilter::any_of({b_is_1, a_is_2}), row, nullptr), Truth::unknown);
  EXPECT_EQ(evaluate(RowFilter::all_of({b_is_1, a_is_2}), row, nullptr), Truth::no);
  EXPECT_EQ(evaluate(RowFilter::all_of({b_is_1, a_is_1}), row, nullptr), Truth::unknown);
  EXPECT_TRUE(passes(RowFilter::all_of({}), row));
  EXPECT_FALSE(passes(RowFilter::any_of({}), row));
}

TEST(RowFilter, InValuesIsTrueOnAnyEqualElementAndUnknownOnNull) {
  Row row{{"tag", "b"}, {"none", Value{}}};
  EXPECT_TRUE(passes(RowFilter::in_values("tag", {"a", "b"}), row));
  EXPECT_FALSE(passes(RowFilter::in_values("tag", {"a", "c"}), row));
  EXPECT_FALSE(passes(RowFilter::in_values("tag", {}), row));
  EXPECT_EQ(evaluate(RowFilter::in_values("none", {"a"}), row, nullptr), Truth::unknown);
}

TEST(RowFilter, MembershipPassesTheKeysOfTheMembersListsOnly) {
  Members members({{"groceries", "alice"}, {"work", "bob"}});
  auto alices = RowFilter::in_membership("list_id", list_members("alice"));
  EXPECT_TRUE(passes(alices, Row{{"list_id", "groceries"}}, &members));
  EXPECT_FALSE(passes(alices, Row{{"list_id", "work"}}, &members));
  EXPECT_FALSE(passes(alices, Row{{"list_id", Value{}}}, &members));
  EXPECT_TRUE(passes(RowFilter::negation(alices), Row{{"list_id", Value{}}}, &members))
      << "a NULL key is plainly not a member (compiled: column IS NOT NULL AND ...)";
  auto nobody = RowFilter::in_membership("list_id", list_members(Value{}));
  EXPECT_FALSE(passes(nobody, Row{{"list_id", "groceries"}}, &members));
  EXPECT_THROW(passes(alices, Row{{"list_id", "groceries"}}), Error);
}

TEST(RowFilter, ReportsTheColumnsAndMembershipsItReads) {
  auto filter = RowFilter::any_of(
      {RowFilter::compare("owner", Op::eq, "alice"),
       RowFilter::all_of({RowFilter::in_membership("list_id", list_members("alice")),
                          RowFilter::negation(RowFilter::is_null("owner"))})});
  EXPECT_EQ(filter.columns(), (std::vector<std::string>{"owner", "list_id"}));
  ASSERT_EQ(filter.memberships().size(), 1u);
  EXPECT_EQ(filter.memberships()[0].table, "list_members");
  EXPECT_TRUE(RowFilter::all_of({}).is_constant());
}

}  // namespace
}  // namespace tandem
