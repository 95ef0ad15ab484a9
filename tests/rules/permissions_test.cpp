// The permission engine's read side: the default equals today's owner-column rules exactly,
// and a rules file never widens by accident.
#include "rules/permissions.h"

#include <gtest/gtest.h>

#include "rules/access_rules.h"
#include "rules/rules_file.h"

namespace tandem::rules {
namespace {

TableSchema table(std::string name, std::vector<std::pair<std::string, ColumnType>> columns) {
  TableSchema schema;
  schema.name = std::move(name);
  for (std::size_t i = 0; i < columns.size(); ++i) {
    ColumnSchema column;
    column.name = columns[i].first;
    column.type = columns[i].second;
    column.primary_key_position = i == 0 ? 1 : 0;
    schema.columns.push_back(column);
  }
  schema.primary_key = {schema.columns.front().name};
  return schema;
}

auth::Claims reader(std::string sub, std::string role = "user") {
  auth::Claims claims;
  claims.subject = std::move(sub);
  claims.role = role == "admin" ? auth::Role::admin : auth::Role::user;
  claims.role_name = std::move(role);
  return claims;
}

const SchemaLookup kNoOtherTables = [](std::string_view) -> const TableSchema* { return nullptr; };

Permissions with_rules(std::string_view text) {
  auto parsed = parse_rules(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
  return Permissions(RulesOptions{}, parsed.ok() ? *parsed : RuleSet{});
}

TEST(Permissions, WithoutARulesFileEveryReaderSeesWhatTheOwnerColumnRulesLetThemRead) {
  Permissions defaults{RulesOptions{}};
  AccessRules access{RulesOptions{}};
  auto orders = table("orders", {{"id", ColumnType::text}, {"owner_id", ColumnType::integer}});
  auto products = table("products", {{"id", ColumnType::text}, {"name", ColumnType::text}});
  std::vector<Row> rows = {{{"id", "a"}, {"owner_id", 7}},
                           {{"id", "b"}, {"owner_id", 8}},
                           {{"id", "c"}, {"owner_id", Value{}}},
                           {{"id", "d"}, {"owner_id", "7"}},
                           {{"id", "e"}, {"name", "pen"}}};
  for (const auto& who : {reader("7"), reader("07"), reader("8"), reader("root", "admin")}) {
    for (const auto* schema : {&orders, &products}) {
      auto granted = defaults.read_access(who, *schema, kNoOtherTables);
      EXPECT_FALSE(granted.columns) << "every column";
      for (const auto& row : rows) {
        EXPECT_EQ(passes(granted.rows, row), access.can_read(who, *schema, row))
            << who.subject << " " << schema->name << " " << row.at("id").as_text();
      }
    }
  }
}

TEST(Permissions, ARulesFileHidesTablesAndRolesItDoesNotName) {
  auto permissions = with_rules(R"(
[tables.items.user]
select = {}
)");
  auto items = table("items", {{"id", ColumnType::text}});
  auto notes = table("notes", {{"id", ColumnType::text}});
  EXPECT_TRUE(permissions.read_access(reader("7"), notes, kNoOtherTables).sees_nothing());
  EXPECT_TRUE(permissions.read_access(reader("7", "editor"), items, kNoOtherTables).sees_nothing());
  EXPECT_FALSE(permissions.read_access(reader("7"), items, kNoOtherTables).sees_nothing());
  EXPECT_FALSE(
      permissions.read_access(reader("root", "admin"), notes, kNoOtherTables).sees_nothing())
      << "admins read every table";
}

TEST(Permissions, ACustomRoleReadsByItsOwnRule) {
  auto permissions = with_rules(R"(
[tables.items.user]
select.filter = { owner_id = { _eq = { _claim = "sub" } } }
[tables.items.auditor]
select.filter = { done = { _eq = true } }
select.columns = ["done"]
)");
  auto items = table("items", {{"id", ColumnType::text},
                               {"owner_id", ColumnType::text},
                               {"done", ColumnType::integer},
                               {"secret", ColumnType::text}});
  Row row{{"id", "i1"}, {"owner_id", "bob"}, {"done", 1}, {"secret", "s"}};
  auto auditor = permissions.read_access(reader("ann", "auditor"), items, kNoOtherTables);
  EXPECT_TRUE(passes(auditor.rows, row));
  EXPECT_EQ(Permissions::visible_part(row, auditor, items), (Row{{"id", "i1"}, {"done", 1}}))
      << "only the listed columns, and the key";
  auto user = permissions.read_access(reader("ann"), items, kNoOtherTables);
  EXPECT_FALSE(passes(user.rows, row));
}

TEST(Permissions, ARuleThatCannotApplyToTheTableAsItIsNowHidesItsRowsAndSaysWhy) {
  auto permissions = with_rules(R"(
[tables.items.user]
select.filter = { _not = { archived = { _eq = 1 } } }
)");
  auto items = table("items", {{"id", ColumnType::text}});  // archived was dropped
  std::string problem;
  auto access = permissions.read_access(reader("7"), items, kNoOtherTables, &problem);
  EXPECT_TRUE(access.sees_nothing());
  EXPECT_NE(problem.find("no column 'archived'"), std::string::npos) << problem;
}

}  // namespace
}  // namespace tandem::rules
