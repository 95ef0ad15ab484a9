#include "common/table_schema.h"

#include <algorithm>

namespace tandem {
namespace {

constexpr std::pair<ColumnType, std::string_view> kTypeNames[] = {
    {ColumnType::integer, "integer"}, {ColumnType::real, "real"},
    {ColumnType::text, "text"},       {ColumnType::blob, "blob"},
    {ColumnType::boolean, "boolean"}, {ColumnType::numeric, "numeric"},
    {ColumnType::json, "json"},       {ColumnType::timestamp, "timestamp"},
    {ColumnType::date, "date"},       {ColumnType::uuid, "uuid"},
    {ColumnType::any, "any"},
};

}  // namespace

std::string_view column_type_name(ColumnType type) noexcept {
  for (const auto& [value, name] : kTypeNames) {
    if (value == type) return name;
  }
  return "any";
}

std::optional<ColumnType> parse_column_type(std::string_view name) noexcept {
  for (const auto& [value, text] : kTypeNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

const ColumnSchema* TableSchema::column(std::string_view name) const {
  auto it =
      std::find_if(columns.begin(), columns.end(), [&](const auto& c) { return c.name == name; });
  return it == columns.end() ? nullptr : &*it;
}

bool TableSchema::is_primary_key(std::string_view name) const {
  return std::find(primary_key.begin(), primary_key.end(), name) != primary_key.end();
}

std::vector<Value> TableSchema::key_of(const Row& row) const {
  std::vector<Value> key;
  key.reserve(primary_key.size());
  for (const auto& name : primary_key) {
    auto it = row.find(name);
    key.push_back(it == row.end() ? Value{} : it->second);
  }
  return key;
}

Row TableSchema::key_row(const Row& row) const {
  Row key;
  for (const auto& name : primary_key) {
    auto it = row.find(name);
    key.emplace(name, it == row.end() ? Value{} : it->second);
  }
  return key;
}

}  // namespace tandem
