// The tracked tables as the live change stream knows them, and the permission rules that say
// who reads what of them, versioned so that sessions and published changes can tell which
// schemas and rules they were shaped by. A rules reload is a new catalog with the same tables:
// it reaches every session in order with the changes, like a schema change.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/table_schema.h"
#include "sync/change.h"

namespace tandem::rules {
class Permissions;
}

namespace tandem::server {

using PermissionsPtr = std::shared_ptr<const rules::Permissions>;

struct Catalog {
  // Increases with every change of the tracked set or of a table's columns; 0 means "no
  // catalog" (e.g. a change read from the log and not shaped by any).
  std::uint64_t version = 0;
  std::map<std::string, TableSchema, std::less<>> tables;
  // Null until the server sets them (Hub::set_permissions): a reader then sees nothing.
  PermissionsPtr permissions;

  static Catalog from(std::uint64_t version, const std::vector<TableSchema>& tables);
  const TableSchema* find(std::string_view table) const;
};
using CatalogPtr = std::shared_ptr<const Catalog>;

// Whether the change holds columns `table` no longer has (a change logged before a column
// was dropped).
bool has_stale_columns(const sync::Change& change, const TableSchema& table);
// Removes those columns from the change's row, pk and old values, so that a dropped column
// never reaches a client after the schema that dropped it.
void drop_stale_columns(sync::Change& change, const TableSchema& table);

}  // namespace tandem::server
