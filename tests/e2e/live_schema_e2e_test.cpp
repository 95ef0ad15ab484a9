// Tracked-table administration while clients are connected: what sessions learn, in which
// order, and what they never receive (docs/protocol.md, "schema"; docs/admin-api.md).
#include <algorithm>
#include <atomic>
#include <thread>

#include "e2e/admin_fixture.h"
#include "protocol/codec.h"

namespace tandem::testing {
namespace {

using LiveSchema = AdminEndToEnd;

// Position of the first event equal to `event` (events().size() when absent).
std::size_t first(const std::vector<std::string>& events, const std::string& event) {
  return static_cast<std::size_t>(std::find(events.begin(), events.end(), event) - events.begin());
}

bool schema_has(const SyncTestClient& client, const std::string& table) {
  return !client.schemas().empty() &&
         AdminEndToEnd::has_table(client.schemas().back()["tables"], table);
}

TEST_F(LiveSchema, TableAddedThroughTheApiReachesAConnectedClientSchemaFirst) {
  auto alice = synced("alice", "alice-phone");
  sql("CREATE TABLE menus(id TEXT PRIMARY KEY, title TEXT)");
  ASSERT_EQ(track("menus").status, 201);
  sql("INSERT INTO menus VALUES ('m-1', 'Breakfast')");
  ASSERT_TRUE(alice->wait_for([&] {
    return alice->row("menus", Json{{"id", "m-1"}}) != nullptr;
  })) << "a change to a table tracked after hello reaches the session without a restart";
  EXPECT_LT(first(alice->events(), "schema"), first(alice->events(), "change menus"));
  EXPECT_EQ((*alice->row("menus", Json{{"id", "m-1"}}))["title"], "Breakfast");

  // What a client SDK does with it: decode the tables and create them.
  auto codec = protocol::make_json_codec();
  auto schema = codec->decode_schema(alice->schemas().back().dump());
  ASSERT_TRUE(schema.ok()) << schema.error().message();
  auto menus = std::find_if(schema->tables.begin(), schema->tables.end(),
                            [](const auto& table) { return table.schema.name == "menus"; });
  ASSERT_NE(menus, schema->tables.end());
  EXPECT_EQ(menus->schema.primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ(menus->access, protocol::TableAccess::everyone);
  EXPECT_FALSE(menus->writable) << "a public table is read-only for users";
  EXPECT_EQ(alice->schemas().back()["tables"].size(), 3u) << "the whole list, not a diff";

  auto late = synced("bob", "bob-laptop");
  EXPECT_TRUE(has_table(late->welcome()["tables"], "menus")) << "new sessions see it in welcome";
  EXPECT_EQ(late->rows("menus"), 1u);
}

// The race the catalog ordering exists for: another program writes the table continuously
// while it becomes tracked, so its first changes may reach the publisher before the API call
// has announced the table.
TEST_F(LiveSchema, ChangesCapturedRightAfterTrackingAreNeitherLostNorSentBeforeTheSchema) {
  sql("CREATE TABLE ticks(id INTEGER PRIMARY KEY, note TEXT)");
  auto alice = synced("alice", "alice-phone");
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  // An application writing steadily (paced, so that the server's own writer also gets the
  // database lock); joined whatever happens below.
  std::thread writer([&] {
    sqlite3* db = nullptr;
    sqlite3_open(server->database_path().c_str(), &db);
    sqlite3_busy_timeout(db, 10000);
    for (int i = 1; !stop; ++i) {
      auto insert = fmt::format("INSERT INTO ticks VALUES ({}, 'tick')", i);
      if (sqlite3_exec(db, insert.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) ++written;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    sqlite3_close(db);
  });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    void finish() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
    ~Joiner() { finish(); }
  } joiner{stop, writer};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (written < 20 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  auto tracked = track("ticks");
  while (query_int("SELECT count(*) FROM tandem_changes WHERE tbl = 'ticks'") < 300 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  joiner.finish();  // from here, the log holds every insert made after tracking
  ASSERT_EQ(tracked.status, 201);
  auto logged = static_cast<std::size_t>(
      query_int("SELECT count(*) FROM tandem_changes WHERE tbl = 'ticks'"));
  ASSERT_GE(logged, 300u);
  ASSERT_TRUE(alice->wait_for([&] { return alice->rows("ticks") == logged; }))
      << alice->rows("ticks") << " of " << logged << ": every captured change arrives";
  std::size_t schemas_seen = 0;
  for (const auto& event : alice->events()) {
    if (event == "schema") ++schemas_seen;
    if (event != "change ticks") continue;
    ASSERT_GT(schemas_seen, 0u);
    ASSERT_TRUE(has_table(alice->schemas()[schemas_seen - 1]["tables"], "ticks"))
        << "a change to ticks came before the schema announcing it";
    break;
  }
}

TEST_F(LiveSchema, AddedColumnReachesClientsAfterReload) {
  auto alice = synced("alice", "alice-phone");
  sql("ALTER TABLE products ADD COLUMN stock INTEGER NOT NULL DEFAULT 0");
  auto reloaded = call("POST", "tables/reload");
  ASSERT_EQ(reloaded.status, 200);
  ASSERT_TRUE(alice->wait_for([&] { return !alice->schemas().empty(); }));
  const auto* products = find_table(alice->schemas().back()["tables"], "products");
  ASSERT_NE(products, nullptr);
  EXPECT_EQ(column_names(*products).back(), "stock");
  EXPECT_EQ((*products)["columns"].back()["has_default"], true);

  sql("UPDATE products SET stock = 12 WHERE id = 'p-kettle'");
  ASSERT_TRUE(alice->wait_for([&] {
    const auto* row = alice->row("products", Json{{"id", "p-kettle"}});
    return row && row->contains("stock") && (*row)["stock"] == 12;
  }));
  EXPECT_LT(first(alice->events(), "schema"), alice->events().size() - 1);
}

TEST_F(LiveSchema, DroppedColumnDisappearsFromSchemaAndEveryLaterChange) {
  sql("ALTER TABLE products ADD COLUMN supplier_secret TEXT");
  ASSERT_EQ(call("POST", "tables/reload").status, 200);
  auto alice = synced("alice", "alice-phone");
  auto checkpoint_before = alice->checkpoint();
  // Logged while the column exists: the change log keeps the value.
  sql("UPDATE products SET supplier_secret = 'cost 3.10', price = '25.00' "
      "WHERE id = 'p-espresso'");
  ASSERT_TRUE(alice->wait_for([&] {
    const auto* row = alice->row("products", Json{{"id", "p-espresso"}});
    return row && (*row)["price"] == "25.00";
  }));
  // SQLite refuses DROP COLUMN while a trigger names it; legacy_alter_table skips that check,
  // and the reload right after reinstalls capture without the column.
  sql("PRAGMA legacy_alter_table = ON; ALTER TABLE products DROP COLUMN supplier_secret;");
  ASSERT_EQ(call("POST", "tables/reload").status, 200);
  ASSERT_TRUE(alice->wait_for([&] { return !alice->schemas().empty(); }));
  auto columns = column_names(*find_table(alice->schemas().back()["tables"], "products"));
  EXPECT_EQ(std::count(columns.begin(), columns.end(), "supplier_secret"), 0);

  sql("UPDATE products SET price = '26.00' WHERE id = 'p-espresso'");
  ASSERT_TRUE(alice->wait_for([&] {
    const auto* row = alice->row("products", Json{{"id", "p-espresso"}});
    return row && (*row)["price"] == "26.00";
  }));
  EXPECT_FALSE(alice->row("products", Json{{"id", "p-espresso"}})->contains("supplier_secret"));

  // A client catching up from before the drop replays log entries that still hold the
  // column: it must not receive it either.
  auto replay = connect("bob", "bob-laptop");
  replay->set_checkpoint(checkpoint_before);
  auto welcome = replay->hello();
  ASSERT_EQ(welcome["type"], "welcome") << welcome.dump();
  ASSERT_FALSE(welcome["snapshot"]);
  ASSERT_TRUE(replay->sync_until());
  bool saw_espresso = false;
  for (const auto& change : replay->changes()) {
    EXPECT_FALSE(change["row"].contains("supplier_secret")) << change.dump();
    EXPECT_FALSE(change["pk"].contains("supplier_secret"));
    saw_espresso = saw_espresso || change["pk"]["id"] == "p-espresso";
  }
  EXPECT_TRUE(saw_espresso) << "the old entries were replayed, without the column";
}

TEST_F(LiveSchema, UntrackedTableStopsSendingChanges) {
  auto alice = synced("alice", "alice-phone");
  ASSERT_EQ(call("DELETE", "tables/products").status, 204);
  ASSERT_TRUE(alice->wait_for([&] { return !alice->schemas().empty(); }));
  EXPECT_FALSE(schema_has(*alice, "products"));
  EXPECT_TRUE(schema_has(*alice, "past_orders"));
  sql("UPDATE products SET price = '1.00'");
  auto ack = alice->push({SyncTestClient::insert("past_orders", Json{{"id", "o-marker"}},
                                                 Json{{"item_name", "Marker"}})});
  ASSERT_EQ(ack["type"], "ack");
  ASSERT_TRUE(alice->wait_for([&] { return alice->row("past_orders", Json{{"id", "o-marker"}}); }));
  std::size_t after_schema = first(alice->events(), "schema");
  for (std::size_t i = after_schema; i < alice->events().size(); ++i)
    EXPECT_NE(alice->events()[i], "change products");
  auto refused = alice->push(
      {SyncTestClient::update("products", Json{{"id", "p-kettle"}}, Json{{"price", "2.00"}})});
  ASSERT_EQ(refused["exceptions"].size(), 1u) << refused.dump();
  EXPECT_EQ(refused["exceptions"][0]["code"], "unknown_table");
}

TEST_F(LiveSchema, HardResetDeliversRowsThatExistedBeforeTracking) {
  sql("CREATE TABLE catalog_items(id INTEGER PRIMARY KEY, label TEXT);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
      "INSERT INTO catalog_items SELECT i, 'item ' || i FROM n;");
  auto alice = synced("alice", "alice-phone");
  ASSERT_EQ(track("catalog_items").status, 201);
  ASSERT_TRUE(alice->wait_for([&] { return schema_has(*alice, "catalog_items"); }));
  EXPECT_EQ(alice->rows("catalog_items"), 0u) << "tracking alone sends no existing row";

  auto started = call("POST", "tables/catalog_items/reset");
  ASSERT_EQ(started.status, 202);
  auto finished = wait_for_job(started.body["id"].get<std::string>());
  EXPECT_EQ(finished["state"], "succeeded");
  EXPECT_EQ(finished["done"], 2500);
  ASSERT_TRUE(alice->wait_for([&] { return alice->rows("catalog_items") == 2500; }))
      << alice->rows("catalog_items");
  for (const auto& change : alice->changes()) {
    if (change["table"] != "catalog_items") continue;
    EXPECT_EQ(change["op"], "insert");
    EXPECT_EQ(change["hlc"], "0000000000000000") << "zero stamp: every real write wins";
    EXPECT_EQ(change["node"], "");
  }
  EXPECT_EQ((*alice->row("catalog_items", Json{{"id", 1234}}))["label"], "item 1234");
}

TEST_F(LiveSchema, PrivateTableAddedLiveIsStillFilteredPerUser) {
  sql("CREATE TABLE notes(id TEXT PRIMARY KEY, body TEXT, owner_id TEXT NOT NULL);"
      "INSERT INTO notes VALUES ('n-a1', 'alice old', 'alice'), ('n-b1', 'bob old', 'bob');");
  auto alice = synced("alice", "alice-phone");
  auto bob = synced("bob", "bob-laptop");
  ASSERT_EQ(track("notes").status, 201);
  ASSERT_TRUE(alice->wait_for([&] { return schema_has(*alice, "notes"); }));
  const auto* notes = find_table(alice->schemas().back()["tables"], "notes");
  EXPECT_EQ((*notes)["access"], "private");
  EXPECT_EQ((*notes)["writable"], true);

  auto reset = call("POST", "tables/notes/reset");
  ASSERT_EQ(reset.status, 202);
  EXPECT_EQ(wait_for_job(reset.body["id"].get<std::string>())["state"], "succeeded");
  sql("INSERT INTO notes VALUES ('n-a2', 'alice new', 'alice'), ('n-b2', 'bob new', 'bob');");
  auto pushed = alice->push(
      {SyncTestClient::insert("notes", Json{{"id", "n-a3"}}, Json{{"body", "from the phone"}})});
  ASSERT_TRUE(pushed["exceptions"].empty()) << pushed.dump();
  ASSERT_TRUE(alice->wait_for([&] { return alice->rows("notes") == 3; }));
  ASSERT_TRUE(bob->wait_for([&] { return bob->rows("notes") == 2; }));
  // A marker after everything else: once bob has it, he has had every chance to see more.
  sql("UPDATE products SET price = '0.99' WHERE id = 'p-filter'");
  ASSERT_TRUE(bob->wait_for([&] {
    const auto* row = bob->row("products", Json{{"id", "p-filter"}});
    return row && (*row)["price"] == "0.99";
  }));
  for (const auto& change : bob->changes()) {
    if (change["table"] == "notes") {
      EXPECT_EQ(change["row"]["owner_id"], "bob") << change.dump();
    }
  }
  for (const auto& change : alice->changes()) {
    if (change["table"] == "notes") {
      EXPECT_EQ(change["row"]["owner_id"], "alice") << change.dump();
    }
  }
  auto admin = synced("root", "root-console", auth::Role::admin);
  EXPECT_EQ(admin->rows("notes"), 5u) << "admins read every row";
}

}  // namespace
}  // namespace tandem::testing
