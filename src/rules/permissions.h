// The permission engine (docs/permissions.md), from a rules file or, without one, from the
// owner-column default (a table with the owner column is private to each owner, a table
// without it is public: users read it, only admins write it; admins do everything).
// Read side (permissions.cpp): which rows and columns of a table a reader sees. Every path
// asks it the same question and gets the same RowFilter: snapshots compile it to SQL, the
// live stream and pushes evaluate it in memory.
// Write side (permissions_write.cpp): whether a pushed mutation may be applied, and whether
// the row the merge leaves may be stored.
// Immutable after construction: thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "auth/token.h"
#include "common/row_filter.h"
#include "common/table_schema.h"
#include "rules/access_rules.h"
#include "rules/filter_resolution.h"
#include "rules/permission_rules.h"
#include "rules/rules_options.h"
#include "sync/mutation.h"

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

// What a pushed mutation does to a row, which decides the permission that applies:
// - insert: an Op::insert when no visible row has the key (the merge creates the row, or
//   revives a deleted one);
// - update: an Op::update of a visible row (an Op::update of no visible row is refused);
// - upsert: an Op::insert when a visible row has the key. The merge writes its columns over
//   the row, and records an insert that outlives a delete stamped earlier: the same write
//   re-creates the row if that delete arrives later. So it needs both permissions.
// - remove: an Op::remove.
enum class WriteAction { insert, update, upsert, remove };

std::string_view write_action_name(WriteAction action) noexcept;

class Permissions {
 public:
  // No rules file: the owner-column default.
  explicit Permissions(RulesOptions options);
  // A rules file: a table or role it does not name is invisible to that role.
  Permissions(RulesOptions options, RuleSet rules);

  bool has_rules_file() const { return m_rules.has_value(); }
  // The rules file's rules; nullptr without one.
  const RuleSet* rule_set() const { return m_rules ? &*m_rules : nullptr; }
  const RulesOptions& options() const { return m_options; }

  // What `reader` reads of `table`. A rule that cannot be applied to the table as it is now
  // (a column it names was dropped, a membership table is not tracked) gives no rows, and
  // its reason in `problem` when given.
  ReadAccess read_access(const auth::Claims& reader, const TableSchema& table,
                         const SchemaLookup& schema_of, std::string* problem = nullptr) const;

  // The digest of what the rules let `reader` read (view_digest.h); empty without a rules
  // file and for admins (the owner-column default and an admin's view never change).
  std::string view_digest(const auth::Claims& reader) const;
  // The rules file's version (rules_digest); empty without a file.
  std::string rules_version() const;

  // Whether `writer` may write `table` at all (some insert, update or delete permission):
  // what the welcome tells a client so that it does not offer edits that will be refused.
  bool may_write(const auth::Claims& writer, const TableSchema& table) const;

  // The roles the rules file gives any permission on `table`, in name order (empty without a
  // file): what the admin API shows beside a table.
  std::vector<std::string> roles_for(std::string_view table) const;

  // The membership tables the rules declare (member left NULL): what the membership index
  // keeps in memory.
  std::vector<RowFilter::Membership> membership_tables() const;

  // `row` with only the columns `access` lets its reader see.
  static Row visible_part(const Row& row, const ReadAccess& access, const TableSchema& table);

  // The action `mutation` is on the row stored under its key: `existing` is the visible
  // stored row, nullptr when there is none. authorize_write decides it this way; its caller
  // gives the same action to authorize_result.
  static WriteAction write_action(const Row* existing, const sync::Mutation& mutation);

  // Decides a push's mutation and completes it, with AccessRules::authorize_write's contract:
  // `existing` is the visible stored row (nullptr when absent), read in the same write
  // transaction. Admins may do everything. `memberships` answers the rules' in_membership
  // filters; when it is null such a filter does not pass (the write is refused, nothing
  // throws). Only `mutation.values` is completed; nothing else is changed.
  // Without a rules file: exactly AccessRules (the owner of a private row is filled in).
  // With one, by the permission of the writer's role for write_action() (none: forbidden):
  //  - a stored row the writer may not read (read_access) is refused with not_found, as an
  //    absent one: whether a hidden row exists is never revealed. So is an update or a
  //    delete of a key no visible row has;
  //  - update, upsert and delete: the stored row must pass the action's filter (forbidden);
  //  - every column an insert sets (its key included) must be in insert.columns, every
  //    column an update sets (its key excepted: an update cannot change it) in
  //    update.columns; an upsert's, in both. A preset column need not be listed;
  //  - presets (insert's; update's for updates and upserts) then overwrite what was sent,
  //    as Hasura does. A preset key column is not rewritten (the key names the row the push
  //    addresses): the key must already hold the preset value (forbidden otherwise).
  // Other refusals are forbidden, naming the table, the action and the column; a rule that
  // cannot be applied to the table as it is now (a dropped column) refuses the write.
  Status authorize_write(const auth::Claims& writer, const TableSchema& table, const Row* existing,
                         sync::Mutation& mutation, const SchemaLookup& schema_of,
                         const MembershipLookup* memberships) const;

  // Decides the row a write leaves, after the merge and before it is stored, with
  // AccessRules::authorize_result's contract: `merged` is the live row, and
  // `inherits_others_values` tells that the write revives a deleted row with values others
  // wrote after the delete (which the writer would then read): refused with not_found for
  // every user, as a row of someone else. `action` is write_action() of the mutation as
  // authorize_write saw it. Without a rules file: exactly AccessRules (the writer must own the
  // merged row). With one: an insert's row must pass insert.check, an update's update.check,
  // an upsert's both (forbidden otherwise); a delete that leaves a row (a later insert
  // outlived it) only erased values, and is accepted. `memberships` as for authorize_write.
  Status authorize_result(const auth::Claims& writer, const TableSchema& table, WriteAction action,
                          const Row& merged, bool inherits_others_values,
                          const SchemaLookup& schema_of, const MembershipLookup* memberships) const;

 private:
  ReadAccess default_read_access(const auth::Claims& reader, const TableSchema& table) const;
  Status default_authorize_write(const auth::Claims& writer, const TableSchema& table,
                                 const Row* existing, sync::Mutation& mutation) const;
  Status default_authorize_result(const auth::Claims& writer, const TableSchema& table,
                                  const Row& merged, bool inherits_others_values) const;
  // The permissions of the writer's role on `table` in the rules file; nullptr: none.
  const RolePermissions* role_permissions(const auth::Claims& writer,
                                          const TableSchema& table) const;

  RulesOptions m_options;
  AccessRules m_owner_rules{m_options};  // the owner-column default's write decisions
  std::optional<RuleSet> m_rules;
};

}  // namespace tandem::rules
