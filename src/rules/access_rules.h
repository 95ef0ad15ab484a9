// Who may read and write which rows (docs/architecture.md, "Rules").
//
// A table with the owner column (default "owner_id"; "realm_id" for realm-pg-sync users) is
// private: a user reads and writes only rows whose owner is their user id. A table without
// it is public: every user reads it, only admins (and the database itself) write it.
// Admins read and write everything. The server applies these rules to snapshots, to the live
// stream and to pushes. Immutable after construction: thread-safe.
#pragma once

#include <optional>
#include <string>

#include "auth/token.h"
#include "common/result.h"
#include "common/table_schema.h"
#include "rules/rules_options.h"
#include "sync/change.h"

namespace tandem::rules {

struct TableRule {
  bool is_private = false;
  std::string owner_column;                  // set when private
  ColumnType owner_type = ColumnType::text;  // the owner column's type, when private
};

// How one change looks to one reader.
enum class Visibility {
  hidden,   // the reader never saw the row and does not see it now
  visible,  // send the change as it is
  entered,  // the row moved into the reader's view: send it as an insert
  left,     // the row moved out of the reader's view: send it as a delete
};

class AccessRules {
 public:
  explicit AccessRules(RulesOptions options) : m_options(std::move(options)) {}

  const RulesOptions& options() const { return m_options; }
  TableRule rule_for(const TableSchema& table) const;

  bool can_read(const auth::Claims& reader, const TableSchema& table, const Row& row) const;

  // The owner filter a snapshot of `table` needs for `reader` (column, value), or nullopt
  // when the reader sees every row. The value is owner_value(): a null value (a user id the
  // column cannot hold) matches no row. Datasources compare it exactly (no collation, no
  // type conversion), as owns() does in memory.
  std::optional<std::pair<std::string, Value>> read_filter(const auth::Claims& reader,
                                                           const TableSchema& table) const;

  Visibility visibility(const auth::Claims& reader, const TableRule& rule,
                        const sync::Change& change) const;

  // Decides a write and completes it: fills in the owner of a private row when the user
  // left it out. `existing` is the stored live row, if any. Refusals: forbidden (a public
  // table, an owner that is not the user) or not_found (a row of someone else: whether it
  // exists is not revealed).
  Status authorize_write(const auth::Claims& writer, const TableSchema& table, const Row* existing,
                         sync::Mutation& mutation) const;

  // Decides the row a write leaves, after the merge: a user's write must leave a row the
  // user owns (the merge may keep another owner written later), and must not revive a
  // deleted row with values someone else wrote (`inherits_others_values`), which the user
  // would then read. Refusal: not_found, as for a row of someone else.
  Status authorize_result(const auth::Claims& writer, const TableSchema& table, const Row& merged,
                          bool inherits_others_values) const;

 private:
  RulesOptions m_options;
};

// The one value that stands for a user id in an owner column of `type`, so that every path
// (snapshot SQL, the live filter, writes) compares owners the same, exactly:
// - an integer column: the integer whose decimal form is the id ("7"; never "07", "+7",
//   "7.0" or " 7");
// - a text or untyped column: the id as text, compared byte for byte (no collation);
// - a uuid column: the id when it is a uuid in PostgreSQL's form (lower case, hyphens);
// - any other type, or an id the column cannot hold: null, which no row's owner equals.
Value owner_value(const std::string& user_id, ColumnType type);

// Whether `row`'s owner column holds exactly owner_value(user_id, type).
bool owns(const Row& row, const std::string& owner_column, ColumnType type,
          const std::string& user_id);

}  // namespace tandem::rules
