// The tables and Esink variables the Esink tests share: a users table with a password FILTERS
// hides, orders routed by their owner, messages routed by sender and recipient (the sender
// filtered), news for everyone, secrets for nobody, codes whose key column is filtered.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/table_schema.h"
#include "compat/esink/esink_permissions.h"
#include "config/config.h"

namespace tandem::compat::esink::test_catalog {

inline ColumnSchema column(const std::string& name, ColumnType type) {
  ColumnSchema schema;
  schema.name = name;
  schema.type = type;
  return schema;
}

// A table keyed by its first column.
inline TableSchema table(const std::string& name, std::vector<ColumnSchema> columns) {
  TableSchema schema;
  schema.name = name;
  schema.columns = std::move(columns);
  schema.columns.front().primary_key_position = 1;
  schema.primary_key = {schema.columns.front().name};
  return schema;
}

inline Catalog catalog() {
  const auto integer = ColumnType::integer;
  const auto text = ColumnType::text;
  Catalog tables;
  for (auto schema :
       {table("users", {column("id", integer), column("name", text), column("password", text)}),
        table("orders", {column("id", integer), column("user_id", integer), column("item", text)}),
        table("messages", {column("id", integer), column("sender_id", integer),
                           column("recipient_id", integer), column("body", text)}),
        table("news", {column("id", integer), column("title", text)}),
        table("secrets", {column("id", integer), column("body", text)}),
        table("codes", {column("code", text), column("owner", text)})}) {
    tables.emplace(schema.name, schema);
  }
  return tables;
}

inline config::EsinkOptions esink_options() {
  config::EsinkOptions options;
  options.routing["users"] = config::EsinkRoute{false, {"id"}};
  options.routing["orders"] = config::EsinkRoute{false, {"user_id"}};
  options.routing["messages"] = config::EsinkRoute{false, {"sender_id", "recipient_id"}};
  options.routing["news"] = config::EsinkRoute{true, {}};
  options.routing["codes"] = config::EsinkRoute{false, {"owner"}};
  options.routing["untracked"] = config::EsinkRoute{true, {}};
  options.filters = {{"users", {"password"}},
                     {"messages", {"sender_id"}},
                     {"codes", {"code"}},
                     {"alerts", {"secret"}}};
  return options;
}

}  // namespace tandem::compat::esink::test_catalog
