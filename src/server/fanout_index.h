// Which subscribers a published change may concern, so that the hub hands a batch only to
// them instead of to every session (docs/architecture.md, "Fan-out"). Sessions that share a
// rule's resolved value form one group: a change is routed to a group by looking the row's
// value up, once, whatever the number of sessions in it. Each session still judges the change
// itself (change_visibility): routing only narrows who is asked, it never decides.
//
// A subscriber's routes say, per table, how to find it from a changed row:
//  - by value: the row's `column` equals `value` (a filter `column = <claim value>`, the owner
//    column; a membership table's member column for the session's own membership rows);
//  - by membership: the row's `column` is a key the session's member value is a member of in
//    a membership table (`column _in_membership`), looked up in the membership index;
//  - every change: any other filter (public tables, admins, filters with ranges or negations).
// A table without routes concerns the subscriber not at all. Routes are derived from the
// session's RowFilters (routes_for), so they are never narrower than the filters: a filter
// `a AND b` is routed by whichever operand is routable, `a OR b` by both or else by every
// change.
//
// Thread-safety: guarded by the hub's mutex (the hub owns it); not thread-safe on its own.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/row_filter.h"
#include "sync/change.h"

namespace tandem::server {

class HubSubscriber;
class MembershipIndex;

struct SubscriberRoutes {
  struct ByValue {
    std::string table;
    std::string column;
    Value value;
  };
  struct ByMembership {
    std::string table;
    std::string column;
    RowFilter::Membership membership;  // member: the subscriber's value
  };
  std::vector<std::string> every_change;  // tables
  std::vector<ByValue> by_value;
  std::vector<ByMembership> by_membership;

  // The routes of one table read with `filter` (never: none; unroutable: every change).
  void add_filter(const std::string& table, const RowFilter& filter);
};

class FanoutIndex {
 public:
  // Replaces the subscriber's routes.
  void set(const HubSubscriber* subscriber, const SubscriberRoutes& routes);
  void remove(const HubSubscriber* subscriber);
  bool routed(const HubSubscriber* subscriber) const { return m_routes.contains(subscriber); }

  // Adds to `out` the routed subscribers `change` may concern: those found by the row it
  // leaves and, for an update, by the row it replaced. `memberships` resolves membership
  // routes; without it they match every change of their table.
  void concerned(const sync::Change& change, const MembershipIndex* memberships,
                 std::set<const HubSubscriber*>& out) const;

 private:
  using Subscribers = std::set<const HubSubscriber*>;
  struct MembershipRoutes {
    std::string column;
    RowFilter::Membership declaration;  // member unused
    std::map<Value, Subscribers, std::less<>> by_member;
  };
  struct TableRoutes {
    Subscribers every_change;
    std::map<std::string, std::map<Value, Subscribers, std::less<>>, std::less<>> by_value;
    std::vector<MembershipRoutes> by_membership;
  };

  void add(const HubSubscriber* subscriber, const SubscriberRoutes& routes);
  void concerned_by_row(const TableRoutes& routes, const Row& row,
                        const MembershipIndex* memberships, Subscribers& out) const;

  std::map<std::string, TableRoutes, std::less<>> m_tables;
  std::map<const HubSubscriber*, SubscriberRoutes> m_routes;
};

}  // namespace tandem::server
