// End-to-end: the real server binary, real WebSocket connections, the demo schema.
#include <fmt/format.h>
#include <sqlite3.h>

#include <thread>

#include "e2e_fixture.h"
#include "support/http_client.h"

namespace tandem::testing {
namespace {

using Json = nlohmann::json;

TEST_F(EndToEnd, SnapshotHoldsPublicRowsAndOnlyTheUsersOwnPrivateRows) {
  auto alice = synced("alice", "alice-phone");
  EXPECT_EQ(alice->rows("products"), 4u);
  ASSERT_EQ(alice->rows("past_orders"), 1u);
  EXPECT_NE(alice->row("past_orders", Json{{"id", "o-alice-1"}}), nullptr);
  auto tables = alice->welcome()["tables"];
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0]["name"], "past_orders");
  EXPECT_EQ(tables[0]["access"], "private");
  EXPECT_EQ(tables[1]["access"], "public");
  EXPECT_EQ(tables[1]["writable"], false);
  // The count for a progress bar: 4 products and alice's one order.
  EXPECT_EQ(alice->snapshot_begin()["rows"], 5);
}

TEST_F(EndToEnd, TwoUsersPrivateRowsNeverCross) {
  auto alice = synced("alice", "alice-phone");
  auto bob = synced("bob", "bob-phone");
  auto ack = alice->push({SyncTestClient::insert("past_orders", {{"id", "o-alice-2"}},
                                                 {{"item_name", "Kettle"}, {"quantity", 1}})});
  ASSERT_EQ(ack["type"], "ack") << ack.dump();
  EXPECT_TRUE(ack["exceptions"].empty()) << ack.dump();
  bob->push({SyncTestClient::insert("past_orders", {{"id", "o-bob-2"}}, {{"item_name", "Beans"}})});

  EXPECT_TRUE(alice->wait_for([&] {
    return alice->row("past_orders", Json{{"id", "o-alice-2"}});
  }));
  EXPECT_TRUE(bob->wait_for([&] { return bob->row("past_orders", Json{{"id", "o-bob-2"}}); }));
  // Let any stray delivery arrive before asserting absence.
  alice->wait_for([] { return false; }, std::chrono::milliseconds(300));
  bob->wait_for([] { return false; }, std::chrono::milliseconds(300));
  for (const auto& [key, row] : alice->replica().at("past_orders"))
    EXPECT_EQ(row["owner_id"], "alice") << key;
  for (const auto& [key, row] : bob->replica().at("past_orders"))
    EXPECT_EQ(row["owner_id"], "bob") << key;
  EXPECT_EQ(alice->row("past_orders", Json{{"id", "o-alice-2"}})->at("owner_id"), "alice")
      << "the server filled in the owner";
}

TEST_F(EndToEnd, UserCannotWriteAnotherUsersRowOrAPublicTable) {
  auto mallory = synced("mallory", "mallory-1");
  auto ack = mallory->push({
      SyncTestClient::update("past_orders", {{"id", "o-alice-1"}}, {{"quantity", 99}}),
      SyncTestClient::remove("past_orders", {{"id", "o-bob-1"}}),
      SyncTestClient::insert("past_orders", {{"id", "o-m"}},
                             {{"item_name", "x"}, {"owner_id", "alice"}}),
      SyncTestClient::update("products", {{"id", "p-kettle"}}, {{"price", "0.01"}}),
  });
  ASSERT_EQ(ack["type"], "ack") << ack.dump();
  ASSERT_EQ(ack["exceptions"].size(), 4u) << ack.dump();
  EXPECT_EQ(ack["exceptions"][0]["code"], "not_found");
  EXPECT_TRUE(ack["exceptions"][0]["row"].is_null()) << "another user's row is never echoed back";
  EXPECT_EQ(ack["exceptions"][1]["code"], "not_found");
  EXPECT_EQ(ack["exceptions"][2]["code"], "forbidden");
  EXPECT_EQ(ack["exceptions"][3]["code"], "forbidden");
  EXPECT_EQ(ack["exceptions"][3]["row"]["price"], "59.00")
      << "the public row, so the client can revert";

  auto alice = synced("alice", "alice-phone");
  EXPECT_EQ(alice->row("past_orders", Json{{"id", "o-alice-1"}})->at("quantity"), 2);
  EXPECT_EQ(alice->rows("past_orders"), 1u);
}

TEST_F(EndToEnd, PublicRowsWrittenByAdminsAndByOtherProgramsReachEveryone) {
  auto alice = synced("alice", "alice-phone");
  auto bob = synced("bob", "bob-phone");
  auto admin = synced("root", "console", auth::Role::admin);
  admin->push({SyncTestClient::insert("products", {{"id", "p-new"}},
                                      {{"name", "Scale"}, {"price", "35.00"}})});
  // Another program writes the database file directly, as psql would write PostgreSQL.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(server->database_path().c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE products SET price = '22.00' WHERE id = 'p-espresso'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  for (auto* client : {alice.get(), bob.get()}) {
    EXPECT_TRUE(client->wait_for([&] {
      auto* scale = client->row("products", Json{{"id", "p-new"}});
      auto* beans = client->row("products", Json{{"id", "p-espresso"}});
      return scale && beans && (*beans)["price"] == "22.00";
    }));
  }
}

TEST_F(EndToEnd, DisconnectedClientCatchesUpFromItsCheckpoint) {
  auto alice = synced("alice", "alice-phone");
  auto checkpoint = alice->checkpoint();
  alice.reset();
  auto admin = synced("root", "console", auth::Role::admin);
  admin->push({SyncTestClient::insert("products", {{"id", "p-late"}}, {{"name", "Late"}}),
               SyncTestClient::remove("products", {{"id", "p-filter"}})});

  auto again = connect("alice", "alice-phone");
  auto welcome = again->hello(checkpoint);
  EXPECT_EQ(welcome["snapshot"], false) << "a valid checkpoint resumes without a snapshot";
  again->set_checkpoint(checkpoint);
  // The catch-up may also replay changes logged before the checkpoint's position was
  // stamped (the demo rows); what matters is that the missed ones arrive.
  ASSERT_TRUE(again->wait_for([&] {
    return again->row("products", Json{{"id", "p-late"}}) && again->changes_received() >= 2;
  }));
  ASSERT_TRUE(again->wait_for([&] { return !again->row("products", Json{{"id", "p-filter"}}); }));
}

TEST_F(EndToEnd, AReturningReplicaLearnsTheLogPositionEvenWhenItSeesNoneOfTheChanges) {
  auto alice = synced("alice", "alice-phone");
  auto checkpoint = alice->checkpoint();
  alice.reset();
  auto bob = synced("bob", "bob-phone");
  bob->push({SyncTestClient::insert("past_orders", {{"id", "o-bob-2"}}, {{"item_name", "Mug"}})});
  ASSERT_TRUE(bob->wait_for([&] {
    return bob->row("past_orders", Json{{"id", "o-bob-2"}});
  })) << "published";

  auto again = connect("alice", "alice-phone");
  auto welcome = again->hello(checkpoint);
  again->set_checkpoint(checkpoint);
  ASSERT_GT(welcome["server_seq"].get<std::uint64_t>(), checkpoint["seq"].get<std::uint64_t>());
  // Well under the idle sessions' one-second checkpoint: the end of catch-up says it.
  EXPECT_TRUE(again->sync_until(std::nullopt, std::chrono::milliseconds(700)))
      << "checkpoint " << again->checkpoint().dump() << ", welcome " << welcome.dump();
  EXPECT_EQ(again->changes_received(), 0u);
}

TEST_F(EndToEnd, ClientsOfAFreshServerGetItsStartingRowsOnceInTheSnapshot) {
  auto alice = synced("alice", "alice-phone");
  EXPECT_EQ(alice->rows("products"), 4u);
  alice->wait_for([] { return false; }, std::chrono::milliseconds(500));
  EXPECT_EQ(alice->changes_received(), 0u) << "the demo rows were logged before the listener";
}

TEST_F(EndToEnd, InterruptedSnapshotResumesWhereItStopped) {
  server.reset();
  start({"--snapshot-batch-rows", "7"});
  auto admin = synced("root", "console", auth::Role::admin);
  std::vector<Json> rows;
  for (int i = 0; i < 60; ++i) {
    rows.push_back(SyncTestClient::insert("products", {{"id", fmt::format("bulk-{:03}", i)}},
                                          {{"name", "x"}}));
  }
  admin->push(rows);
  // Snapshots start at the position the live stream has published: wait until it holds the
  // bulk rows, so that no change after the snapshot's start replays them.
  ASSERT_TRUE(admin->wait_for([&] { return admin->rows("products") == 64; }));

  auto first = connect("alice", "alice-tablet");
  first->hello();
  // Take a few pages, then drop the connection mid-snapshot.
  ASSERT_TRUE(first->wait_for([&] { return first->rows("products") >= 20; }));
  auto checkpoint = first->checkpoint();
  ASSERT_TRUE(checkpoint.contains("snapshot")) << checkpoint.dump();
  auto received_before = first->rows("products");
  first.reset();

  auto second = connect("alice", "alice-tablet");
  auto welcome = second->hello(checkpoint);
  EXPECT_EQ(welcome["snapshot"], true);
  ASSERT_TRUE(second->sync_until());
  EXPECT_EQ(received_before + second->rows("products"), 64u) << "each row exactly once across both";
}

TEST_F(EndToEnd, RetriedPushIsAppliedOnce) {
  auto alice = synced("alice", "alice-phone");
  auto observer = synced("alice", "alice-laptop");
  Json push = {{"type", "push"},
               {"mutations", Json::array({{{"client_seq", 1},
                                           {"table", "past_orders"},
                                           {"op", "insert"},
                                           {"pk", {{"id", "o-retry"}}},
                                           {"values", {{"item_name", "Filter"}, {"quantity", 1}}},
                                           {"hlc", "0000000000010000"}},
                                          {{"client_seq", 2},
                                           {"table", "past_orders"},
                                           {"op", "update"},
                                           {"pk", {{"id", "o-retry"}}},
                                           {"values", {{"quantity", 2}}},
                                           {"hlc", "0000000000010001"}}})}};
  auto first = alice->push_raw(push);
  EXPECT_EQ(first["client_seq"], 2);
  auto retry = alice->push_raw(push);  // as after a lost ack
  EXPECT_EQ(retry["client_seq"], 2);
  // The first attempt's outcome is not kept: the retry reports the row as it is now.
  ASSERT_EQ(retry["exceptions"].size(), 2u);
  EXPECT_EQ(retry["exceptions"][0]["status"], "superseded");
  EXPECT_FALSE(retry["exceptions"][0].contains("row")) << "echoed once, on the last";
  EXPECT_EQ(retry["exceptions"][1]["row"]["quantity"], 2);
  ASSERT_TRUE(observer->wait_for([&] {
    return observer->row("past_orders", Json{{"id", "o-retry"}});
  }));
  observer->wait_for([] { return false; }, std::chrono::milliseconds(300));
  EXPECT_EQ(observer->changes_received(), 2u) << "one insert, one update: nothing twice";
  EXPECT_EQ(observer->row("past_orders", Json{{"id", "o-retry"}})->at("quantity"), 2);
}

TEST_F(EndToEnd, AcknowledgedWritesSurviveKillNine) {
  auto alice = synced("alice", "alice-phone");
  std::vector<Json> mutations;
  for (int i = 0; i < 200; ++i) {
    mutations.push_back(SyncTestClient::insert("past_orders", {{"id", fmt::format("o-{:03}", i)}},
                                               {{"item_name", "Beans"}, {"quantity", i}}));
  }
  auto ack = alice->push(mutations);
  ASSERT_EQ(ack["client_seq"], 200);
  server->kill9();
  server = std::make_unique<ServerProcess>(dir.path().string(), std::vector<std::string>{});
  auto later = synced("alice", "alice-laptop");
  EXPECT_EQ(later->rows("past_orders"), 201u);
}

TEST_F(EndToEnd, ConcurrentEditsOfDifferentColumnsBothSurvive) {
  auto phone = synced("alice", "alice-phone");
  auto laptop = synced("alice", "alice-laptop");
  phone->push({SyncTestClient::update("past_orders", {{"id", "o-alice-1"}}, {{"quantity", 5}})});
  laptop->push(
      {SyncTestClient::update("past_orders", {{"id", "o-alice-1"}}, {{"price", "20.00"}})});
  for (auto* client : {phone.get(), laptop.get()}) {
    EXPECT_TRUE(client->wait_for([&] {
      auto* row = client->row("past_orders", Json{{"id", "o-alice-1"}});
      return row && (*row)["quantity"] == 5 && (*row)["price"] == "20.00";
    })) << client->row("past_orders", Json{{"id", "o-alice-1"}})->dump();
  }
}

TEST_F(EndToEnd, OlderConcurrentWriteToTheSameColumnIsSupersededAndReturnsTheWinner) {
  auto phone = synced("alice", "alice-phone");
  auto laptop = synced("alice", "alice-laptop");
  laptop->push({SyncTestClient::update("past_orders", {{"id", "o-alice-1"}}, {{"quantity", 7}})});
  auto stale = SyncTestClient::update("past_orders", {{"id", "o-alice-1"}}, {{"quantity", 3}});
  stale["hlc"] = "0000000000000100";  // made offline long ago
  auto ack = phone->push({stale});
  ASSERT_EQ(ack["exceptions"].size(), 1u) << ack.dump();
  EXPECT_EQ(ack["exceptions"][0]["status"], "superseded");
  EXPECT_EQ(ack["exceptions"][0]["row"]["quantity"], 7);
}

TEST_F(EndToEnd, ClockFarInTheFutureIsRefused) {
  auto alice = synced("alice", "alice-phone");
  auto future = SyncTestClient::insert("past_orders", {{"id", "o-future"}}, {{"item_name", "x"}});
  future["hlc"] = "7fffffffffff0000";
  auto ack = alice->push({future});
  ASSERT_EQ(ack["exceptions"].size(), 1u);
  EXPECT_EQ(ack["exceptions"][0]["code"], "clock_skew");
}

TEST_F(EndToEnd, PingAndHealthAnswerOverHttp) {
  auto ping = http_request("127.0.0.1", server->port(), "GET", "/ping");
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.body, "pong");
  auto health = http_request("127.0.0.1", server->port(), "GET", "/health");
  EXPECT_EQ(health.status, 200);
  auto body = Json::parse(health.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["datasource"]["kind"], "sqlite");
  EXPECT_EQ(body["tracked_tables"], 2);
  auto metrics = http_request("127.0.0.1", server->port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("tandem_sessions_active"), std::string::npos);
}

TEST_F(EndToEnd, SigtermClosesSessionsWithGoingAwayAndExitsCleanly) {
  auto alice = synced("alice", "alice-phone");
  int exit_code = -1;
  auto started = std::chrono::steady_clock::now();
  std::thread stopper([&] { exit_code = server->terminate(); });
  // The client keeps reading, as a real one does, so the closing handshake completes.
  alice->wait_for([&] { return alice->socket().close_info().has_value(); },
                  std::chrono::seconds(10));
  stopper.join();
  EXPECT_EQ(exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4))
      << "an idle session closes at once, without waiting for the grace period";
  auto info = alice->socket().close_info();
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->code, 1001);
}

}  // namespace
}  // namespace tandem::testing
