// A rule's filter for one reader: claims become the reader's values in the column's kind,
// and a filter that cannot mean what it says is refused (the caller then hides the rows).
#include "rules/filter_resolution.h"

#include <gtest/gtest.h>

#include "rules/rules_file.h"

namespace tandem::rules {
namespace {

TableSchema table(std::string name, std::vector<std::pair<std::string, ColumnType>> columns) {
  TableSchema schema;
  schema.name = std::move(name);
  int position = 0;
  for (auto& [column, type] : columns) {
    ColumnSchema spec;
    spec.name = column;
    spec.type = type;
    spec.primary_key_position = position++ == 0 ? 1 : 0;
    schema.columns.push_back(spec);
  }
  schema.primary_key = {schema.columns.front().name};
  return schema;
}

auth::Claims reader(std::string sub,
                    std::map<std::string, auth::ClaimValue, std::less<>> values = {}) {
  auth::Claims claims;
  claims.subject = std::move(sub);
  claims.values = std::move(values);
  return claims;
}

class FilterResolution : public ::testing::Test {
 protected:
  RowFilter resolve(std::string_view filter_toml, const auth::Claims& who) {
    auto parsed = parse_rules(std::string(kMemberships) + "[tables.items.user]\nselect.filter = " +
                              std::string(filter_toml) + "\n");
    EXPECT_TRUE(parsed.ok()) << parsed.error().message();
    rules = *parsed;
    auto resolved = resolve_filter(rules.tables.at("items").at("user").select->filter, rules, who,
                                   items, lookup);
    EXPECT_TRUE(resolved.ok()) << resolved.error().message();
    return resolved.ok() ? *resolved : RowFilter::never();
  }

  static constexpr std::string_view kMemberships =
      "[memberships.list_members]\nkey = \"list_id\"\nmember = \"user_id\"\n";
  TableSchema items = table("items", {{"id", ColumnType::text},
                                      {"owner_id", ColumnType::integer},
                                      {"list_id", ColumnType::text},
                                      {"tag", ColumnType::text},
                                      {"qty", ColumnType::integer}});
  TableSchema members =
      table("list_members", {{"list_id", ColumnType::text}, {"user_id", ColumnType::integer}});
  SchemaLookup lookup = [this](std::string_view name) -> const TableSchema* {
    return name == "list_members" ? &members : nullptr;
  };
  RuleSet rules;
};

TEST_F(FilterResolution, TheSubjectClaimBecomesTheOwnerColumnsIntegerOnlyInCanonicalForm) {
  auto filter_of = [&](std::string sub) {
    return resolve("{ owner_id = { _eq = { _claim = \"sub\" } } }", reader(std::move(sub)));
  };
  EXPECT_EQ(filter_of("7"), RowFilter::compare("owner_id", RowFilter::Op::eq, 7));
  EXPECT_EQ(filter_of("07"), RowFilter::compare("owner_id", RowFilter::Op::eq, Value{}))
      << "'07' would otherwise read user 7's rows";
  EXPECT_FALSE(passes(filter_of("07"), Row{{"owner_id", 7}}));
}

TEST_F(FilterResolution, AMissingClaimMatchesNoRowEvenNegated) {
  auto filter = resolve("{ _not = { tag = { _eq = { _claim = \"team\" } } } }", reader("7"));
  EXPECT_FALSE(passes(filter, Row{{"tag", "red"}}));
}

TEST_F(FilterResolution, AnArrayClaimFeedsIn) {
  auto who = reader("7", {{"teams", auth::ClaimValue{{"red", "blue"}, true}}});
  auto filter = resolve("{ tag = { _in = { _claim = \"teams\" } } }", who);
  EXPECT_TRUE(passes(filter, Row{{"tag", "blue"}}));
  EXPECT_FALSE(passes(filter, Row{{"tag", "green"}}));
  auto scalar_compare = resolve("{ tag = { _eq = { _claim = \"teams\" } } }", who);
  EXPECT_FALSE(passes(scalar_compare, Row{{"tag", "red"}})) << "a list is not one value";
}

TEST_F(FilterResolution, AMembershipUsesTheReadersClaimInTheMemberColumnsKind) {
  auto filter = resolve("{ list_id = { _in_membership = \"list_members\" } }", reader("7"));
  EXPECT_EQ(filter, RowFilter::in_membership("list_id", {"list_members", "list_id", "user_id", 7}));
}

TEST_F(FilterResolution, AFilterOnAMissingColumnOrAnUntrackedMembershipIsRefused) {
  auto parsed = parse_rules(std::string(kMemberships) +
                            "[tables.items.user]\nselect.filter = { _not = { gone = { _is_null = "
                            "true } } }\n");
  ASSERT_TRUE(parsed.ok());
  auto refused = resolve_filter(parsed->tables.at("items").at("user").select->filter, *parsed,
                                reader("7"), items, lookup);
  ASSERT_FALSE(refused.ok()) << "not(gone IS NULL) would pass every row";
  EXPECT_NE(refused.error().message().find("no column 'gone'"), std::string_view::npos);
  auto untracked =
      resolve_filter(parsed->tables.at("items").at("user").select->filter, *parsed, reader("7"),
                     items, [](std::string_view) -> const TableSchema* { return nullptr; });
  EXPECT_FALSE(untracked.ok());
}

TEST(ValueForColumn, ConvertsOnlyWhatTheColumnCanHoldExactly) {
  EXPECT_EQ(value_for_column(Value("12"), ColumnType::integer), Value(12));
  EXPECT_EQ(value_for_column(Value("12.0"), ColumnType::integer), Value{});
  EXPECT_EQ(value_for_column(Value(12), ColumnType::text), Value("12"));
  EXPECT_EQ(value_for_column(Value("abc"), ColumnType::real), Value{});
  EXPECT_EQ(value_for_column(Value("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), ColumnType::uuid),
            Value{});
  EXPECT_EQ(value_for_column(Value(1), ColumnType::boolean), Value(1));
}

}  // namespace
}  // namespace tandem::rules
