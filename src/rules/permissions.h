// The permission engine's read side (docs/permissions.md): which rows and columns of a table
// a reader sees, from a rules file or, without one, from the owner-column default (a table
// with the owner column is private to each owner, a table without it is public; admins see
// everything). Every path asks it the same question and gets the same RowFilter: snapshots
// compile it to SQL, the live stream and pushes evaluate it in memory.
// Immutable after construction: thread-safe.
#pragma once

#include <optional>

#include "auth/token.h"
#include "common/row_filter.h"
#include "common/table_schema.h"
#include "rules/filter_resolution.h"
#include "rules/permission_rules.h"
#include "rules/rules_options.h"

namespace tandem::rules {

// What one reader may read of one table.
struct ReadAccess {
  RowFilter rows = RowFilter::never();
  // Readable columns; nullopt: every column. The key columns of a readable row are always
  // readable: a replica cannot hold a row it cannot name.
  ColumnList columns;

  bool sees_nothing() const { return rows.kind() == RowFilter::Kind::never; }
  bool sees_column(std::string_view column, const TableSchema& table) const;
};

class Permissions {
 public:
  // No rules file: the owner-column default.
  explicit Permissions(RulesOptions options);
  // A rules file: a table or role it does not name is invisible to that role.
  Permissions(RulesOptions options, RuleSet rules);

  bool has_rules_file() const { return m_rules.has_value(); }
  const RulesOptions& options() const { return m_options; }

  // What `reader` reads of `table`. A rule that cannot be applied to the table as it is now
  // (a column it names was dropped, a membership table is not tracked) gives no rows, and
  // its reason in `problem` when given.
  ReadAccess read_access(const auth::Claims& reader, const TableSchema& table,
                         const SchemaLookup& schema_of, std::string* problem = nullptr) const;

  // `row` with only the columns `access` lets its reader see.
  static Row visible_part(const Row& row, const ReadAccess& access, const TableSchema& table);

 private:
  ReadAccess default_read_access(const auth::Claims& reader, const TableSchema& table) const;

  RulesOptions m_options;
  std::optional<RuleSet> m_rules;
};

}  // namespace tandem::rules
