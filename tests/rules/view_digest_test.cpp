// The view digest: equal exactly when the rules choose the same rows and columns for a reader
// (src/rules/view_digest.h). A replica is filled again when it changes, so it must change
// whenever the reader's view may have, and should not change otherwise.
#include "rules/view_digest.h"

#include <gtest/gtest.h>

#include "rules/rules_file.h"
#include "rules_testing.h"

namespace tandem::rules {
namespace {

using testing::claims_of;

constexpr auto kLists = R"(
[memberships.list_members]
key = "list_id"
member = "user_id"

[memberships.team]
table = "team_members"
key = "project_id"
member = "user_id"

[tables.items.user]
select.filter = { list_id = { _in_membership = "list_members" } }
select.columns = ["id", "list_id", "title"]

[tables.items.auditor]
select.filter = { title = { _eq = "audit me" } }
)";

RuleSet parsed(const std::string& text) {
  auto rules = parse_rules(text);
  EXPECT_TRUE(rules) << (rules ? "" : rules.error().message());
  return rules ? *rules : RuleSet{};
}

std::string with(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(ViewDigest, EqualForTheSameRulesAndClaimValuesAndDifferentForAnotherMember) {
  auto rules = parsed(kLists);
  EXPECT_EQ(view_digest(rules, claims_of("alice")),
            view_digest(parsed(kLists), claims_of("alice")));
  EXPECT_NE(view_digest(rules, claims_of("alice")), view_digest(rules, claims_of("bob")))
      << "alice's lists are not bob's";
  EXPECT_NE(view_digest(rules, claims_of("alice")),
            view_digest(rules, claims_of("alice", "auditor")));
}

TEST(ViewDigest, ChangesWithTheRolesReadFiltersAndColumns) {
  auto alice = claims_of("alice");
  auto before = view_digest(parsed(kLists), alice);
  EXPECT_NE(
      view_digest(parsed(with(kLists, R"("id", "list_id", "title")", R"("id", "list_id")")), alice),
      before);
  EXPECT_NE(view_digest(parsed(with(kLists, "key = \"list_id\"", "key = \"id\"")), alice), before)
      << "a membership the filter names";
}

TEST(ViewDigest, StaysForChangesThatCannotChangeTheReadersView) {
  auto alice = claims_of("alice");
  auto before = view_digest(parsed(kLists), alice);
  EXPECT_EQ(view_digest(parsed(with(kLists, "\"audit me\"", "\"audit\"")), alice), before)
      << "another role's rule";
  EXPECT_EQ(view_digest(parsed(with(kLists, "project_id", "id")), alice), before)
      << "a membership no filter of theirs names";
  std::string with_insert = kLists;
  with_insert += "\n[tables.items.user.insert]\ncheck = {}\n";
  EXPECT_EQ(view_digest(parsed(with_insert), alice), before) << "a write permission";
}

TEST(RulesDigest, IgnoresLayoutAndCommentsButNotRules) {
  auto reformatted =
      with(kLists, "[tables.items.auditor]", "# auditors\n[tables . items . auditor]");
  EXPECT_EQ(rules_digest(parsed(kLists)), rules_digest(parsed(reformatted)));
  EXPECT_NE(rules_digest(parsed(kLists)),
            rules_digest(parsed(with(kLists, "\"audit me\"", "\"audit\""))));
}

}  // namespace
}  // namespace tandem::rules
