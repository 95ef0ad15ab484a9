// The shape of a tracked table as clients see it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/value.h"

namespace tandem {

// Tandem's column types, the portable names a datasource maps its own types onto
// (docs/protocol.md, "Types"). Values of every type travel as Value (null, integer, real,
// text, blob).
enum class ColumnType {
  integer,
  real,
  text,
  blob,
  boolean,
  numeric,
  json,
  timestamp,
  date,
  uuid,
  any
};

std::string_view column_type_name(ColumnType type) noexcept;
std::optional<ColumnType> parse_column_type(std::string_view name) noexcept;

struct ColumnSchema {
  std::string name;
  ColumnType type = ColumnType::any;
  std::string declared_type;  // as the database declares it, e.g. "VARCHAR(20)"
  bool not_null = false;
  bool has_default = false;
  int primary_key_position = 0;  // 1-based position in the primary key; 0 if not part of it
};

struct TableSchema {
  std::string name;
  std::vector<ColumnSchema> columns;     // in declaration order
  std::vector<std::string> primary_key;  // column names, in key order; never empty

  const ColumnSchema* column(std::string_view name) const;
  bool has_column(std::string_view name) const { return column(name) != nullptr; }
  bool is_primary_key(std::string_view name) const;

  // The primary-key columns of `row`, in key order (missing ones are null).
  std::vector<Value> key_of(const Row& row) const;
  // The same as a row of the key columns alone (a change's or mutation's `pk`).
  Row key_row(const Row& row) const;

  friend bool operator==(const TableSchema&, const TableSchema&) = default;
};

inline bool operator==(const ColumnSchema& a, const ColumnSchema& b) {
  return a.name == b.name && a.type == b.type && a.declared_type == b.declared_type &&
         a.not_null == b.not_null && a.has_default == b.has_default &&
         a.primary_key_position == b.primary_key_position;
}

}  // namespace tandem
