// Rules files (docs/permissions.md): what they may say, and that every mistake is refused
// with where it is, never guessed at.
#include "rules/rules_file.h"

#include <gtest/gtest.h>

namespace tandem::rules {
namespace {

constexpr auto kSharedLists = R"(
version = 1

[memberships.list_members]
key = "list_id"
member = "user_id"

[tables.lists.user]
select = { filter = { id = { _in_membership = "list_members" } } }

[tables.items.user]
select.filter = { list_id = { _in_membership = "list_members" } }
select.columns = ["id", "list_id", "title", "done"]
insert.check = { list_id = { _in_membership = "list_members" } }
insert.columns = ["id", "list_id", "title", "done"]
insert.presets = { created_by = { _claim = "sub" } }
update.filter = { list_id = { _in_membership = "list_members" } }
update.columns = ["title", "done"]
delete.filter = { _and = [ { list_id = { _in_membership = "list_members" } }, { created_by = { _eq = { _claim = "sub" } } } ] }

[tables.items.auditor]
select.filter = { _or = [ { done = { _eq = true } }, { title = { _is_null = true } } ] }
)";

std::string error_of(std::string_view text) {
  auto parsed = parse_rules(text, "rules.toml");
  EXPECT_FALSE(parsed.ok());
  if (parsed.ok()) return {};
  EXPECT_EQ(parsed.error().code(), ErrorCode::config_invalid);
  return std::string(parsed.error().message());
}

TEST(RulesFile, ASharedListAppReadsAsDeclared) {
  auto parsed = parse_rules(kSharedLists);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const auto& rules = *parsed;
  EXPECT_EQ(rules.memberships.at("list_members"),
            (MembershipDecl{"list_members", "list_id", "user_id", "sub"}));
  const auto& user = rules.tables.at("items").at("user");
  ASSERT_TRUE(user.select && user.insert && user.update && user.remove);
  EXPECT_EQ(user.select->filter.kind, FilterExpr::Kind::in_membership);
  EXPECT_EQ(user.select->filter.column, "list_id");
  EXPECT_EQ(user.select->columns, (ColumnList{{"done", "id", "list_id", "title"}}));
  EXPECT_EQ(user.insert->presets.at("created_by"), Operand(ClaimRef{"sub"}));
  EXPECT_EQ(user.update->columns, (ColumnList{{"done", "title"}}));
  EXPECT_EQ(user.update->check.kind, FilterExpr::Kind::always) << "no check: any row";
  EXPECT_EQ(user.remove->filter.kind, FilterExpr::Kind::all_of);
  EXPECT_EQ(user.remove->filter.operands.size(), 2u);
  const auto& auditor = rules.tables.at("items").at("auditor");
  EXPECT_FALSE(auditor.insert) << "what a role is not given, it may not do";
  ASSERT_EQ(auditor.select->filter.kind, FilterExpr::Kind::any_of);
  EXPECT_EQ(auditor.select->filter.operands[0].operand, Operand(Value(1))) << "true is 1";
  EXPECT_FALSE(auditor.select->columns) << "no list: every column";
}

TEST(RulesFile, SeveralConditionsInOneObjectAreAllRequired) {
  auto parsed = parse_rules(R"(
[tables.items.user]
select.filter = { owner_id = { _eq = { _claim = "sub" } }, qty = { _gt = 0, _lte = 10 } }
)");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const auto& filter = parsed->tables.at("items").at("user").select->filter;
  ASSERT_EQ(filter.kind, FilterExpr::Kind::all_of);
  ASSERT_EQ(filter.operands.size(), 2u);
  EXPECT_EQ(filter.operands[1].kind, FilterExpr::Kind::all_of) << "_gt and _lte";
}

TEST(RulesFile, ListsComeWrittenOutOrFromAnArrayClaim) {
  auto parsed = parse_rules(R"(
[tables.items.user]
select.filter = { _or = [ { tag = { _in = ["a", "b"] } }, { team = { _in = { _claim = "teams" } } }, { tag = { _nin = ["x"] } } ] }
)");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const auto& operands = parsed->tables.at("items").at("user").select->filter.operands;
  EXPECT_EQ(operands[0].list, (std::vector<Operand>{Value("a"), Value("b")}));
  EXPECT_TRUE(operands[1].list_from_claim);
  EXPECT_EQ(operands[2].kind, FilterExpr::Kind::negation);
}

TEST(RulesFile, MistakesAreRefusedWithTheirPlace) {
  EXPECT_NE(error_of("[tables.items.user]\nselect.filter = { qty = { _like = 1 } }")
                .find("rules.toml: tables.items.user.select.filter.qty._like: unknown operator"),
            std::string::npos);
  EXPECT_NE(error_of("[tables.items.user]\nselect.filter = { id = { _in_membership = \"team\" } }")
                .find("no membership named 'team'"),
            std::string::npos);
  EXPECT_NE(
      error_of("[tables.items.user]\nselekt = {}").find("tables.items.user.selekt: unknown key"),
      std::string::npos);
  EXPECT_NE(error_of("[tables.items.admin]\nselect = {}").find("admins read and write every table"),
            std::string::npos);
  EXPECT_NE(error_of("[tables.\"items; --\".user]\nselect = {}").find("not a valid table name"),
            std::string::npos);
  EXPECT_NE(
      error_of("[tables.items.user]\nselect.columns = [\"a b\"]").find("not a valid column name"),
      std::string::npos);
  EXPECT_NE(error_of("[tables.items.user]\nselect.filter = { qty = { _eq = 2020-01-01 } }")
                .find("expected a string, a number"),
            std::string::npos);
  EXPECT_NE(error_of("[tables.items.user]\nselect.filter = { qty = { _is_null = 1 } }")
                .find("expected true or false"),
            std::string::npos);
  EXPECT_NE(error_of("[memberships.m]\nkey = \"k\"").find("missing member"), std::string::npos);
  EXPECT_NE(error_of("version = 2").find("rules format version 1"), std::string::npos);
  EXPECT_NE(error_of("[tables.items.user\n").find("rules.toml:"), std::string::npos)
      << "TOML syntax errors carry the line";
}

}  // namespace
}  // namespace tandem::rules
