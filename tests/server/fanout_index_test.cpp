// The fan-out index: which sessions a change may concern, found from the change's rows by the
// values their filters compare (docs/architecture.md, "Fan-out"). Routing only narrows who is
// asked: it must find every session whose filter the row can pass.
#include "server/fanout_index.h"

#include <gtest/gtest.h>

#include "server/hub.h"
#include "server/membership_index.h"

namespace tandem::server {
namespace {

using sync::Op;

// Stand-ins for sessions: only their addresses matter to the index.
struct Session final : HubSubscriber {
  void on_batch(const ChangeBatchPtr&) override {}
  void on_catalog(const CatalogPtr&) override {}
};

const RowFilter::Membership kListMembers{"list_members", "list_id", "user_id", Value{}};

RowFilter::Membership member(Value user) {
  auto membership = kListMembers;
  membership.member = std::move(user);
  return membership;
}

sync::Change change(std::string table, Op op, Row row, Row old = {}) {
  sync::Change change;
  change.table = std::move(table);
  change.op = op;
  change.pk = {{"id", row.at("id")}};
  change.row = std::move(row);
  change.old = std::move(old);
  return change;
}

SubscriberRoutes reading(const std::string& table, const RowFilter& filter) {
  SubscriberRoutes routes;
  routes.add_filter(table, filter);
  return routes;
}

class FanoutIndexTest : public ::testing::Test {
 protected:
  std::set<const HubSubscriber*> concerned(const sync::Change& change) {
    std::set<const HubSubscriber*> out;
    m_index.concerned(change, &m_memberships, out);
    return out;
  }

  FanoutIndex m_index;
  MembershipIndex m_memberships{{kListMembers}};
  Session alice, bob, carol;
};

TEST_F(FanoutIndexTest, AnOwnerFilterFindsTheOwnerOnlyAndAnUpdateAlsoTheOwnerBefore) {
  m_index.set(&alice, reading("notes", RowFilter::compare("owner", RowFilter::Op::eq, "alice")));
  m_index.set(&bob, reading("notes", RowFilter::compare("owner", RowFilter::Op::eq, "bob")));
  EXPECT_EQ(concerned(change("notes", Op::insert, {{"id", 1}, {"owner", "alice"}})),
            (std::set<const HubSubscriber*>{&alice}));
  EXPECT_EQ(
      concerned(change("notes", Op::update, {{"id", 1}, {"owner", "bob"}}, {{"owner", "alice"}})),
      (std::set<const HubSubscriber*>{&alice, &bob}))
      << "the row leaves alice's view and enters bob's";
  EXPECT_TRUE(concerned(change("notes", Op::insert, {{"id", 2}, {"owner", Value{}}})).empty());
  EXPECT_TRUE(concerned(change("other", Op::insert, {{"id", 2}, {"owner", "alice"}})).empty());
}

TEST_F(FanoutIndexTest, ValuesMatchAsFiltersCompareThem) {
  m_index.set(&alice, reading("t", RowFilter::compare("n", RowFilter::Op::eq, 7)));
  EXPECT_EQ(concerned(change("t", Op::insert, {{"id", 1}, {"n", 7.0}})).size(), 1u)
      << "7 = 7.0, as in SQL";
  EXPECT_TRUE(concerned(change("t", Op::insert, {{"id", 1}, {"n", "7"}})).empty());
}

TEST_F(FanoutIndexTest, AMembershipFilterFindsTheGroupsMembers) {
  m_memberships.before_publish(
      {change("list_members", Op::insert, {{"id", "m1"}, {"list_id", "L1"}, {"user_id", "alice"}}),
       change("list_members", Op::insert, {{"id", "m2"}, {"list_id", "L2"}, {"user_id", "bob"}})});
  m_index.set(&alice, reading("items", RowFilter::in_membership("list_id", member("alice"))));
  m_index.set(&bob, reading("items", RowFilter::in_membership("list_id", member("bob"))));
  EXPECT_EQ(concerned(change("items", Op::insert, {{"id", 1}, {"list_id", "L1"}})),
            (std::set<const HubSubscriber*>{&alice}));
  EXPECT_EQ(
      concerned(change("items", Op::update, {{"id", 1}, {"list_id", "L2"}}, {{"list_id", "L1"}})),
      (std::set<const HubSubscriber*>{&alice, &bob}));
}

TEST_F(FanoutIndexTest, AnAndIsRoutedByARoutableOperandAndAnOrNeedsThemAll) {
  auto owner = RowFilter::compare("owner", RowFilter::Op::eq, "alice");
  auto cheap = RowFilter::compare("price", RowFilter::Op::lt, 10);
  m_index.set(&alice, reading("t", RowFilter::all_of({cheap, owner})));
  m_index.set(&bob, reading("t", RowFilter::any_of({cheap, owner})));
  m_index.set(&carol, reading("t", RowFilter::negation(owner)));
  auto found = concerned(change("t", Op::insert, {{"id", 1}, {"owner", "dave"}, {"price", 1}}));
  EXPECT_EQ(found, (std::set<const HubSubscriber*>{&bob, &carol}))
      << "an OR with a range and a NOT are asked about every change";
  found = concerned(change("t", Op::insert, {{"id", 1}, {"owner", "alice"}, {"price", 1}}));
  EXPECT_TRUE(found.contains(&alice));
}

TEST_F(FanoutIndexTest, NewRoutesReplaceTheOldAndRemovedSubscribersAreNeverFound) {
  m_index.set(&alice, reading("t", RowFilter::compare("owner", RowFilter::Op::eq, "alice")));
  m_index.set(&alice, reading("t", RowFilter::never()));
  EXPECT_TRUE(concerned(change("t", Op::insert, {{"id", 1}, {"owner", "alice"}})).empty());
  m_index.set(&bob, reading("t", RowFilter::always()));
  m_index.remove(&bob);
  EXPECT_TRUE(concerned(change("t", Op::insert, {{"id", 1}, {"owner", "alice"}})).empty());
  EXPECT_FALSE(m_index.routed(&bob));
}

}  // namespace
}  // namespace tandem::server
