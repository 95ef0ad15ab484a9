// Without a rules file, the permission engine decides every push exactly as the owner-column
// rules (AccessRules) do: the same refusal (code and message) and the same completed
// mutation, for every writer, table, mutation, stored row and merged row of a matrix. So the
// session can switch from one to the other without changing behaviour.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rules/access_rules.h"
#include "rules/permissions.h"
#include "rules/rules_testing.h"

namespace tandem::rules {
namespace {

const std::string kUuid = "0f0e8a44-6c4e-4b8e-9c4a-1b2c3d4e5f60";
const std::string kOtherUuid = "11111111-2222-4333-8444-555555555555";

using testing::Column;
using testing::table;

auth::Claims writer(std::string sub, std::string role = "user") {
  return testing::claims_of(std::move(sub), std::move(role));
}

std::vector<auth::Claims> writers() {
  return {writer("alice"),
          writer("7"),
          writer("07"),
          writer(kUuid),
          writer("0F0E8A44-6C4E-4B8E-9C4A-1B2C3D4E5F60"),
          writer("alice", "editor"),  // a custom role is a user without a rules file
          writer("root", "admin")};
}

// Public and private tables, the owner text, integer, uuid, of a type no id fits, and in the
// primary key. Under the realm_id option, the owner_id tables are public.
std::vector<TableSchema> tables(const std::string& owner) {
  return {
      table("products", {{"id", ColumnType::text, true}, {"name"}}),
      table("orders_text", {{"id", ColumnType::text, true}, {"item"}, {owner}}),
      table("orders_int", {{"id", ColumnType::text, true}, {"item"}, {owner, ColumnType::integer}}),
      table("orders_uuid", {{"id", ColumnType::text, true}, {"item"}, {owner, ColumnType::uuid}}),
      table("orders_any", {{"id", ColumnType::text, true}, {"item"}, {owner, ColumnType::any}}),
      table("orders_bool",
            {{"id", ColumnType::text, true}, {"item"}, {owner, ColumnType::boolean}}),
      table("orders_keyed",
            {{"id", ColumnType::text, true}, {owner, ColumnType::text, true}, {"item"}}),
      table("orders_int_keyed",
            {{owner, ColumnType::integer, true}, {"id", ColumnType::text, true}, {"item"}}),
      table("orders_realm", {{"id", ColumnType::text, true}, {"item"}, {"realm_id"}}),
  };
}

// Owner values worth trying in a column of `type`: each writer's own, another user's, NULL,
// and values of the wrong kind.
std::vector<Value> owner_values(ColumnType type) {
  std::vector<Value> values = {Value{},    Value("bob"), Value(8),  Value(kOtherUuid),
                               Value("7"), Value(7),     Value(7.0)};
  for (const auto& who : writers()) {
    auto mine = owner_value(who.subject, type);
    if (!mine.is_null()) values.push_back(mine);
  }
  return values;
}

std::string describe(const Row& row) {
  std::vector<std::string> parts;
  for (const auto& [column, value] : row) {
    parts.push_back(fmt::format("{}={}", column,
                                value.is_null() ? std::string("NULL") : value.to_key_string()));
  }
  return fmt::format("{{{}}}", fmt::join(parts, ", "));
}

std::string outcome(const Status& status) {
  if (status.ok()) return "ok";
  return fmt::format("{}: {}", error_code_name(status.error().code()), status.error().message());
}

const SchemaLookup kNoOtherTables = [](std::string_view) -> const TableSchema* { return nullptr; };

// Runs both over the matrix and collects every disagreement.
class DefaultWriteMatrix {
 public:
  explicit DefaultWriteMatrix(RulesOptions options)
      : m_options(options), m_access(options), m_engine(options) {}

  void run_writes() {
    for (const auto& schema : tables(m_options.owner_column)) {
      const auto* owner = schema.column(m_options.owner_column);
      auto owners = owner_values(owner ? owner->type : ColumnType::text);
      std::vector<std::optional<Row>> stored = {std::nullopt, Row{{"item", "x"}}};
      for (const auto& value : owners)
        stored.push_back(Row{{"item", "x"}, {m_options.owner_column, value}});
      for (const auto& pk : keys(schema, owners)) {
        for (auto op : {sync::Op::insert, sync::Op::update, sync::Op::remove}) {
          for (const auto& values : written_values(op, owners)) {
            for (const auto& existing : stored) {
              std::optional<Row> row;
              if (existing) {
                row = *existing;
                for (const auto& [column, value] : pk)
                  row->insert_or_assign(column, value);
              }
              for (const auto& who : writers())
                compare_write(who, schema, row ? &*row : nullptr,
                              {schema.name, op, pk, values, {}});
            }
          }
        }
      }
    }
  }

  void run_results() {
    for (const auto& schema : tables(m_options.owner_column)) {
      const auto* owner = schema.column(m_options.owner_column);
      std::vector<Row> merged = {Row{{"id", "o1"}, {"item", "x"}}};
      for (const auto& value : owner_values(owner ? owner->type : ColumnType::text))
        merged.push_back(Row{{"id", "o1"}, {"item", "x"}, {m_options.owner_column, value}});
      for (const auto& row : merged) {
        for (bool inherits : {false, true}) {
          for (const auto& who : writers()) {
            for (auto action : {WriteAction::insert, WriteAction::update, WriteAction::upsert,
                                WriteAction::remove}) {
              compare_result(who, schema, row, inherits, action);
            }
          }
        }
      }
    }
  }

  std::size_t cases() const { return m_cases; }
  const std::vector<std::string>& disagreements() const { return m_disagreements; }
  // How often each outcome came up: a matrix that never refuses proves nothing.
  std::size_t count(ErrorCode code) const { return m_codes.count(code); }

 private:
  static std::vector<Row> keys(const TableSchema& schema, const std::vector<Value>& owners) {
    std::vector<Row> keys;
    if (!schema.is_primary_key("owner_id") && !schema.is_primary_key("realm_id"))
      return {Row{{"id", "o1"}}};
    for (const auto& value : owners) {
      if (value.is_null()) continue;  // validate_mutation refuses a NULL key column
      Row pk{{"id", "o1"}};
      for (const auto& column : schema.primary_key) {
        if (column != "id") pk.insert_or_assign(column, value);
      }
      keys.push_back(pk);
    }
    return keys;
  }

  std::vector<Row> written_values(sync::Op op, const std::vector<Value>& owners) const {
    if (op == sync::Op::remove) return {Row{}};
    std::vector<Row> rows = {Row{}, Row{{"item", "pen"}}};
    for (const auto& value : owners) {
      rows.push_back(Row{{m_options.owner_column, value}});
      rows.push_back(Row{{"item", "pen"}, {m_options.owner_column, value}});
    }
    return rows;
  }

  void compare_write(const auth::Claims& who, const TableSchema& schema, const Row* existing,
                     const sync::Mutation& mutation) {
    ++m_cases;
    auto by_access = mutation;
    auto by_engine = mutation;
    auto expected = m_access.authorize_write(who, schema, existing, by_access);
    auto actual =
        m_engine.authorize_write(who, schema, existing, by_engine, kNoOtherTables, nullptr);
    m_codes.insert(actual.ok() ? ErrorCode::ok : actual.error().code());
    if (outcome(expected) == outcome(actual) && by_access.values == by_engine.values &&
        by_access.pk == by_engine.pk) {
      return;
    }
    m_disagreements.push_back(fmt::format(
        "{} ({}) {} {} pk {} values {} on {}: AccessRules {} -> {}, Permissions {} -> {}",
        who.subject, who.role_name, sync::op_name(mutation.op), schema.name, describe(mutation.pk),
        describe(mutation.values), existing ? describe(*existing) : std::string("no row"),
        outcome(expected), describe(by_access.values), outcome(actual),
        describe(by_engine.values)));
  }

  void compare_result(const auth::Claims& who, const TableSchema& schema, const Row& merged,
                      bool inherits, WriteAction action) {
    ++m_cases;
    auto expected = m_access.authorize_result(who, schema, merged, inherits);
    auto actual =
        m_engine.authorize_result(who, schema, action, merged, inherits, kNoOtherTables, nullptr);
    m_codes.insert(actual.ok() ? ErrorCode::ok : actual.error().code());
    if (outcome(expected) == outcome(actual)) return;
    m_disagreements.push_back(fmt::format(
        "{} ({}) {} result {} in {}{}: AccessRules {}, Permissions {}", who.subject, who.role_name,
        write_action_name(action), describe(merged), schema.name,
        inherits ? " inheriting others' values" : "", outcome(expected), outcome(actual)));
  }

  RulesOptions m_options;
  AccessRules m_access;
  Permissions m_engine;
  std::size_t m_cases = 0;
  std::multiset<ErrorCode> m_codes;
  std::vector<std::string> m_disagreements;
};

std::string first_few(const std::vector<std::string>& lines) {
  std::vector<std::string> shown(lines.begin(),
                                 lines.begin() + std::min<std::size_t>(10, lines.size()));
  return fmt::format("{} disagreements, first:\n{}", lines.size(), fmt::join(shown, "\n"));
}

TEST(PermissionsWithoutRulesFile, DecideEveryWriteAsTheOwnerColumnRulesAndCompleteItTheSame) {
  for (const auto& owner : {"owner_id", "realm_id"}) {
    DefaultWriteMatrix matrix(RulesOptions{owner});
    matrix.run_writes();
    EXPECT_TRUE(matrix.disagreements().empty()) << first_few(matrix.disagreements());
    EXPECT_GT(matrix.cases(), 100000U);
    EXPECT_GT(matrix.count(ErrorCode::ok), 1000U) << owner;
    EXPECT_GT(matrix.count(ErrorCode::forbidden), 1000U) << owner;
    EXPECT_GT(matrix.count(ErrorCode::not_found), 1000U) << owner;
  }
}

TEST(PermissionsWithoutRulesFile, DecideEveryMergedRowAsTheOwnerColumnRulesWhateverTheAction) {
  for (const auto& owner : {"owner_id", "realm_id"}) {
    DefaultWriteMatrix matrix(RulesOptions{owner});
    matrix.run_results();
    EXPECT_TRUE(matrix.disagreements().empty()) << first_few(matrix.disagreements());
    EXPECT_GT(matrix.count(ErrorCode::ok), 100U) << owner;
    EXPECT_GT(matrix.count(ErrorCode::not_found), 100U) << owner;
  }
}

TEST(PermissionsWithoutRulesFile, FillInTheOwnerOfAnInsertLeftWithoutOne) {
  Permissions engine{RulesOptions{}};
  auto orders = table(
      "orders", {{"id", ColumnType::text, true}, {"item"}, {"owner_id", ColumnType::integer}});
  sync::Mutation insert{"orders", sync::Op::insert, {{"id", "o1"}}, {{"item", "pen"}}, {}};
  ASSERT_TRUE(
      engine.authorize_write(writer("7"), orders, nullptr, insert, kNoOtherTables, nullptr).ok());
  EXPECT_EQ(insert.values, (Row{{"item", "pen"}, {"owner_id", 7}}));
}

}  // namespace
}  // namespace tandem::rules
