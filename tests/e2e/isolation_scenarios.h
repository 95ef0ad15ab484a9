// Scenarios where one user tries to read or plant another user's data through the merge
// rule, written once and run against every datasource (SQLite in isolation_e2e_test.cpp,
// PostgreSQL in postgres_e2e_test.cpp). Each takes a function that connects a synced client.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "auth/token.h"
#include "support/sync_test_client.h"
#include "sync/hlc.h"

namespace tandem::testing::isolation {

using Json = nlohmann::json;
using Connect = std::function<std::unique_ptr<SyncTestClient>(
    const std::string& user, const std::string& client_id, auth::Role role)>;

// A clock `ms` milliseconds (and `counter` steps) after `base`, in the wire form.
inline std::string hlc(std::int64_t base, std::int64_t ms, std::uint32_t counter = 0) {
  return sync::Hlc::from_parts(base + ms, counter).to_string();
}

inline Json at(Json mutation, const std::string& clock) {
  mutation["hlc"] = clock;
  return mutation;
}

inline bool mentions(const SyncTestClient& client, const std::string& text) {
  for (const auto& change : client.changes())
    if (change.dump().find(text) != std::string::npos) return true;
  return false;
}

// Bob's one push leaves a dead row holding a value written after its delete (two devices
// produce this: insert t+1, update t+3, delete t+2). Alice inserting the same key must not
// get that value back, in the ack or in a change.
inline void deleted_row_values_are_not_inherited_by_another_user(const Connect& connect) {
  auto bob = connect("bob", "bob-phone", auth::Role::user);
  auto alice = connect("alice", "alice-phone", auth::Role::user);
  auto t = sync::HlcClock::system_millis() - 60'000;
  Json key = {{"id", "o-shared"}};
  auto bob_ack = bob->push(
      {at(SyncTestClient::insert("past_orders", key, {{"item_name", "Mug"}, {"quantity", 1}}),
          hlc(t, 1)),
       at(SyncTestClient::update("past_orders", key, {{"item_name", "SECRET"}}), hlc(t, 3)),
       at(SyncTestClient::remove("past_orders", key), hlc(t, 2))});
  ASSERT_EQ(bob_ack["type"], "ack") << bob_ack.dump();

  auto ack = alice->push({SyncTestClient::insert("past_orders", key, {{"quantity", 5}})});
  ASSERT_EQ(ack["type"], "ack") << ack.dump();
  EXPECT_EQ(ack.dump().find("SECRET"), std::string::npos) << ack.dump();
  ASSERT_EQ(ack["exceptions"].size(), 1u) << ack.dump();
  EXPECT_EQ(ack["exceptions"][0]["status"], "rejected");
  EXPECT_EQ(ack["exceptions"][0]["code"], "not_found") << "as for a row of someone else";
  EXPECT_TRUE(ack["exceptions"][0]["row"].is_null());
  alice->wait_for([] { return false; }, std::chrono::milliseconds(300));
  EXPECT_FALSE(mentions(*alice, "SECRET"));
  EXPECT_FALSE(alice->row("past_orders", key));
}

// As above, but bob's late update also wrote the owner: alice's insert, stamped before it,
// would come back owned by bob with alice's values, and reach bob.
inline void a_user_cannot_plant_a_row_in_another_users_view(const Connect& connect) {
  auto bob = connect("bob", "bob-phone", auth::Role::user);
  auto alice = connect("alice", "alice-phone", auth::Role::user);
  auto t = sync::HlcClock::system_millis() - 60'000;
  Json key = {{"id", "o-planted"}};
  bob->push(
      {at(SyncTestClient::insert("past_orders", key, {{"item_name", "Mug"}}), hlc(t, 1)),
       at(SyncTestClient::update("past_orders", key, {{"item_name", "x"}, {"owner_id", "bob"}}),
          hlc(t, 3)),
       at(SyncTestClient::remove("past_orders", key), hlc(t, 2))});

  auto ack = alice->push(
      {at(SyncTestClient::insert("past_orders", key, {{"item_name", "PLANTED"}}), hlc(t, 2, 5))});
  ASSERT_EQ(ack["type"], "ack") << ack.dump();
  ASSERT_EQ(ack["exceptions"].size(), 1u) << ack.dump();
  EXPECT_EQ(ack["exceptions"][0]["code"], "not_found") << ack.dump();
  bob->wait_for([] { return false; }, std::chrono::milliseconds(300));
  EXPECT_FALSE(mentions(*bob, "PLANTED"));
  EXPECT_FALSE(bob->row("past_orders", key));
  auto admin = connect("ops", "ops-1", auth::Role::admin);
  EXPECT_FALSE(admin->row("past_orders", key)) << "nothing was written";
}

// The same revival by the same user's other device is a normal offline edit and applies,
// keeping the value written after the delete (the merge rule).
inline void a_user_revives_their_own_deleted_row_with_its_later_values(const Connect& connect) {
  auto phone = connect("alice", "alice-phone", auth::Role::user);
  auto laptop = connect("alice", "alice-laptop", auth::Role::user);
  auto t = sync::HlcClock::system_millis() - 60'000;
  Json key = {{"id", "o-revived"}};
  phone->push({at(SyncTestClient::insert("past_orders", key, {{"item_name", "Mug"}}), hlc(t, 1)),
               at(SyncTestClient::update("past_orders", key, {{"item_name", "kept"}}), hlc(t, 3)),
               at(SyncTestClient::remove("past_orders", key), hlc(t, 2))});
  auto ack = laptop->push({SyncTestClient::insert("past_orders", key, {{"quantity", 5}})});
  EXPECT_TRUE(ack["exceptions"].empty()) << ack.dump();
  ASSERT_TRUE(laptop->wait_for([&] { return laptop->row("past_orders", key); }));
  EXPECT_EQ((*laptop->row("past_orders", key))["item_name"], "kept");
  EXPECT_EQ((*laptop->row("past_orders", key))["owner_id"], "alice");
}

// An admin gives bob's order to alice, changing its values in the same write: bob learns
// that the row left his view, and nothing of what it became.
inline void a_row_leaving_a_users_view_carries_only_what_they_saw(const Connect& connect) {
  auto bob = connect("bob", "bob-phone", auth::Role::user);
  auto admin = connect("ops", "ops-1", auth::Role::admin);
  Json key = {{"id", "o-bob-1"}};
  ASSERT_TRUE(bob->row("past_orders", key));
  auto before = *bob->row("past_orders", key);
  auto ack = admin->push({SyncTestClient::update(
      "past_orders", key, {{"owner_id", "alice"}, {"item_name", "NEW-SECRET"}})});
  ASSERT_TRUE(ack["exceptions"].empty()) << ack.dump();
  ASSERT_TRUE(bob->wait_for([&] { return !bob->row("past_orders", key); }));
  const auto& removal = bob->changes().back();
  EXPECT_EQ(removal["op"], "delete");
  EXPECT_EQ(removal["row"]["owner_id"], "bob") << removal.dump();
  EXPECT_EQ(removal["row"]["item_name"], before["item_name"]) << removal.dump();
  EXPECT_FALSE(mentions(*bob, "NEW-SECRET"));
}

}  // namespace tandem::testing::isolation
