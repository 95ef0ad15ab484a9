#include "server/fanout_index.h"

#include <algorithm>
#include <cmath>

#include "rules/change_visibility.h"
#include "server/membership_index.h"

namespace tandem::server {
namespace {

// A value a row can equal under RowFilter's comparison: NULL and NaN equal nothing.
bool routable(const Value& value) {
  if (value.is_null()) return false;
  return !(value.kind() == Value::Kind::real && std::isnan(value.as_real()));
}

// The routes a filter needs, or nullopt when it is not routable (every change must be asked).
std::optional<SubscriberRoutes> routes_of(const std::string& table, const RowFilter& filter) {
  SubscriberRoutes routes;
  switch (filter.kind()) {
    case RowFilter::Kind::never:
      return routes;  // no row: nothing to route
    case RowFilter::Kind::compare:
      if (filter.op() != RowFilter::Op::eq) return std::nullopt;
      if (routable(filter.value()))
        routes.by_value.push_back({table, filter.column(), filter.value()});
      return routes;  // `= NULL` passes no row
    case RowFilter::Kind::in_values:
      for (const auto& value : filter.values()) {
        if (routable(value)) routes.by_value.push_back({table, filter.column(), value});
      }
      return routes;
    case RowFilter::Kind::in_membership:
      routes.by_membership.push_back({table, filter.column(), filter.membership()});
      return routes;
    case RowFilter::Kind::all_of:
      // Every operand must pass: the first routable one finds every row that can.
      for (const auto& operand : filter.operands()) {
        if (auto narrowed = routes_of(table, operand)) return narrowed;
      }
      return std::nullopt;
    case RowFilter::Kind::any_of:
      for (const auto& operand : filter.operands()) {
        auto part = routes_of(table, operand);
        if (!part) return std::nullopt;
        routes.by_value.insert(routes.by_value.end(), part->by_value.begin(), part->by_value.end());
        routes.by_membership.insert(routes.by_membership.end(), part->by_membership.begin(),
                                    part->by_membership.end());
      }
      return routes;
    case RowFilter::Kind::always:
    case RowFilter::Kind::negation:
    case RowFilter::Kind::is_null:
      return std::nullopt;
  }
  return std::nullopt;
}

bool same_declaration(const RowFilter::Membership& a, const RowFilter::Membership& b) {
  return a.table == b.table && a.key_column == b.key_column && a.member_column == b.member_column;
}

}  // namespace

void SubscriberRoutes::add_filter(const std::string& table, const RowFilter& filter) {
  auto routes = routes_of(table, filter);
  if (!routes) {
    every_change.push_back(table);
    return;
  }
  by_value.insert(by_value.end(), routes->by_value.begin(), routes->by_value.end());
  by_membership.insert(by_membership.end(), routes->by_membership.begin(),
                       routes->by_membership.end());
}

void FanoutIndex::set(const HubSubscriber* subscriber, const SubscriberRoutes& routes) {
  remove(subscriber);
  add(subscriber, routes);
  m_routes.emplace(subscriber, routes);
}

void FanoutIndex::add(const HubSubscriber* subscriber, const SubscriberRoutes& routes) {
  for (const auto& table : routes.every_change)
    m_tables[table].every_change.insert(subscriber);
  for (const auto& route : routes.by_value)
    m_tables[route.table].by_value[route.column][route.value].insert(subscriber);
  for (const auto& route : routes.by_membership) {
    auto& table = m_tables[route.table];
    auto group = std::find_if(
        table.by_membership.begin(), table.by_membership.end(), [&](const MembershipRoutes& m) {
          return m.column == route.column && same_declaration(m.declaration, route.membership);
        });
    if (group == table.by_membership.end()) {
      table.by_membership.push_back({route.column, route.membership, {}});
      group = std::prev(table.by_membership.end());
    }
    group->by_member[route.membership.member].insert(subscriber);
  }
}

void FanoutIndex::remove(const HubSubscriber* subscriber) {
  auto known = m_routes.find(subscriber);
  if (known == m_routes.end()) return;
  const auto& routes = known->second;
  for (const auto& table : routes.every_change)
    m_tables[table].every_change.erase(subscriber);
  for (const auto& route : routes.by_value) {
    auto& by_value = m_tables[route.table].by_value[route.column];
    auto value = by_value.find(route.value);
    if (value == by_value.end()) continue;
    value->second.erase(subscriber);
    if (value->second.empty()) by_value.erase(value);
  }
  for (const auto& route : routes.by_membership) {
    for (auto& group : m_tables[route.table].by_membership) {
      if (group.column != route.column || !same_declaration(group.declaration, route.membership))
        continue;
      auto member = group.by_member.find(route.membership.member);
      if (member == group.by_member.end()) continue;
      member->second.erase(subscriber);
      if (member->second.empty()) group.by_member.erase(member);
    }
  }
  m_routes.erase(known);
}

void FanoutIndex::concerned(const sync::Change& change, const MembershipIndex* memberships,
                            std::set<const HubSubscriber*>& out) const {
  auto table = m_tables.find(change.table);
  if (table == m_tables.end()) return;
  out.insert(table->second.every_change.begin(), table->second.every_change.end());
  concerned_by_row(table->second, change.row, memberships, out);
  // An update also concerns those who saw the row before it: it may leave their view.
  if (change.op == sync::Op::update && !change.old.empty())
    concerned_by_row(table->second, rules::row_before(change), memberships, out);
}

void FanoutIndex::concerned_by_row(const TableRoutes& routes, const Row& row,
                                   const MembershipIndex* memberships, Subscribers& out) const {
  for (const auto& [column, by_value] : routes.by_value) {
    auto value = row.find(column);
    if (value == row.end() || !routable(value->second)) continue;
    if (auto found = by_value.find(value->second); found != by_value.end())
      out.insert(found->second.begin(), found->second.end());
  }
  for (const auto& group : routes.by_membership) {
    if (!memberships) {
      for (const auto& [member, subscribers] : group.by_member)
        out.insert(subscribers.begin(), subscribers.end());
      continue;
    }
    auto key = row.find(group.column);
    if (key == row.end() || key->second.is_null()) continue;
    for (const auto& member : memberships->members(group.declaration, key->second)) {
      if (auto found = group.by_member.find(member); found != group.by_member.end())
        out.insert(found->second.begin(), found->second.end());
    }
  }
}

}  // namespace tandem::server
