// How a change looks to a reader: the owner-column default gives exactly what AccessRules
// gives, and any filter moves rows in and out of a view the same way.
#include "rules/change_visibility.h"

#include <gtest/gtest.h>

#include "rules/rules_file.h"

namespace tandem::rules {
namespace {

using sync::Op;

TableSchema orders() {
  TableSchema schema;
  schema.name = "orders";
  for (const auto* name : {"id", "owner_id", "item"}) {
    ColumnSchema column;
    column.name = name;
    column.type = ColumnType::text;
    column.primary_key_position = std::string_view(name) == "id" ? 1 : 0;
    schema.columns.push_back(column);
  }
  schema.primary_key = {"id"};
  return schema;
}

sync::Change change(Op op, Row row, Row old = {}) {
  sync::Change change;
  change.table = "orders";
  change.op = op;
  change.pk = Row{{"id", row.at("id")}};
  change.row = std::move(row);
  change.old = std::move(old);
  return change;
}

auth::Claims reader(std::string sub) {
  auth::Claims claims;
  claims.subject = std::move(sub);
  return claims;
}

const SchemaLookup kNone = [](std::string_view) -> const TableSchema* { return nullptr; };

TEST(ChangeVisibility, TheDefaultRulesSeeChangesExactlyAsAccessRulesDoes) {
  AccessRules access{RulesOptions{}};
  Permissions permissions{RulesOptions{}};
  auto table = orders();
  std::vector<sync::Change> changes = {
      change(Op::insert, {{"id", "1"}, {"owner_id", "alice"}, {"item", "pen"}}),
      change(Op::insert, {{"id", "2"}, {"owner_id", "bob"}, {"item", "ink"}}),
      change(Op::update, {{"id", "1"}, {"owner_id", "alice"}, {"item", "pencil"}},
             {{"item", "pen"}}),
      change(Op::update, {{"id", "1"}, {"owner_id", "bob"}, {"item", "pen"}},
             {{"owner_id", "alice"}}),
      change(Op::update, {{"id", "1"}, {"owner_id", "alice"}, {"item", "pen"}},
             {{"owner_id", "bob"}}),
      change(Op::update, {{"id", "1"}, {"owner_id", Value{}}, {"item", "pen"}},
             {{"owner_id", "alice"}}),
      change(Op::remove, {{"id", "1"}, {"owner_id", "alice"}, {"item", "pen"}}),
      change(Op::remove, {{"id", "2"}, {"owner_id", "bob"}, {"item", "ink"}})};
  for (const auto& who : {reader("alice"), reader("bob"), reader("carol")}) {
    auto granted = permissions.read_access(who, table, kNone);
    for (std::size_t i = 0; i < changes.size(); ++i) {
      EXPECT_EQ(change_visibility(granted, changes[i], nullptr),
                access.visibility(who, access.rule_for(table), changes[i]))
          << who.subject << " change " << i;
    }
  }
}

TEST(ChangeVisibility, HiddenColumnsAreNeverSentAndAnUpdateOfOnlyThemIsNotSentAtAll) {
  auto rules = parse_rules("[tables.orders.user]\nselect.columns = [\"item\"]\n");
  ASSERT_TRUE(rules.ok());
  Permissions permissions{RulesOptions{}, *rules};
  auto table = orders();
  auto access = permissions.read_access(reader("alice"), table, kNone);
  auto moved = change(Op::update, {{"id", "1"}, {"owner_id", "bob"}, {"item", "pen"}},
                      {{"owner_id", "alice"}});
  EXPECT_FALSE(visible_change(moved, access, table)) << "only owner_id changed";
  auto edited = change(Op::update, {{"id", "1"}, {"owner_id", "bob"}, {"item", "ink"}},
                       {{"owner_id", "alice"}, {"item", "pen"}});
  auto shown = visible_change(edited, access, table);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->row, (Row{{"id", "1"}, {"item", "ink"}}));
  EXPECT_EQ(shown->old, (Row{{"item", "pen"}}));
}

}  // namespace
}  // namespace tandem::rules
