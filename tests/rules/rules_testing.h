// What the rules tests build: tables by column list, and the claims of a token.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "auth/token.h"
#include "common/table_schema.h"

namespace tandem::rules::testing {

struct Column {
  std::string name;
  ColumnType type = ColumnType::text;
  bool key = false;
};

// A table whose key is its columns marked `key`, in order.
inline TableSchema table(std::string name, const std::vector<Column>& columns) {
  TableSchema schema;
  schema.name = std::move(name);
  int position = 0;
  for (const auto& column : columns) {
    ColumnSchema spec;
    spec.name = column.name;
    spec.type = column.type;
    spec.primary_key_position = column.key ? ++position : 0;
    schema.columns.push_back(spec);
    if (column.key) schema.primary_key.push_back(column.name);
  }
  return schema;
}

// The claims of a token for `sub` with role claim `role` ("admin" is the administrator).
inline auth::Claims claims_of(std::string sub, std::string role = "user") {
  auth::Claims claims;
  claims.subject = std::move(sub);
  claims.role = role == "admin" ? auth::Role::admin : auth::Role::user;
  claims.role_name = std::move(role);
  claims.values["sub"] = auth::ClaimValue{{Value(claims.subject)}, false};
  return claims;
}

}  // namespace tandem::rules::testing
