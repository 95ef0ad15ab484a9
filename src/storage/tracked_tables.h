// The tracked tables as a datasource's registry lists them, introspected. Shared by the
// backends whose table descriptions differ (PgTable, MysqlTable).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/logging.h"

namespace tandem::storage {

// `introspect(name)` returns a Result<Table>. A table that cannot be used any more (dropped,
// altered beyond what Tandem takes) is skipped with a warning: it stays registered, so
// fixing it and reloading brings it back.
template <typename Table, typename Introspect>
std::map<std::string, Table, std::less<>> usable_tables(const std::vector<std::string>& names,
                                                        Introspect&& introspect) {
  std::map<std::string, Table, std::less<>> tables;
  for (const auto& name : names) {
    auto table = introspect(name);
    if (!table) {
      log::warn("tracked table is unusable; it is skipped until fixed",
                {{"table", name}, {"reason", std::string(table.error().message())}});
      continue;
    }
    tables.emplace(name, std::move(*table));
  }
  return tables;
}

}  // namespace tandem::storage
