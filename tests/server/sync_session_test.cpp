// Specification of one sync session (docs/protocol.md) against the real datasource, publisher
// and hub, in process (session_fixture.h): what a client receives, in which order, after which
// transport faults. Every wait has a deadline; nothing sleeps in the hope that work is done.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "session_fixture.h"
#include "support/server_process.h"
#include "support/shared_list_rules.h"

namespace tandem::testing {
namespace {

using Json = nlohmann::json;

// A shop: products are public (only admins and the database write them), notes are private
// (owner_id), and "notes" sorts before "products" (snapshots go in table name order).
std::unique_ptr<SessionFixture> shop(SessionFixtureOptions options = {}) {
  auto server = std::make_unique<SessionFixture>(options);
  server->execute(
      "CREATE TABLE products(id TEXT PRIMARY KEY, name TEXT, price REAL);"
      "CREATE TABLE notes(id TEXT PRIMARY KEY, owner_id TEXT, body TEXT)");
  server->track("products");
  server->track("notes");
  return server;
}

// Products p-1 .. p-n, written by another program.
std::uint64_t stock(SessionFixture& server, int n) {
  std::string sql = "INSERT INTO products VALUES ";
  for (int i = 1; i <= n; ++i)
    sql += fmt::format("{}('p-{}', 'product {}', {}.5)", i > 1 ? ", " : "", i, i, i);
  return server.write(sql);
}

// A client that said hello and received its snapshot.
SessionClient synced(SessionFixture& server, const std::string& user,
                     auth::Role role = auth::Role::user, std::string client_id = "") {
  auto client = server.connect(user, role, std::move(client_id));
  client.hello();
  EXPECT_TRUE(client.wait_for("snapshot_end"));
  return client;
}

FramePredicate page_of(const std::string& table) {
  return [table](const ServerFrame& frame) {
    return frame.type == "snapshot_rows" && frame.json["table"] == table;
  };
}

FramePredicate change_to(const std::string& table, const std::string& id) {
  return [table, id](const ServerFrame& frame) {
    if (frame.type != "changes") return false;
    return std::ranges::any_of(frame.json["changes"], [&](const Json& change) {
      return change["table"] == table && change["pk"]["id"] == id;
    });
  };
}

std::vector<std::string> types(const std::vector<ServerFrame>& frames) {
  std::vector<std::string> result;
  for (const auto& frame : frames)
    result.push_back(frame.type);
  return result;
}

// The primary keys (ids) of the snapshot rows of `table`, in the order received.
std::vector<std::string> snapshot_ids(const std::vector<ServerFrame>& frames,
                                      const std::string& table) {
  std::vector<std::string> ids;
  for (const auto& frame : frames) {
    if (frame.type != "snapshot_rows" || frame.json["table"] != table) continue;
    for (const auto& row : frame.json["rows"])
      ids.push_back(row["id"].get<std::string>());
  }
  return ids;
}

std::vector<Json> changes_in(const std::vector<ServerFrame>& frames) {
  std::vector<Json> changes;
  for (const auto& frame : frames) {
    if (frame.type != "changes") continue;
    for (const auto& change : frame.json["changes"])
      changes.push_back(change);
  }
  return changes;
}

std::vector<std::uint64_t> seqs(const std::vector<Json>& changes) {
  std::vector<std::uint64_t> result;
  for (const auto& change : changes)
    result.push_back(change["seq"].get<std::uint64_t>());
  return result;
}

bool mentions(const std::vector<ServerFrame>& frames, std::string_view text) {
  return std::ranges::any_of(
      frames, [&](const ServerFrame& frame) { return frame.text.find(text) != std::string::npos; });
}

Json with(Json message, const Json& fields) {
  message.update(fields);
  return message;
}

Json push(std::vector<Json> mutations) {
  return {{"type", "push"}, {"mutations", std::move(mutations)}};
}

Json insert(std::uint64_t client_seq, const std::string& table, const std::string& id,
            Json values) {
  return {{"client_seq", client_seq},    {"table", table},  {"op", "insert"}, {"pk", {{"id", id}}},
          {"values", std::move(values)}, {"hlc", hlc_now()}};
}

Json update(std::uint64_t client_seq, const std::string& table, const std::string& id,
            Json values) {
  auto mutation = insert(client_seq, table, id, std::move(values));
  mutation["op"] = "update";
  return mutation;
}

// --- Start: hello, welcome, snapshot, live -------------------------------------------------------

TEST(SyncSession, AHelloIsWelcomedThenSnapshottedThenStreamedLiveChanges) {
  auto server = shop();
  stock(*server, 2);
  auto head =
      server->write("INSERT INTO notes VALUES ('n-1', 'alice', 'hi'), ('n-2', 'bob', 'yo')");
  auto alice = server->connect("alice");
  alice.hello();

  auto start = alice.wait_for("snapshot_end");
  ASSERT_TRUE(start);
  ASSERT_EQ(types(*start), (std::vector<std::string>{"welcome", "snapshot_begin", "snapshot_rows",
                                                     "snapshot_rows", "snapshot_end"}));
  const auto& welcome = (*start)[0].json;
  EXPECT_EQ(welcome["user"], "alice");
  EXPECT_EQ(welcome["role"], "user");
  EXPECT_EQ(welcome["server_seq"], head);
  EXPECT_EQ(welcome["snapshot"], true);
  ASSERT_EQ(welcome["tables"].size(), 2u);
  EXPECT_EQ(welcome["tables"][0]["name"], "notes");
  EXPECT_EQ(welcome["tables"][0]["access"], "private");
  EXPECT_EQ(welcome["tables"][0]["owner_column"], "owner_id");
  EXPECT_EQ(welcome["tables"][0]["writable"], true);
  EXPECT_EQ(welcome["tables"][1]["name"], "products");
  EXPECT_EQ(welcome["tables"][1]["access"], "public");
  EXPECT_EQ(welcome["tables"][1]["writable"], false);
  const auto& begin = (*start)[1].json;
  EXPECT_EQ(begin["seq"], head);
  EXPECT_EQ(begin["reset"], true);
  EXPECT_EQ(begin["rows"], 3) << "two products and alice's one note";
  EXPECT_EQ(snapshot_ids(*start, "notes"), (std::vector<std::string>{"n-1"}));
  EXPECT_EQ(snapshot_ids(*start, "products"), (std::vector<std::string>{"p-1", "p-2"}));
  EXPECT_EQ((*start)[4].json["checkpoint"], (Json{{"seq", head}}));

  auto seq = server->write("INSERT INTO products VALUES ('p-3', 'Scale', 20.0)");
  auto live = alice.wait_for_seq(seq);
  ASSERT_TRUE(live);
  auto changes = changes_in(*live);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["seq"], seq);
  EXPECT_EQ(changes[0]["table"], "products");
  EXPECT_EQ(changes[0]["op"], "insert");
  EXPECT_EQ(changes[0]["pk"], (Json{{"id", "p-3"}}));
  EXPECT_EQ(changes[0]["row"], (Json{{"id", "p-3"}, {"name", "Scale"}, {"price", 20.0}}));
  EXPECT_EQ(changes[0]["node"], "$db") << "an outside write";
  EXPECT_EQ(alice.last_checkpoint()->seq, seq);
  EXPECT_EQ(alice.connection().log_identity(), "alice/alice-device");
}

TEST(SyncSession, APingRightAfterHelloIsAnsweredAfterTheWelcome) {
  auto server = shop();
  auto alice = server->connect("alice");
  alice.hello();
  alice.send(Json{{"type", "ping"}, {"id", 7}});
  auto frames = alice.wait_for("pong");
  ASSERT_TRUE(frames);
  EXPECT_EQ(frames->front().type, "welcome");
  EXPECT_EQ(frames->back().json, (Json{{"type", "pong"}, {"id", 7}}));
}

TEST(SyncSession, ACheckpointAheadOfTheLogGetsAResetSnapshotAtTheHead) {
  auto server = shop();
  auto head = stock(*server, 1);
  auto alice = server->connect("alice");
  alice.hello(protocol::Checkpoint{head + 100, std::nullopt, {}});
  auto start = alice.wait_for("snapshot_end");
  ASSERT_TRUE(start);
  EXPECT_EQ((*start)[0].json["snapshot"], true);
  EXPECT_EQ((*start)[1].json["reset"], true);
  EXPECT_EQ((*start)[1].json["seq"], head);
  EXPECT_EQ(snapshot_ids(*start, "products"), (std::vector<std::string>{"p-1"}));
}

// --- Rules ---------------------------------------------------------------------------------------

TEST(SyncSession, APrivateRowOfAnotherUserIsNeitherSnapshottedNorStreamed) {
  auto server = shop();
  server->write("INSERT INTO notes VALUES ('n-alice', 'alice', 'mine'), ('n-bob', 'bob', 'his')");
  auto alice = synced(*server, "alice");
  EXPECT_EQ(snapshot_ids(alice.frames(), "notes"), (std::vector<std::string>{"n-alice"}));

  server->write("INSERT INTO notes VALUES ('n-bob-2', 'bob', 'new')");
  server->write("UPDATE notes SET body = 'edited' WHERE id = 'n-bob'");
  server->write("DELETE FROM notes WHERE id = 'n-bob-2'");
  auto visible = server->write("INSERT INTO notes VALUES ('n-alice-2', 'alice', 'also mine')");
  auto live = alice.wait_for_seq(visible);
  ASSERT_TRUE(live);
  auto changes = changes_in(*live);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["pk"]["id"], "n-alice-2");
  EXPECT_FALSE(mentions(alice.frames(), "bob")) << "not a row, not a key, not an owner";
}

TEST(SyncSession, ARowGivenToAnotherUserLeavesTheOldOwnersViewAsADeleteOfWhatTheySaw) {
  auto server = shop();
  server->write("INSERT INTO notes VALUES ('n-1', 'alice', 'draft')");
  auto alice = synced(*server, "alice");
  auto bob = synced(*server, "bob");
  auto seq = server->write("UPDATE notes SET owner_id = 'bob', body = 'for bob' WHERE id = 'n-1'");

  auto left = alice.wait_for_seq(seq);
  ASSERT_TRUE(left);
  auto gone = changes_in(*left);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0]["op"], "delete");
  EXPECT_EQ(gone[0]["row"], (Json{{"id", "n-1"}, {"owner_id", "alice"}, {"body", "draft"}}));
  auto entered = bob.wait_for_seq(seq);
  ASSERT_TRUE(entered);
  auto arrived = changes_in(*entered);
  ASSERT_EQ(arrived.size(), 1u);
  EXPECT_EQ(arrived[0]["op"], "insert");
  EXPECT_EQ(arrived[0]["row"], (Json{{"id", "n-1"}, {"owner_id", "bob"}, {"body", "for bob"}}));
}

// --- Pushes --------------------------------------------------------------------------------------

TEST(SyncSession, APushIsAckedAndReachesTheSameUsersOtherDeviceButNoOtherUser) {
  auto server = shop();
  auto phone = synced(*server, "alice", auth::Role::user, "alice-phone");
  auto laptop = synced(*server, "alice", auth::Role::user, "alice-laptop");
  auto bob = synced(*server, "bob");

  phone.send(push({insert(1, "notes", "n-1", {{"body", "from the phone"}})}));
  auto ack = phone.wait_for("ack");
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->back().json,
            (Json{{"type", "ack"}, {"client_seq", 1}, {"exceptions", Json::array()}}));

  auto got = laptop.wait_for(change_to("notes", "n-1"));
  ASSERT_TRUE(got);
  auto change = changes_in({got->back()}).at(0);
  EXPECT_EQ(change["op"], "insert");
  EXPECT_EQ(change["row"], (Json{{"id", "n-1"}, {"owner_id", "alice"}, {"body", "from the phone"}}))
      << "the server filled in the owner";
  EXPECT_EQ(change["node"], "alice-phone");
  server->settle();
  EXPECT_FALSE(mentions(bob.frames(), "n-1"));
}

TEST(SyncSession, AnAdminsPushToAPublicTableReachesEveryUserAndAUsersIsRefused) {
  auto server = shop();
  auto root = synced(*server, "root", auth::Role::admin);
  auto bob = synced(*server, "bob");
  EXPECT_EQ(root.frames()[0].json["tables"][1]["writable"], true);

  bob.send(push({insert(1, "products", "p-9", {{"name", "Free"}})}));
  auto refused = bob.wait_for("ack");
  ASSERT_TRUE(refused);
  const auto& exceptions = refused->back().json["exceptions"];
  ASSERT_EQ(exceptions.size(), 1u);
  EXPECT_EQ(exceptions[0]["status"], "rejected");
  EXPECT_EQ(exceptions[0]["code"], "forbidden");

  root.send(push({insert(1, "products", "p-9", {{"name", "Kettle"}, {"price", 30.0}})}));
  auto ack = root.wait_for("ack");
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->back().json["exceptions"].empty()) << ack->back().text;
  auto got = bob.wait_for(change_to("products", "p-9"));
  ASSERT_TRUE(got);
  auto change = changes_in({got->back()}).at(0);
  EXPECT_EQ(change["row"], (Json{{"id", "p-9"}, {"name", "Kettle"}, {"price", 30.0}}));
  EXPECT_EQ(change["node"], "root-device");
}

TEST(SyncSession, ARefusedWriteIsAckedWithTheCurrentRowWhenTheUserMaySeeIt) {
  auto server = shop();
  stock(*server, 1);
  auto bob = synced(*server, "bob");
  bob.send(push({update(1, "products", "p-1", {{"price", 0.01}})}));
  auto ack = bob.wait_for("ack");
  ASSERT_TRUE(ack);
  const auto& exceptions = ack->back().json["exceptions"];
  ASSERT_EQ(exceptions.size(), 1u);
  EXPECT_EQ(exceptions[0]["status"], "rejected");
  EXPECT_EQ(exceptions[0]["code"], "forbidden");
  EXPECT_EQ(exceptions[0]["row"], (Json{{"id", "p-1"}, {"name", "product 1"}, {"price", 1.5}}))
      << "so that the client can undo its change";
}

// An ack made while the welcome is prepared echoes rows as any other ack does.
TEST(SyncSession, APushAckedBeforeTheWelcomeStillEchoesTheCurrentRow) {
  auto server = shop();
  stock(*server, 1);
  auto bob = server->connect("bob");
  {
    auto busy = server->pause_pool();  // the welcome waits for a pool thread
    bob.hello();
    bob.send(push({update(1, "products", "p-1", {{"price", 0.01}})}));
    ASSERT_TRUE(eventually([&] { return server->metrics().pushes_acked.load() == 1; }));
  }
  auto ack = bob.wait_for("ack");
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->front().type, "welcome") << "the ack follows the welcome";
  const auto& exceptions = ack->back().json["exceptions"];
  ASSERT_EQ(exceptions.size(), 1u);
  EXPECT_EQ(exceptions[0]["code"], "forbidden");
  EXPECT_EQ(exceptions[0]["row"], (Json{{"id", "p-1"}, {"name", "product 1"}, {"price", 1.5}}))
      << ack->back().text;
}

TEST(SyncSession, APushRetriedOnANewConnectionAfterADropIsAppliedOnce) {
  auto server = shop();
  auto laptop = synced(*server, "alice", auth::Role::user, "alice-laptop");
  auto phone = synced(*server, "alice", auth::Role::user, "alice-phone");
  auto mutation = insert(1, "notes", "n-1", {{"body", "once"}});
  phone.send(push({mutation}));
  phone.drop();  // the ack may or may not have made it out: the client cannot tell

  auto again = server->connect("alice", auth::Role::user, "alice-phone");
  again.hello(phone.last_checkpoint());
  ASSERT_TRUE(again.wait_for("welcome"));
  again.send(push({mutation}));
  auto ack = again.wait_for("ack");
  ASSERT_TRUE(ack);
  const auto& exceptions = ack->back().json["exceptions"];
  ASSERT_EQ(exceptions.size(), 1u) << ack->back().text;
  EXPECT_EQ(exceptions[0]["status"], "superseded");
  EXPECT_EQ(exceptions[0]["row"], (Json{{"id", "n-1"}, {"owner_id", "alice"}, {"body", "once"}}));
  server->settle();
  auto inserts = std::ranges::count_if(
      changes_in(laptop.frames()), [](const Json& change) { return change["pk"]["id"] == "n-1"; });
  EXPECT_EQ(inserts, 1) << "applied once, logged once";
}

// --- Transport faults ----------------------------------------------------------------------------

TEST(SyncSession, ASessionDroppedMidSnapshotResumesFromItsCheckpointWithoutDuplicatesOrGaps) {
  auto server = shop({.snapshot_batch_rows = 2});
  stock(*server, 7);
  auto alice = server->connect("alice");
  alice.stall_after(page_of("products"));  // the socket fills up at the first page
  alice.hello();
  auto first = alice.wait_for(page_of("products"));
  ASSERT_TRUE(first);
  server->settle();
  EXPECT_EQ(alice.connection().held_frames(), 0u) << "no page is sent while the socket is full";
  EXPECT_EQ(snapshot_ids(alice.frames(), "products"), (std::vector<std::string>{"p-1", "p-2"}));
  auto checkpoint = alice.last_checkpoint();
  ASSERT_TRUE(checkpoint && checkpoint->snapshot);
  EXPECT_EQ(checkpoint->snapshot->table, "products");
  EXPECT_EQ(checkpoint->snapshot->after, (std::vector<Value>{"p-2"}));
  alice.drop();

  // While it is away: a row it has changes, and a row before its cursor appears.
  auto updated = server->write("UPDATE products SET price = 99.0 WHERE id = 'p-1'");
  auto inserted = server->write("INSERT INTO products VALUES ('p-0', 'new', 1.0)");
  auto again = server->connect("alice");
  again.hello(checkpoint);
  auto rest = again.wait_for("snapshot_end");
  ASSERT_TRUE(rest);
  EXPECT_EQ((*rest)[0].json["snapshot"], true);
  EXPECT_EQ((*rest)[1].json["reset"], false) << "a continued snapshot, not a new one";
  EXPECT_EQ((*rest)[1].json["seq"], checkpoint->seq);
  EXPECT_TRUE(snapshot_ids(*rest, "notes").empty()) << "tables before the cursor are done";
  auto ids = snapshot_ids(*first, "products");
  auto resumed = snapshot_ids(*rest, "products");
  ids.insert(ids.end(), resumed.begin(), resumed.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"p-1", "p-2", "p-3", "p-4", "p-5", "p-6", "p-7"}));
  EXPECT_EQ(rest->back().json["checkpoint"], (Json{{"seq", checkpoint->seq}}));

  // The snapshot is made consistent by the changes after its start.
  auto after = again.wait_for_seq(inserted);
  ASSERT_TRUE(after);
  auto changes = changes_in(*after);
  EXPECT_EQ(seqs(changes), (std::vector<std::uint64_t>{updated, inserted}));
  EXPECT_EQ(changes.at(0)["row"]["price"], 99.0);
  EXPECT_EQ(changes.at(1)["pk"]["id"], "p-0");
}

// Drops a live session, writes three changes while it is away, reconnects it with its
// checkpoint: it must catch up exactly those changes, in order, without a snapshot.
void expect_catch_up_after_drop(SessionFixture& server, bool from_ring) {
  auto alice = synced(server, "alice");
  auto checkpoint = alice.last_checkpoint();
  ASSERT_TRUE(checkpoint && !checkpoint->snapshot);
  alice.drop();
  auto added = server.write("INSERT INTO products VALUES ('p-1', 'Kettle', 30.0)");
  auto changed = server.write("UPDATE products SET price = 35.0 WHERE id = 'p-1'");
  auto removed = server.write("DELETE FROM products WHERE id = 'p-1'");
  ASSERT_EQ(server.hub().since(checkpoint->seq).has_value(), from_ring);

  auto again = server.connect("alice");
  again.hello(checkpoint);
  auto frames = again.wait_for_seq(removed);
  ASSERT_TRUE(frames);
  EXPECT_EQ((*frames)[0].json["snapshot"], false);
  EXPECT_EQ((*frames)[0].json["server_seq"], removed);
  for (const auto& frame : *frames)
    EXPECT_EQ(frame.type.rfind("snapshot", 0), std::string::npos) << frame.text;
  auto changes = changes_in(*frames);
  EXPECT_EQ(seqs(changes), (std::vector<std::uint64_t>{added, changed, removed}));
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0]["op"], "insert");
  EXPECT_EQ(changes[1]["op"], "update");
  EXPECT_EQ(changes[1]["changed"], Json::array({"price"}));
  EXPECT_EQ(changes[2]["op"], "delete");
}

TEST(SyncSession, ASessionDroppedWhileLiveCatchesUpFromTheHubsRingOnReconnect) {
  auto server = shop();
  expect_catch_up_after_drop(*server, true);
}

TEST(SyncSession, ASessionDroppedWhileLiveCatchesUpFromTheLogWhenTheRingNoLongerHoldsIt) {
  auto server = shop({.ring_changes = 1});
  expect_catch_up_after_drop(*server, false);
}

TEST(SyncSession, ACatchUpThatCouldSeeNoChangeStillEndsWithACheckpointAtTheHead) {
  auto server = shop();
  auto alice = synced(*server, "alice");
  auto checkpoint = alice.last_checkpoint();
  alice.drop();
  server->write("INSERT INTO notes VALUES ('n-1', 'bob', 'private')");
  auto head = server->write("UPDATE notes SET body = 'still private' WHERE id = 'n-1'");

  auto again = server->connect("alice");
  again.hello(checkpoint);
  auto frames = again.wait_for_seq(head);
  ASSERT_TRUE(frames) << "a replica is synced once its checkpoint reaches server_seq";
  EXPECT_TRUE(changes_in(*frames).empty());
}

TEST(SyncSession, AStalledConnectionIsSentNothingUntilItDrainsThenEveryChangeOnce) {
  auto server = shop();
  auto alice = synced(*server, "alice");
  auto received = alice.frames().size();
  alice.stall();
  auto first = stock(*server, 1);
  auto second = server->write("UPDATE products SET price = 2.0 WHERE id = 'p-1'");
  auto third = server->write("INSERT INTO products VALUES ('p-2', 'Mill', 3.0)");
  server->settle();
  EXPECT_EQ(alice.connection().held_frames(), 0u) << "nothing is queued on a full socket";
  EXPECT_EQ(alice.frames().size(), received);

  alice.unstall();
  auto frames = alice.wait_for_seq(third);
  ASSERT_TRUE(frames);
  EXPECT_EQ(seqs(changes_in(*frames)), (std::vector<std::uint64_t>{first, second, third}));
}

TEST(SyncSession, ASnapshotSendsItsNextPageOnlyOnceThePreviousOneHasDrained) {
  auto server = shop({.snapshot_batch_rows = 2});
  stock(*server, 5);
  auto alice = server->connect("alice");
  alice.stall_after(page_of("products"));
  alice.hello();
  ASSERT_TRUE(alice.wait_for(page_of("products")));
  server->settle();
  EXPECT_EQ(snapshot_ids(alice.frames(), "products").size(), 2u);
  EXPECT_EQ(alice.connection().held_frames(), 0u);

  alice.stall_after(page_of("products"));
  alice.unstall();
  ASSERT_TRUE(alice.wait_for(page_of("products")));
  server->settle();
  EXPECT_EQ(snapshot_ids(alice.frames(), "products").size(), 4u);
  EXPECT_EQ(alice.connection().held_frames(), 0u);

  alice.unstall();
  ASSERT_TRUE(alice.wait_for("snapshot_end"));
  EXPECT_EQ(snapshot_ids(alice.frames(), "products"),
            (std::vector<std::string>{"p-1", "p-2", "p-3", "p-4", "p-5"}));
}

TEST(SyncSession, OnShutdownAPendingPushIsAckedBeforeTheConnectionClosesWith1001) {
  auto server = shop();
  auto alice = synced(*server, "alice");
  {
    auto busy = server->pause_writer();  // the push waits for its commit
    alice.send(push({insert(1, "notes", "n-1", {{"body", "last words"}})}));
    alice.shutdown();
    EXPECT_FALSE(alice.connection().close_requested()) << "not while a push waits for its ack";
    alice.send(push({insert(2, "notes", "n-2", {{"body", "too late"}})}));
    auto refused = alice.wait_for("error");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->back().json["code"], "shutting_down");
    EXPECT_EQ(refused->back().json["fatal"], false);
  }
  auto ack = alice.wait_for("ack");
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->back().json["client_seq"], 1);
  ASSERT_TRUE(alice.connection().wait_closed());
  auto close = alice.connection().close_requested();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->code, 1001);
  EXPECT_EQ(close->reason, "server shutting down");
  EXPECT_EQ(alice.frames().back().type, "ack") << "nothing follows the last ack";
}

// An ack held back while the welcome was prepared is not lost when the server stops
// meanwhile: the welcome and the ack go out, then the 1001 close.
TEST(SyncSession, OnShutdownAnAckHeldForTheWelcomeStillGoesOut) {
  auto server = shop();
  auto alice = server->connect("alice");
  {
    auto busy = server->pause_pool();
    alice.hello();
    alice.send(push({insert(1, "notes", "n-1", {{"body", "last words"}})}));
    ASSERT_TRUE(eventually([&] { return server->metrics().pushes_acked.load() == 1; }));
    alice.shutdown();
  }
  ASSERT_TRUE(alice.connection().wait_closed());
  EXPECT_EQ(alice.connection().close_requested()->code, 1001);
  EXPECT_TRUE(std::ranges::any_of(alice.frames(),
                                  [](const ServerFrame& frame) { return frame.type == "ack"; }))
      << "received: " << alice.frames().size() << " frames";
}

// --- Permission rules (docs/permissions.md) ------------------------------------------------------

const std::string kSharedListRules =
    shared_list_rules(R"(insert.check = { list_id = { _in_membership = "list_members" } }
insert.columns = ["id", "list_id", "title"]
insert.presets = { created_by = { _claim = "sub" } }

[tables.items.auditor]
select.filter = { title = { _eq = "audit me" } }
)");

// Lists L1 (alice, bob) and L2 (bob); items in both, with a column users do not read; a
// table (secrets) no rule names.
std::unique_ptr<SessionFixture> shared_lists() {
  auto server = std::make_unique<SessionFixture>(SessionFixtureOptions{}, kSharedListRules);
  server->execute(
      "CREATE TABLE list_members(id TEXT PRIMARY KEY, list_id TEXT, user_id TEXT);"
      "CREATE TABLE items(id TEXT PRIMARY KEY, list_id TEXT, title TEXT, secret TEXT, "
      "created_by TEXT);"
      "CREATE TABLE secrets(id TEXT PRIMARY KEY, body TEXT)");
  for (const auto* table : {"list_members", "items", "secrets"})
    server->track(table);
  server->write(
      "INSERT INTO list_members VALUES ('m1', 'L1', 'alice'), ('m2', 'L1', 'bob'), "
      "('m3', 'L2', 'bob');"
      "INSERT INTO items VALUES ('i1', 'L1', 'milk', 's1', 'bob'), ('i2', 'L2', 'tools', 's2', "
      "'bob'), ('i3', 'L1', 'audit me', 's3', 'bob');"
      "INSERT INTO secrets VALUES ('k1', 'launch codes')");
  return server;
}

TEST(SyncSessionRules, AMemberSeesTheRowsOfTheirListsOnlyAndNeverAHiddenColumnOrTable) {
  auto server = shared_lists();
  auto alice = server->connect("alice");
  alice.hello();
  auto start = alice.wait_for("snapshot_end");
  ASSERT_TRUE(start);
  const auto& tables = (*start)[0].json["tables"];
  std::vector<std::string> names;
  for (const auto& table : tables)
    names.push_back(table["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"items", "list_members"})) << "no rule: not named";
  EXPECT_EQ(snapshot_ids(*start, "items"), (std::vector<std::string>{"i1", "i3"}));
  EXPECT_EQ(snapshot_ids(*start, "list_members"), (std::vector<std::string>{"m1"}));
  EXPECT_FALSE(mentions(*start, "secret")) << "not in the schema, not in a row";
  EXPECT_FALSE(mentions(*start, "created_by"));
  EXPECT_FALSE(mentions(*start, "launch codes"));
  EXPECT_FALSE(mentions(*start, "tools"));

  auto seq = server->write(
      "INSERT INTO items VALUES ('i4', 'L2', 'saw', 'x', 'bob'), ('i5', 'L1', 'eggs', 'y', "
      "'bob')");
  auto live = alice.wait_for_seq(seq);
  ASSERT_TRUE(live);
  auto changes = changes_in(*live);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0]["row"], (Json{{"id", "i5"}, {"list_id", "L1"}, {"title", "eggs"}}));
  server->write("UPDATE items SET secret = 'z' WHERE id = 'i5'");
  auto next = server->write("UPDATE items SET title = 'brown eggs' WHERE id = 'i5'");
  auto after = alice.wait_for_seq(next);
  ASSERT_TRUE(after);
  auto later = changes_in(*after);
  ASSERT_EQ(later.size(), 1u) << "an update of only a hidden column is not sent";
  EXPECT_EQ(later[0]["seq"], next);
  EXPECT_EQ(later[0]["row"], (Json{{"id", "i5"}, {"list_id", "L1"}, {"title", "brown eggs"}}));
}

TEST(SyncSessionRules, AnInsertIntoAListTheUserIsNotInIsRefusedAndPresetsAreTheServers) {
  auto server = shared_lists();
  auto admin = synced(*server, "root", auth::Role::admin);
  auto alice = synced(*server, "alice");
  alice.send(push({insert(1, "items", "i9", {{"list_id", "L2"}, {"title", "sneaky"}}),
                   insert(2, "items", "i10", {{"list_id", "L1"}, {"title", "bread"}}),
                   insert(3, "items", "i11", {{"list_id", "L1"}, {"secret", "mine"}})}));
  auto ack = alice.wait_for("ack");
  ASSERT_TRUE(ack);
  const auto& exceptions = ack->back().json["exceptions"];
  ASSERT_EQ(exceptions.size(), 2u) << ack->back().text;
  EXPECT_EQ(exceptions[0]["client_seq"], 1);
  EXPECT_EQ(exceptions[0]["code"], "forbidden");
  EXPECT_EQ(exceptions[1]["client_seq"], 3);
  EXPECT_EQ(exceptions[1]["code"], "forbidden") << "secret is not among the insert columns";
  auto seen = admin.wait_for(change_to("items", "i10"));
  ASSERT_TRUE(seen);
  auto changes = changes_in(*seen);
  EXPECT_EQ(changes.back()["row"]["created_by"], "alice") << "preset from the token";
}

TEST(SyncSessionRules, ACustomRoleReadsByItsOwnRule) {
  auto server = shared_lists();
  auto auditor = server->connect_with_claims(
      {{"sub", "ann"}, {"role", "auditor"}, {"exp", std::time(nullptr) + 3600}}, "ann-laptop");
  auditor.hello();
  auto start = auditor.wait_for("snapshot_end");
  ASSERT_TRUE(start);
  EXPECT_EQ((*start)[0].json["role"], "user");
  EXPECT_EQ(snapshot_ids(*start, "items"), (std::vector<std::string>{"i3"}));
  EXPECT_TRUE(snapshot_ids(*start, "list_members").empty()) << "auditors have no rule there";
}

// A membership row changes what a member sees at once: the rows of a list they join enter
// their replica, the rows of a list they leave leave it (docs/permissions.md).
TEST(SyncSessionRules, JoiningAListWhileConnectedSendsItsRowsAndLeavingOneRemovesThem) {
  auto server = shared_lists();
  auto alice = synced(*server, "alice");
  auto joined = server->write("INSERT INTO list_members VALUES ('m4', 'L2', 'alice')");
  auto after_join = alice.wait_for_seq(joined);
  ASSERT_TRUE(after_join);
  auto entered = changes_in(*after_join);
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& change : entered)
    seen.emplace_back(change["table"], change["op"]);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{{"list_members", "insert"},
                                                                    {"items", "insert"}}));
  EXPECT_EQ(entered.back()["row"], (Json{{"id", "i2"}, {"list_id", "L2"}, {"title", "tools"}}));
  EXPECT_FALSE(mentions(*after_join, "s2")) << "never a hidden column";

  auto left = server->write("DELETE FROM list_members WHERE id = 'm1'");
  auto after_leave = alice.wait_for_seq(left);
  ASSERT_TRUE(after_leave);
  std::vector<std::string> removed;
  for (const auto& change : changes_in(*after_leave)) {
    if (change["table"] == "items" && change["op"] == "delete")
      removed.push_back(change["pk"]["id"]);
  }
  EXPECT_EQ(removed, (std::vector<std::string>{"i1", "i3"}));
  server->write("INSERT INTO items VALUES ('i6', 'L1', 'gone', 's', 'bob')");
  auto later = server->write("INSERT INTO items VALUES ('i7', 'L2', 'still mine', 's', 'bob')");
  auto next = alice.wait_for_seq(later);
  ASSERT_TRUE(next);
  EXPECT_FALSE(mentions(*next, "gone")) << "L1 is no longer alice's";
  EXPECT_TRUE(mentions(*next, "still mine"));
}

TEST(SyncSessionRules, AMembershipRemovedWhileOfflineRemovesTheRowsAtTheNextConnect) {
  auto server = shared_lists();
  auto alice = synced(*server, "alice");
  auto checkpoint = alice.last_checkpoint();
  alice.drop();
  auto left = server->write("DELETE FROM list_members WHERE id = 'm1'");
  auto again = server->connect("alice");
  again.hello(checkpoint);
  auto caught_up = again.wait_for_seq(left);
  ASSERT_TRUE(caught_up);
  std::vector<std::string> removed;
  for (const auto& change : changes_in(*caught_up)) {
    if (change["table"] == "items" && change["op"] == "delete")
      removed.push_back(change["pk"]["id"]);
  }
  EXPECT_EQ(removed, (std::vector<std::string>{"i1", "i3"}));
}

// --- Rules reload (docs/permissions.md, "Changing the rules")
// ---------------------------------------

// kSharedListRules with items narrowed to the title "milk" (and everything else as it was).
std::string narrower_items_rules() {
  std::string rules = kSharedListRules;
  const std::string items = R"(select.filter = { list_id = { _in_membership = "list_members" } })";
  auto at = rules.find(items);
  rules.replace(at, items.size(),
                R"(select.filter = { _and = [{ list_id = { _in_membership = "list_members" } }, )"
                R"({ title = { _eq = "milk" } }] })");
  return rules;
}

std::string snapshot_rules_digest(const std::vector<ServerFrame>& frames) {
  for (const auto& frame : frames) {
    if (frame.type == "snapshot_begin") return frame.json.value("rules", "");
  }
  return "<no snapshot_begin>";
}

// A user whose view the new rules change gets, at once, the new table list and a reset
// snapshot of exactly what they may now read; the replica drops the rest at its end.
TEST(SyncSessionRules, ARulesReloadThatNarrowsAUsersViewResendsItAsAResetSnapshot) {
  auto server = shared_lists();
  auto alice = synced(*server, "alice");
  auto before = alice.last_checkpoint();
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->rules.empty()) << "a rules file gives every user a digest";

  server->change_rules(narrower_items_rules());
  auto resent = alice.wait_for("snapshot_end");
  ASSERT_TRUE(resent);
  EXPECT_EQ(types(*resent).front(), "schema") << "the table list first";
  auto begin =
      std::ranges::find_if(*resent, [](const auto& f) { return f.type == "snapshot_begin"; });
  ASSERT_NE(begin, resent->end());
  EXPECT_TRUE(begin->json["reset"].get<bool>());
  EXPECT_NE(snapshot_rules_digest(*resent), before->rules);
  EXPECT_EQ(snapshot_ids(*resent, "items"), (std::vector<std::string>{"i1"}));
  EXPECT_EQ(snapshot_ids(*resent, "list_members"), (std::vector<std::string>{"m1"}));

  auto seq = server->write(
      "INSERT INTO items VALUES ('i8', 'L1', 'milk', 's', 'bob'), ('i9', 'L1', 'eggs', 's', "
      "'bob')");
  auto live = alice.wait_for_seq(seq);
  ASSERT_TRUE(live);
  EXPECT_TRUE(mentions(*live, "i8"));
  EXPECT_FALSE(mentions(*live, "eggs")) << "the new rules decide the live stream too";
}

TEST(SyncSessionRules, ARulesReloadThatLeavesAUsersViewAloneResendsNothing) {
  auto server = shared_lists();
  auto alice = synced(*server, "alice");
  std::string rules = kSharedListRules;
  rules += "\n[tables.secrets.auditor]\nselect.filter = {}\n";
  server->change_rules(rules);
  auto seq = server->write("INSERT INTO items VALUES ('i8', 'L1', 'bread', 's', 'bob')");
  auto live = alice.wait_for_seq(seq);
  ASSERT_TRUE(live);
  EXPECT_FALSE(mentions(*live, "snapshot_begin")) << types(*live).size();
  EXPECT_TRUE(mentions(*live, "bread"));
}

// A replica offline while the rules changed is filled again at its next connect; one whose
// rules did not change catches up as before.
TEST(SyncSessionRules, AReplicaFilledUnderOtherRulesIsFilledAgainAtItsNextConnect) {
  auto server = shared_lists();
  auto alice = synced(*server, "alice");
  auto checkpoint = alice.last_checkpoint();
  alice.drop();

  auto same = server->connect("alice");
  same.hello(checkpoint);
  auto welcome = same.wait_for("welcome");
  ASSERT_TRUE(welcome);
  EXPECT_FALSE(welcome->back().json["snapshot"].get<bool>()) << "same rules: catch-up only";
  same.drop();

  server->change_rules(narrower_items_rules());
  auto again = server->connect("alice");
  again.hello(checkpoint);
  auto refilled = again.wait_for("snapshot_end");
  ASSERT_TRUE(refilled);
  EXPECT_TRUE(refilled->front().json["snapshot"].get<bool>());
  EXPECT_EQ(snapshot_ids(*refilled, "items"), (std::vector<std::string>{"i1"}));
}

TEST(SyncSessionRules, AForgedMembershipIsRefusedByTheMembershipTablesOwnRules) {
  auto server = shared_lists();
  auto mallory = synced(*server, "mallory");
  mallory.send(
      push({insert(1, "list_members", "m9", {{"list_id", "L1"}, {"user_id", "mallory"}})}));
  auto ack = mallory.wait_for("ack");
  ASSERT_TRUE(ack);
  const auto& exceptions = ack->back().json["exceptions"];
  ASSERT_EQ(exceptions.size(), 1u);
  EXPECT_EQ(exceptions[0]["code"], "forbidden");
  EXPECT_FALSE(mentions(mallory.frames(), "milk"));
}

// --- Deadlines -----------------------------------------------------------------------------------

TEST(SyncSession, AConnectionWithoutAValidHelloIsClosedAtItsDeadlineWith1008AndNoError) {
  auto server = shop({.hello_timeout = std::chrono::seconds(5)});
  auto before = std::chrono::steady_clock::now();
  auto anonymous = server->connect("alice");
  auto deadline = anonymous.connection().deadline();
  ASSERT_TRUE(deadline);
  EXPECT_GE(*deadline, before + std::chrono::seconds(5));
  EXPECT_LE(*deadline, std::chrono::steady_clock::now() + std::chrono::seconds(5));

  anonymous.fire_deadline();
  ASSERT_TRUE(anonymous.connection().wait_closed());
  auto close = anonymous.connection().close_requested();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->code, 1008);
  EXPECT_EQ(close->reason, "hello timeout: no valid hello within 5 s");
  EXPECT_TRUE(anonymous.frames().empty()) << "a slow hello is not a refused token";
  EXPECT_EQ(server->metrics().sessions_active.load(), 0);
}

TEST(SyncSession, AfterAValidHelloTheDeadlineIsTheTokensExpiryPlusTheLeeway) {
  auto server = shop();
  auto alice = server->connect("alice", auth::Role::user, "", std::chrono::hours(1));
  alice.hello();
  ASSERT_TRUE(alice.wait_for("welcome"));
  auto deadline = alice.connection().deadline();
  ASSERT_TRUE(deadline);
  auto expected =
      std::chrono::steady_clock::now() + std::chrono::hours(1) + std::chrono::seconds(30);
  EXPECT_LE(*deadline, expected + std::chrono::seconds(2));
  EXPECT_GE(*deadline, expected - std::chrono::seconds(2));

  alice.fire_deadline();  // early (the system clock was set back): nothing ends
  alice.send(Json{{"type", "ping"}, {"id", 1}});
  ASSERT_TRUE(alice.wait_for("pong"));
  EXPECT_FALSE(alice.connection().close_requested());
}

TEST(SyncSession, ASessionEndsWithAFatalTokenExpiredErrorWhenItsTokenExpires) {
  auto server = shop({.token_leeway = std::chrono::seconds(0)});
  auto alice = server->connect("alice", auth::Role::user, "", std::chrono::seconds(2));
  alice.hello();
  ASSERT_TRUE(alice.wait_for("snapshot_end"));
  auto deadline = alice.connection().deadline();
  ASSERT_TRUE(deadline);
  ASSERT_LE(*deadline, std::chrono::steady_clock::now() + std::chrono::seconds(3));
  std::this_thread::sleep_until(*deadline);  // the token's end: a known instant

  alice.fire_deadline();
  auto error = alice.wait_for("error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->back().json["code"], "token_expired");
  EXPECT_EQ(error->back().json["fatal"], true);
  ASSERT_TRUE(alice.connection().wait_closed());
  EXPECT_EQ(alice.connection().close_requested()->code, 1008);
  EXPECT_EQ(alice.connection().close_requested()->reason, "token_expired");
}

// --- Bad frames ----------------------------------------------------------------------------------

// Sends `payload`, returns the error the server answered with.
Json error_for(SessionClient& client, std::string_view payload, bool binary = false) {
  client.send_raw(payload, binary);
  auto frames = client.wait_for("error");
  return frames ? frames->back().json : Json();
}

TEST(SyncSession, UndecodableFramesGetNonFatalErrorsAndTheSessionGoesOn) {
  auto server = shop();
  auto alice = server->connect("alice");
  EXPECT_EQ(error_for(alice, "{not json")["code"], "malformed_message");
  EXPECT_EQ(error_for(alice, "[1, 2]")["code"], "malformed_message");
  EXPECT_EQ(error_for(alice, R"({"type": "subscribe"})")["code"], "unknown_message_type");
  auto missing = error_for(alice, R"({"type": "hello", "protocol": 1, "client_id": "a"})");
  EXPECT_EQ(missing["code"], "malformed_message");
  EXPECT_NE(missing["message"].get<std::string>().find("'token'"), std::string::npos) << missing;
  auto binary = error_for(alice, "{}", true);
  EXPECT_EQ(binary["code"], "malformed_message");
  EXPECT_EQ(binary["fatal"], false);
  EXPECT_FALSE(alice.connection().close_requested());

  alice.hello();
  ASSERT_TRUE(alice.wait_for("snapshot_end"));
}

TEST(SyncSession, TheTwentyFirstProtocolErrorIsFatal) {
  auto server = shop();
  auto alice = synced(*server, "alice");
  for (int i = 1; i <= 20; ++i) {
    auto error = error_for(alice, "{not json");
    ASSERT_EQ(error["fatal"], false) << "error " << i;
  }
  EXPECT_FALSE(alice.connection().close_requested());
  EXPECT_EQ(error_for(alice, "{not json")["fatal"], true);
  ASSERT_TRUE(alice.connection().wait_closed());
  EXPECT_EQ(alice.connection().close_requested()->code, 1008);
}

TEST(SyncSession, ASecondHelloGetsANonFatalBadRequest) {
  auto server = shop();
  auto alice = synced(*server, "alice");
  alice.hello();
  auto error = alice.wait_for("error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->back().json["code"], "bad_request");
  EXPECT_EQ(error->back().json["fatal"], false);
  EXPECT_FALSE(alice.connection().close_requested());
}

// Sends `hello` and expects a fatal `code` and a close with 1008 and that code as the reason.
void expect_refused(SessionFixture& server, const Json& hello, const std::string& code) {
  auto client = server.connect("alice");
  auto error = error_for(client, hello.dump());
  EXPECT_EQ(error["code"], code) << error;
  EXPECT_EQ(error["fatal"], true);
  ASSERT_TRUE(client.connection().wait_closed());
  EXPECT_EQ(client.connection().close_requested()->code, 1008);
  EXPECT_EQ(client.connection().close_requested()->reason, code);
  EXPECT_EQ(client.frames().size(), 1u) << "nothing follows a fatal error";
}

TEST(SyncSession, AHelloThatCannotStartASessionGetsAFatalErrorAndA1008Close) {
  auto server = shop();
  auto token = ServerProcess::token("alice");
  Json hello = {{"type", "hello"}, {"protocol", 1}, {"token", token}, {"client_id", "alice-1"}};
  expect_refused(*server, with(hello, {{"protocol", 2}}), "protocol_version");
  expect_refused(*server, with(hello, {{"client_id", "not valid!"}}), "bad_request");
  auto forged = token.substr(0, token.rfind('.') + 1) + "c2lnbmVkIGVsc2V3aGVyZQ";
  expect_refused(*server, with(hello, {{"token", forged}}), "unauthenticated");
  expect_refused(*server, {{"type", "push"}, {"mutations", Json::array()}}, "unauthenticated");
  EXPECT_EQ(server->metrics().auth_failures.load(), 1u);
}

TEST(SyncSession, AMessageAboveTheLimitGetsFrameTooLargeAndTheConnectionClosesWith1009) {
  auto server = shop();
  auto alice = synced(*server, "alice");
  alice.send_too_big(4 << 20);
  auto error = alice.wait_for("error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->back().json["code"], "frame_too_large");
  EXPECT_EQ(error->back().json["fatal"], true);
  ASSERT_TRUE(alice.connection().wait_closed());
  EXPECT_EQ(alice.connection().close_requested()->code, 1009);
}

}  // namespace
}  // namespace tandem::testing
