#include "server/catalog.h"

namespace tandem::server {
namespace {

bool row_has_stale(const Row& row, const TableSchema& table) {
  for (const auto& [column, value] : row) {
    if (!table.has_column(column)) return true;
  }
  return false;
}

void drop_stale(Row& row, const TableSchema& table) {
  std::erase_if(row, [&](const auto& entry) { return !table.has_column(entry.first); });
}

}  // namespace

Catalog Catalog::from(std::uint64_t version, const std::vector<TableSchema>& tables) {
  Catalog catalog;
  catalog.version = version;
  for (const auto& table : tables)
    catalog.tables.emplace(table.name, table);
  return catalog;
}

const TableSchema* Catalog::find(std::string_view table) const {
  auto it = tables.find(table);
  return it == tables.end() ? nullptr : &it->second;
}

bool has_stale_columns(const sync::Change& change, const TableSchema& table) {
  return row_has_stale(change.row, table) || row_has_stale(change.old, table) ||
         row_has_stale(change.pk, table);
}

void drop_stale_columns(sync::Change& change, const TableSchema& table) {
  drop_stale(change.row, table);
  drop_stale(change.old, table);
  drop_stale(change.pk, table);
}

}  // namespace tandem::server
