// The membership tables permission rules declare (docs/permissions.md, "memberships"), held
// in memory: which group keys each member has. The live stream evaluates `_in_membership`
// filters against it without a database round trip per change and per session.
//
// Consistency: the change publisher applies every batch to the index before publishing the
// batch (before_publish), so a session evaluating a batch sees the memberships as of that
// batch or slightly later, never earlier. A table is read in full when publishing starts, when
// it becomes tracked and when a rules reload declares it; the changes after the publisher's
// position that the read already holds are applied again as they are published. That is
// idempotent: the index keeps each membership row by its primary key.
//
// Threads: starting(), tables_read(), before_publish() and declare() on the publisher's side
// (one writer at a time, ordered by the publisher); contains() and keys() from any thread
// (sessions, the work pool).
#pragma once

#include <map>
#include <set>
#include <shared_mutex>
#include <vector>

#include "common/row_filter.h"
#include "server/change_publisher.h"
#include "storage/datasource.h"

namespace tandem::server {

class MembershipIndex final : public MembershipLookup, public PublishObserver {
 public:
  // One membership table to keep: table, key_column and member_column (member unused).
  using Declaration = RowFilter::Membership;

  // Empty until starting() reads the tables.
  explicit MembershipIndex(std::vector<Declaration> declarations);

  // Reads the declared tables in full (may block: never on an I/O thread). A declared table
  // that is not tracked is kept empty until it is.
  void starting(storage::Datasource& datasource) override;
  // Reads the declared tables that became tracked since they were last read.
  void tables_read(storage::Datasource& datasource,
                   const std::vector<TableSchema>& tables) override;
  // Brings the index up to date with `changes` (in log order).
  void before_publish(const std::vector<sync::Change>& changes) override;

  // Keeps exactly `declarations` from now on (a rules reload): a table kept already stays as
  // it is, a new one is read in full (may block). Called between two batches
  // (ChangePublisher::between_batches).
  void declare(std::vector<Declaration> declarations, storage::Datasource& datasource);

  bool contains(const RowFilter::Membership& membership, const Value& key) const override;
  // Every key `member` has in the declared membership; for the rows that enter or leave a
  // view when a membership changes.
  std::vector<Value> keys(const Declaration& declaration, const Value& member) const;
  // Every member of the group `key` in the declared membership: whom a change of a row of
  // that group may concern (fanout_index.h).
  std::vector<Value> members(const Declaration& declaration, const Value& key) const;

 private:
  struct Groups {
    Declaration declaration;
    bool loaded = false;  // read from its table (which was tracked then)
    // Each membership row by its primary key: (member, key), exact values as rows hold them.
    std::map<Row, std::pair<Value, Value>> by_row;
    // member -> key -> how many rows say so (a member may be listed twice in one group, and
    // stays a member until the last of those rows goes).
    std::map<Value, std::map<Value, int>> keys_by_member;
    std::map<Value, std::map<Value, int>> members_by_key;  // the same counts, by key
  };

  static Groups read(storage::Datasource& datasource, const Declaration& declaration,
                     const std::vector<TableSchema>& tables);
  static void put(Groups& groups, const Row& pk, const Row& row);
  static void erase(Groups& groups, const Row& pk);
  const Groups* find(const RowFilter::Membership& membership) const;  // m_mutex held

  mutable std::shared_mutex m_mutex;
  std::vector<Groups> m_groups;
};

}  // namespace tandem::server
