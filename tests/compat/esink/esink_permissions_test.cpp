// Esink's routing and FILTERS as permission rules, and the decisions the engine then makes for
// Esink's sockets and published payloads.
#include "compat/esink/esink_permissions.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "esink_test_catalog.h"

namespace tandem::compat::esink {
namespace {

using nlohmann::json;
using rules::FilterExpr;
using test_catalog::catalog;
using test_catalog::column;
using test_catalog::esink_options;
using test_catalog::table;

rules::RuleSet translation() {
  const auto options = esink_options();
  return esink_rule_set(options.routing, options.filters, catalog());
}

const rules::SelectPermission& user_select(const rules::RuleSet& rules, const std::string& name) {
  return *rules.tables.at(name).at("user").select;
}

FilterExpr subject_equals(const std::string& column) {
  FilterExpr compare;
  compare.kind = FilterExpr::Kind::compare;
  compare.column = column;
  compare.operand = rules::ClaimRef{"sub"};
  return compare;
}

FilterExpr any_of(std::vector<FilterExpr> operands) {
  FilterExpr any;
  any.kind = FilterExpr::Kind::any_of;
  any.operands = std::move(operands);
  return any;
}

auth::Claims user(const std::string& id) {
  return esink_claims(id, {});
}

TEST(EsinkRuleSet, ARoutingColumnBecomesAFilterOnTheUsersSubjectWithEveryColumnReadable) {
  const auto rules = translation();
  const auto& orders = user_select(rules, "orders");
  EXPECT_EQ(orders.filter, any_of({subject_equals("user_id")}));
  EXPECT_FALSE(orders.columns.has_value()) << "no FILTERS for orders: every column";
  EXPECT_EQ(rules.tables.at("orders").size(), 1u) << "only the user role";
  EXPECT_FALSE(rules.tables.at("orders").at("user").insert.has_value()) << "Esink never writes";
}

TEST(EsinkRuleSet, SeveralRoutingColumnsAreAlternatives) {
  EXPECT_EQ(user_select(translation(), "messages").filter,
            any_of({subject_equals("sender_id"), subject_equals("recipient_id")}));
}

TEST(EsinkRuleSet, StarReadsEveryRow) {
  EXPECT_EQ(user_select(translation(), "news").filter.kind, FilterExpr::Kind::always);
}

TEST(EsinkRuleSet, FilteredColumnsAreLeftOutOfTheReadableColumns) {
  const auto rules = translation();
  EXPECT_EQ(user_select(rules, "users").columns,
            (rules::ColumnList{std::set<std::string, std::less<>>{"id", "name"}}));
  EXPECT_EQ(user_select(rules, "messages").columns,
            (rules::ColumnList{std::set<std::string, std::less<>>{"id", "recipient_id", "body"}}));
}

TEST(EsinkRuleSet, UnroutedAndUntrackedTablesHaveNoEntry) {
  const auto rules = translation();
  EXPECT_FALSE(rules.tables.contains("secrets")) << "tracked, no route";
  EXPECT_FALSE(rules.tables.contains("untracked")) << "routed, not tracked";
  const auto permissions = EsinkPermissions::translated(esink_options(), catalog());
  EXPECT_TRUE(permissions->read_access(user("1"), catalog().at("secrets")).sees_nothing());
}

TEST(EsinkRuleSet, ARoutingColumnTheTableLacksRoutesNobodyAndLeavesTheOthers) {
  config::EsinkOptions options;
  options.routing["orders"] = config::EsinkRoute{false, {"buyer_id", "user_id"}};
  const auto rules = esink_rule_set(options.routing, options.filters, catalog());
  EXPECT_EQ(user_select(rules, "orders").filter, any_of({subject_equals("user_id")}));

  options.routing["orders"] = config::EsinkRoute{false, {"buyer_id"}};
  const auto tables = catalog();
  const auto permissions = EsinkPermissions::translated(options, tables);
  const auto access = permissions->read_access(user("1"), tables.at("orders"));
  EXPECT_FALSE(permissions->may_see(access, {{"id", Value(1)}, {"buyer_id", Value(1)}}));
}

TEST(EsinkPermissions, AUserSeesTheRowsARoutingColumnNamesThemIn) {
  const auto tables = catalog();
  const auto permissions = EsinkPermissions::translated(esink_options(), tables);
  const auto& messages = tables.at("messages");
  const Row from_1_to_2 = {
      {"id", Value(1)}, {"sender_id", Value(1)}, {"recipient_id", Value(2)}, {"body", Value("hi")}};
  for (const auto& [id, sees] : std::vector<std::pair<std::string, bool>>{
           {"1", true}, {"2", true}, {"3", false}, {"01", false}}) {
    const auto access = permissions->read_access(user(id), messages);
    EXPECT_EQ(permissions->may_see(access, from_1_to_2), sees) << "user " << id;
  }
  const auto access = permissions->read_access(user("2"), messages);
  EXPECT_EQ(permissions->visible_part(access, messages, from_1_to_2),
            (Row{{"id", Value(1)}, {"recipient_id", Value(2)}, {"body", Value("hi")}}))
      << "a filtered routing column routes, and is not sent";
}

TEST(EsinkPermissions, AFilteredKeyColumnIsRemovedAsEsinkDid) {
  const auto tables = catalog();
  const auto permissions = EsinkPermissions::translated(esink_options(), tables);
  const auto& codes = tables.at("codes");
  const auto access = permissions->read_access(user("ann"), codes);
  const Row row = {{"code", Value("X1")}, {"owner", Value("ann")}};
  ASSERT_TRUE(permissions->may_see(access, row));
  EXPECT_EQ(permissions->visible_part(access, codes, row), (Row{{"owner", Value("ann")}}));

  json published = {{"code", "X1"}, {"owner", "ann"}};
  permissions->remove_hidden_columns(user("ann"), "codes", published);
  EXPECT_EQ(published, (json{{"owner", "ann"}}));
}

TEST(EsinkPermissions, CandidatesAreTheUsersTheRoutingColumnsNameOncePerColumn) {
  const auto permissions = EsinkPermissions::translated(esink_options(), catalog());
  const auto to_self = permissions->candidates(
      catalog().at("messages"),
      {{"id", Value(1)}, {"sender_id", Value(4)}, {"recipient_id", Value(4)}});
  EXPECT_EQ(to_self.users, (std::vector<std::string>{"4", "4"}));
  EXPECT_TRUE(permissions->candidates(catalog().at("news"), {{"id", Value(1)}}).everyone);
  EXPECT_TRUE(permissions->candidates(catalog().at("secrets"), {{"id", Value(1)}}).empty());
}

TEST(EsinkPermissions, PublishedPayloadsLoseTheColumnsAUserMayNotRead) {
  const auto permissions = EsinkPermissions::translated(esink_options(), catalog());
  json users = {{"id", 7}, {"password", "x"}, {"note", "not a column: the publisher's own"}};
  permissions->remove_hidden_columns(user("1"), "users", users);
  EXPECT_EQ(users, (json{{"id", 7}, {"note", "not a column: the publisher's own"}}));

  json secrets = {{"id", 1}, {"body", "classified"}, {"note", "kept"}};
  permissions->remove_hidden_columns(user("1"), "secrets", secrets);
  EXPECT_EQ(secrets, (json{{"note", "kept"}})) << "users read nothing of an unrouted table";

  json alerts = {{"secret", "s"}, {"text", "hello"}};
  permissions->remove_hidden_columns(user("*"), "alerts", alerts);
  EXPECT_EQ(alerts, (json{{"text", "hello"}})) << "FILTERS of a table the server does not track";
  json notes = {{"text", "mine"}};
  permissions->remove_hidden_columns(user("1"), "notes", notes);
  EXPECT_EQ(notes, (json{{"text", "mine"}}));
}

TEST(EsinkCandidates, RulesFileFiltersOnTheSubjectNameTheirUsersOthersAskEverySocket) {
  rules::RuleSet rules;
  rules.tables["orders"]["user"].select = rules::SelectPermission{subject_equals("user_id"), {}};
  FilterExpr both;
  both.kind = FilterExpr::Kind::all_of;
  FilterExpr open;
  open.kind = FilterExpr::Kind::compare;
  open.column = "closed";
  open.operand = Value(0);
  both.operands = {open, subject_equals("recipient_id")};
  rules.tables["messages"]["user"].select = rules::SelectPermission{both, {}};
  FilterExpr team;
  team.kind = FilterExpr::Kind::compare;
  team.column = "team";
  team.operand = rules::ClaimRef{"team"};
  rules.tables["projects"]["user"].select = rules::SelectPermission{team, {}};
  rules.tables["audit"]["auditor"].select = rules::SelectPermission{};

  const auto routes = candidate_routes(rules);
  EXPECT_EQ(routes.at("orders").columns, std::vector<std::string>{"user_id"});
  EXPECT_EQ(routes.at("messages").columns, std::vector<std::string>{"recipient_id"});
  EXPECT_TRUE(routes.at("projects").everyone);
  EXPECT_FALSE(routes.contains("audit")) << "no select for Esink's role";
}

TEST(EsinkClaims, TheAuthRowsOtherColumnsAreClaims) {
  const auto claims = esink_claims("7", {{"id", Value(7)},
                                         {"team", Value("blue")},
                                         {"level", Value(3)},
                                         {"role", Value("boss")},
                                         {"photo", Value(Blob{1})},
                                         {"nickname", Value()}});
  EXPECT_EQ(claims.subject, "7");
  EXPECT_EQ(claims.role, auth::Role::user);
  EXPECT_EQ(claims.role_name, "user");
  EXPECT_EQ(claims.values.at("team"), (auth::ClaimValue{{Value("blue")}, false}));
  EXPECT_EQ(claims.values.at("level"), (auth::ClaimValue{{Value(3)}, false}));
  EXPECT_EQ(claims.values.at("role"), (auth::ClaimValue{{Value("user")}, false}))
      << "a column cannot make itself the role";
  EXPECT_FALSE(claims.values.contains("photo"));
  EXPECT_FALSE(claims.values.contains("nickname"));
}

TEST(EsinkPermissions, ARulesFileReadsTheClaimsOfTheAuthRow) {
  rules::RuleSet rules;
  FilterExpr team;
  team.kind = FilterExpr::Kind::compare;
  team.column = "team";
  team.operand = rules::ClaimRef{"team"};
  rules.tables["projects"]["user"].select =
      rules::SelectPermission{team, std::set<std::string, std::less<>>{"id", "name"}};
  Catalog tables;
  tables.emplace(
      "projects",
      table("projects", {column("id", ColumnType::integer), column("team", ColumnType::text),
                         column("name", ColumnType::text), column("budget", ColumnType::integer)}));
  const auto permissions = EsinkPermissions::from_rules_file(rules, {}, nullptr, tables);
  const Row row = {
      {"id", Value(1)}, {"team", Value("blue")}, {"name", Value("P")}, {"budget", Value(9)}};
  const auto& projects = tables.at("projects");
  const auto blue =
      permissions->read_access(esink_claims("1", {{"team", Value("blue")}}), projects);
  const auto red = permissions->read_access(esink_claims("2", {{"team", Value("red")}}), projects);
  EXPECT_TRUE(permissions->may_see(blue, row));
  EXPECT_FALSE(permissions->may_see(red, row));
  EXPECT_EQ(permissions->visible_part(blue, projects, row),
            (Row{{"id", Value(1)}, {"name", Value("P")}}));
  EXPECT_TRUE(permissions->candidates(projects, row).everyone);
}

}  // namespace
}  // namespace tandem::compat::esink
