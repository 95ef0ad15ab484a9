// The membership tables permission rules declare (docs/permissions.md, "memberships"), held
// in memory: which group keys each member has. The live stream evaluates `_in_membership`
// filters against it without a database round trip per change and per session.
//
// Consistency: the change publisher applies every batch to the index before publishing the
// batch (before_publish), so a session evaluating a batch sees the memberships as of that
// batch or slightly later, never earlier. load() reads the tables when the publisher starts;
// changes it read already and applies again are idempotent.
//
// Threads: load() and apply() on the publisher's side (one writer); contains() and keys()
// from any thread (sessions, the work pool).
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
  // that is not tracked is kept empty.
  void starting(storage::Datasource& datasource) override;
  // Brings the index up to date with `changes` (in log order).
  void before_publish(const std::vector<sync::Change>& changes) override;

  bool contains(const RowFilter::Membership& membership, const Value& key) const override;
  // Every key `member` has in the declared membership; for the rows that enter or leave a
  // view when a membership changes.
  std::vector<Value> keys(const Declaration& declaration, const Value& member) const;

 private:
  struct Groups {
    Declaration declaration;
    // member -> key -> how many rows say so (a member may be listed twice in one group, and
    // stays a member until the last of those rows goes). Exact values, as rows hold them.
    std::map<Value, std::map<Value, int>> keys_by_member;
  };

  void add(Groups& groups, const Row& row);
  void remove(Groups& groups, const Row& row);
  const Groups* find(const RowFilter::Membership& membership) const;  // m_mutex held

  const std::vector<Declaration> m_declarations;
  mutable std::shared_mutex m_mutex;
  std::vector<Groups> m_groups;
};

}  // namespace tandem::server
