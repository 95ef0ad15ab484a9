// The server on PostgreSQL, end to end, in both capture modes: a throwaway cluster per test,
// the real binary, psql and libpq as "other programs", and protocol clients over WebSockets.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "e2e/isolation_scenarios.h"
#include "storage/postgres/pg_connection.h"
#include "support/fragile_table.h"
#include "support/http_client.h"
#include "support/postgres_cluster.h"
#include "support/server_process.h"
#include "support/sync_test_client.h"
#include "support/temp_dir.h"

namespace tandem::testing {
namespace {

using Json = nlohmann::json;
using storage::postgres::ConnectOptions;
using storage::postgres::PgConnection;

class PostgresEndToEnd : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url = cluster.create_database("app");
    cluster.psql(
        "CREATE TABLE events (id text PRIMARY KEY, writer int NOT NULL, n int NOT NULL, "
        "payload text)",
        "app");
    start();
  }

  void start() {
    server = std::make_unique<ServerProcess>(
        dir.path().string(),
        std::vector<std::string>{"--database-url", url, "--capture", GetParam(), "--demo", "true",
                                 "--track", "events"});
  }

  std::unique_ptr<SyncTestClient> synced(const std::string& user, const std::string& client_id,
                                         auth::Role role = auth::Role::user) {
    auto client = std::make_unique<SyncTestClient>(server->port(), ServerProcess::token(user, role),
                                                   client_id);
    auto welcome = client->hello();
    EXPECT_EQ(welcome["type"], "welcome") << welcome.dump() << server->log();
    EXPECT_TRUE(client->sync_until()) << "snapshot did not complete";
    return client;
  }

  std::string psql(const std::string& sql) { return cluster.psql(sql, "app"); }

  isolation::Connect connector() {
    return [this](const std::string& user, const std::string& client_id, auth::Role role) {
      return synced(user, client_id, role);
    };
  }

  // An admin API call; returns the status and the JSON body.
  std::pair<int, Json> admin(const std::string& method, const std::string& path,
                             const std::string& body = {}) {
    std::map<std::string, std::string> headers = {
        {"Authorization", "Bearer " + ServerProcess::token("root", auth::Role::admin)}};
    if (!body.empty()) headers["Content-Type"] = "application/json";
    auto reply =
        http_request("127.0.0.1", server->port(), method, "/admin/api/" + path, body, headers);
    return {reply.status, Json::parse(reply.body, nullptr, false)};
  }

  PostgresCluster cluster;
  TempDir dir;
  std::string url;
  std::unique_ptr<ServerProcess> server;
};

TEST_P(PostgresEndToEnd, PsqlInsertUpdateDeleteReachASubscribedClient) {
  auto admin = synced("ops", "ops-1", auth::Role::admin);
  auto alice = synced("alice", "alice-1");
  psql("INSERT INTO products (id, name, price) VALUES ('p-new', 'Scale', '35.00')");
  ASSERT_TRUE(alice->wait_for([&] {
    return alice->row("products", {{"id", "p-new"}});
  })) << server->log();
  EXPECT_EQ((*alice->row("products", {{"id", "p-new"}}))["name"], "Scale");

  psql("UPDATE products SET price = '31.00' WHERE id = 'p-new'");
  ASSERT_TRUE(alice->wait_for([&] {
    auto row = alice->row("products", {{"id", "p-new"}});
    return row && (*row)["price"] == "31.00";
  }));
  psql("DELETE FROM products WHERE id = 'p-new'");
  ASSERT_TRUE(alice->wait_for([&] { return !alice->row("products", {{"id", "p-new"}}); }));
  EXPECT_TRUE(admin->wait_for([&] { return !admin->row("products", {{"id", "p-new"}}); }));
}

TEST_P(PostgresEndToEnd, AClientUploadLandsInPostgresAndPsqlSeesIt) {
  auto alice = synced("alice", "alice-1");
  auto ack = alice->push({SyncTestClient::insert("past_orders", {{"id", "o-new"}},
                                                 {{"item_name", "Filter"}, {"quantity", 3}})});
  ASSERT_EQ(ack["type"], "ack") << ack.dump();
  EXPECT_TRUE(ack["exceptions"].empty()) << ack.dump();
  EXPECT_EQ(psql("SELECT item_name, quantity, owner_id FROM past_orders WHERE id = 'o-new'"),
            "Filter|3|alice\n");
  // The write also comes back through capture, stamped with the client's clock and id.
  ASSERT_TRUE(alice->wait_for([&] { return alice->row("past_orders", {{"id", "o-new"}}); }));
}

TEST_P(PostgresEndToEnd, AUserNeverReadsOrWritesAnotherUsersRows) {
  auto alice = synced("alice", "alice-1");
  auto bob = synced("bob", "bob-1");
  EXPECT_TRUE(alice->row("past_orders", {{"id", "o-alice-1"}}));
  EXPECT_FALSE(alice->row("past_orders", {{"id", "o-bob-1"}}));
  psql(
      "INSERT INTO past_orders (id, item_name, owner_id) VALUES ('o-bob-2', 'Mug', 'bob'), "
      "('o-alice-2', 'Cup', 'alice')");
  ASSERT_TRUE(bob->wait_for([&] { return bob->row("past_orders", {{"id", "o-bob-2"}}); }));
  ASSERT_TRUE(alice->wait_for([&] { return alice->row("past_orders", {{"id", "o-alice-2"}}); }));
  EXPECT_FALSE(alice->row("past_orders", {{"id", "o-bob-2"}}));

  auto ack =
      alice->push({SyncTestClient::update("past_orders", {{"id", "o-bob-2"}}, {{"quantity", 99}}),
                   SyncTestClient::insert("past_orders", {{"id", "o-evil"}},
                                          {{"item_name", "X"}, {"owner_id", "bob"}}),
                   SyncTestClient::update("products", {{"id", "p-kettle"}}, {{"price", "0.01"}})});
  ASSERT_EQ(ack["type"], "ack") << ack.dump();
  ASSERT_EQ(ack["exceptions"].size(), 3u) << ack.dump();
  for (const auto& exception : ack["exceptions"]) {
    EXPECT_EQ(exception["status"], "rejected");
    if (exception["table"] == "past_orders") {
      EXPECT_TRUE(exception["row"].is_null());
    }
  }
  EXPECT_EQ(psql("SELECT quantity FROM past_orders WHERE id = 'o-bob-2'"), "1\n");
  EXPECT_EQ(psql("SELECT count(*) FROM past_orders WHERE id = 'o-evil'"), "0\n");
  EXPECT_EQ(psql("SELECT price FROM products WHERE id = 'p-kettle'"), "59.00\n");
  EXPECT_TRUE(bob->ping());
  EXPECT_FALSE(bob->row("past_orders", {{"id", "o-alice-2"}}));
}

TEST_P(PostgresEndToEnd, ConcurrentWritersReachTheClientExactlyOnceInCommitOrder) {
  constexpr int kWriters = 8;
  constexpr int kTransactions = 1000;
  auto admin = synced("ops", "ops-1", auth::Role::admin);
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int writer = 0; writer < kWriters; ++writer) {
    writers.emplace_back([&, writer] {
      try {
        PgConnection connection(ConnectOptions{url});
        for (int n = 0; n < kTransactions; ++n) {
          connection.exec("INSERT INTO events (id, writer, n) VALUES ($1, $2::int, $3::int)",
                          {std::to_string(writer) + "-" + std::to_string(n), std::to_string(writer),
                           std::to_string(n)});
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (auto& thread : writers)
    thread.join();
  ASSERT_EQ(failures, 0);
  ASSERT_TRUE(admin->wait_for([&] { return admin->rows("events") == kWriters * kTransactions; },
                              std::chrono::seconds(60)))
      << admin->rows("events") << " rows\n"
      << server->log();
  std::map<int, int> last_n;
  std::set<std::string> seen;
  for (const auto& change : admin->changes()) {
    if (change["table"] != "events") continue;
    EXPECT_EQ(change["op"], "insert");
    auto id = change["pk"]["id"].get<std::string>();
    EXPECT_TRUE(seen.insert(id).second) << "delivered twice: " << id;
    int writer = change["row"]["writer"].get<int>();
    int n = change["row"]["n"].get<int>();
    auto previous = last_n.find(writer);
    if (previous != last_n.end()) {
      EXPECT_EQ(n, previous->second + 1) << "writer " << writer;
    }
    last_n[writer] = n;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kWriters * kTransactions));
}

TEST_P(PostgresEndToEnd, ALargeRowIsCapturedAndDelivered) {
  auto admin = synced("ops", "ops-1", auth::Role::admin);
  std::string payload(20000, 'x');
  for (std::size_t i = 0; i < payload.size(); i += 7)
    payload[i] = static_cast<char>('a' + i % 26);
  PgConnection connection(ConnectOptions{url});
  connection.exec("INSERT INTO events (id, writer, n, payload) VALUES ('big', 0, 0, $1)",
                  {payload});
  // An update that leaves the large (TOASTed) value alone still delivers the whole row.
  connection.exec("UPDATE events SET n = 1 WHERE id = 'big'");
  ASSERT_TRUE(admin->wait_for([&] {
    auto row = admin->row("events", {{"id", "big"}});
    return row && (*row)["n"] == 1;
  })) << server->log();
  EXPECT_EQ((*admin->row("events", {{"id", "big"}}))["payload"], payload);
}

TEST_P(PostgresEndToEnd, KillingTheServerMidStreamLosesAndDuplicatesNothing) {
  constexpr int kRows = 3000;
  auto admin = synced("ops", "ops-1", auth::Role::admin);
  std::thread writer([&] {
    PgConnection connection(ConnectOptions{url});
    for (int n = 0; n < kRows; ++n) {
      connection.exec("INSERT INTO events (id, writer, n) VALUES ($1, 0, $2::int)",
                      {"k-" + std::to_string(n), std::to_string(n)});
    }
  });
  ASSERT_TRUE(admin->wait_for([&] { return admin->rows("events") > 200; }));
  server->kill9();
  // Writes go on while the server is down; they wait in the slot or the capture table.
  writer.join();
  auto checkpoint = admin->checkpoint();
  auto changes_before = admin->changes();
  start();
  auto again = std::make_unique<SyncTestClient>(
      server->port(), ServerProcess::token("ops", auth::Role::admin), "ops-1");
  again->set_checkpoint(checkpoint);
  auto welcome = again->hello();
  ASSERT_EQ(welcome["type"], "welcome") << welcome.dump();
  EXPECT_FALSE(welcome["snapshot"].get<bool>());
  ASSERT_TRUE(
      again->wait_for([&] { return again->changes().size() + changes_before.size() >= kRows; },
                      std::chrono::seconds(60)))
      << server->log();
  std::map<std::string, int> inserts;
  auto count = [&](const std::vector<Json>& changes) {
    for (const auto& change : changes) {
      if (change["table"] == "events") ++inserts[change["pk"]["id"].template get<std::string>()];
    }
  };
  count(changes_before);
  count(again->changes());
  EXPECT_EQ(inserts.size(), static_cast<std::size_t>(kRows));
  for (const auto& [id, count] : inserts)
    EXPECT_EQ(count, 1) << id;
}

TEST_P(PostgresEndToEnd, AColumnAddedWithAlterTableReachesConnectedClientsAfterReload) {
  auto alice = synced("alice", "alice-1");
  psql("ALTER TABLE products ADD COLUMN color text");
  auto [status, body] = admin("POST", "tables/reload");
  ASSERT_EQ(status, 200) << body.dump();
  ASSERT_TRUE(alice->wait_for([&] { return !alice->schemas().empty(); })) << server->log();
  auto products = std::find_if(alice->schemas().back()["tables"].begin(),
                               alice->schemas().back()["tables"].end(),
                               [](const Json& table) { return table["name"] == "products"; });
  ASSERT_NE(products, alice->schemas().back()["tables"].end());
  bool has_color = false;
  for (const auto& column : (*products)["columns"])
    has_color |= column["name"] == "color";
  EXPECT_TRUE(has_color) << products->dump();
  psql("INSERT INTO products (id, name, color) VALUES ('p-red', 'Red mug', 'red')");
  ASSERT_TRUE(alice->wait_for([&] {
    auto row = alice->row("products", {{"id", "p-red"}});
    return row && (*row)["color"] == "red";
  })) << server->log();
}

TEST_P(PostgresEndToEnd, HardResetDeliversRowsThatExistedBeforeTracking) {
  psql(
      "CREATE TABLE catalog (id text PRIMARY KEY, title text); "
      "INSERT INTO catalog SELECT 'sku-' || g, 'Item ' || g FROM generate_series(1, 1500) g");
  auto admin_client = synced("ops", "ops-1", auth::Role::admin);
  auto [added, added_body] = admin("POST", "tables", R"({"name":"catalog"})");
  ASSERT_EQ(added, 201) << added_body.dump();
  auto [started, job] = admin("POST", "tables/catalog/reset");
  ASSERT_EQ(started, 202) << job.dump();
  auto id = job["id"].dump();
  if (job["id"].is_string()) id = job["id"].get<std::string>();
  Json state;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    state = admin("GET", "jobs/" + id).second;
  } while (state["state"] == "running" && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(state["state"], "succeeded") << state.dump();
  EXPECT_EQ(state["done"], 1500);
  ASSERT_TRUE(admin_client->wait_for([&] { return admin_client->rows("catalog") == 1500; },
                                     std::chrono::seconds(30)))
      << admin_client->rows("catalog") << " rows\n"
      << server->log();
  EXPECT_EQ((*admin_client->row("catalog", {{"id", "sku-7"}}))["title"], "Item 7");
}

// A catalog table is refused by name, and a table whose tracking fails midway (here every
// DDL on it fails) is not tracked at all: the admin API lists the same tables, and no
// client's snapshot holds either, even after further writes.
TEST_P(PostgresEndToEnd, ARefusedOrFailedTrackingLeavesTheTableListAndSnapshotsUnchanged) {
  auto [listed, before] = admin("GET", "tables");
  ASSERT_EQ(listed, 200);
  auto [refused, refusal] = admin("POST", "tables", R"({"name":"pg_authid"})");
  EXPECT_EQ(refused, 400) << refusal.dump();
  EXPECT_EQ(refusal["error"], "invalid_identifier");

  psql(kRefuseDdlOnFragileSql);
  auto [failed, failure] = admin("POST", "tables", R"({"name":"fragile"})");
  EXPECT_GE(failed, 500) << failure.dump();
  EXPECT_EQ(admin("GET", "tables").second, before);
  EXPECT_EQ(psql("SELECT count(*) FROM tandem.tracked_tables WHERE name IN "
                 "('pg_authid', 'fragile')"),
            "0\n");

  psql("INSERT INTO fragile VALUES (1, 'x'); INSERT INTO events VALUES ('e-after', 1, 1, 'x')");
  auto ops = synced("ops", "ops-1", auth::Role::admin);
  ASSERT_TRUE(ops->wait_for([&] {
    return ops->row("events", {{"id", "e-after"}});
  })) << server->log();
  for (const auto& table : ops->welcome()["tables"])
    EXPECT_TRUE(table["name"] != "pg_authid" && table["name"] != "fragile") << table.dump();
  EXPECT_EQ(ops->rows("pg_authid"), 0u);
  EXPECT_EQ(ops->rows("fragile"), 0u);
}

TEST_P(PostgresEndToEnd, DeletedRowValuesAreNotInheritedByAnotherUser) {
  isolation::deleted_row_values_are_not_inherited_by_another_user(connector());
}

TEST_P(PostgresEndToEnd, AUserCannotPlantARowInAnotherUsersView) {
  isolation::a_user_cannot_plant_a_row_in_another_users_view(connector());
}

TEST_P(PostgresEndToEnd, AUserRevivesTheirOwnDeletedRowWithItsLaterValues) {
  isolation::a_user_revives_their_own_deleted_row_with_its_later_values(connector());
}

TEST_P(PostgresEndToEnd, ARowLeavingAUsersViewCarriesOnlyWhatTheySaw) {
  isolation::a_row_leaving_a_users_view_carries_only_what_they_saw(connector());
}

TEST_P(PostgresEndToEnd, OwnersCompareExactlyWhateverTheColumnsTypeOrCollation) {
  psql(
      "CREATE TABLE notes (id text PRIMARY KEY, owner_id bigint NOT NULL, body text);"
      "INSERT INTO notes VALUES ('n-7', 7, 'seven');"
      "CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', "
      "deterministic = false);"
      "CREATE TABLE tags (id text PRIMARY KEY, owner_id text COLLATE nocase NOT NULL);"
      "INSERT INTO tags VALUES ('t-1', 'alice@x');");
  ASSERT_EQ(admin("POST", "tables", R"({"name":"notes"})").first, 201);
  ASSERT_EQ(admin("POST", "tables", R"({"name":"tags"})").first, 201);
  EXPECT_TRUE(synced("7", "seven-1")->row("notes", {{"id", "n-7"}}));
  auto padded = synced("07", "padded-1");
  EXPECT_EQ(padded->rows("notes"), 0u);
  auto ack = padded->push({SyncTestClient::insert("notes", {{"id", "n-x"}}, {{"body", "x"}})});
  ASSERT_EQ(ack["exceptions"].size(), 1u) << ack.dump();
  EXPECT_EQ(ack["exceptions"][0]["code"], "forbidden");
  EXPECT_EQ(psql("SELECT count(*) FROM notes"), "1\n");
  EXPECT_TRUE(synced("alice@x", "alice-x")->row("tags", {{"id", "t-1"}}));
  EXPECT_EQ(synced("ALICE@X", "shouting-1")->rows("tags"), 0u);
}

INSTANTIATE_TEST_SUITE_P(CaptureModes, PostgresEndToEnd, ::testing::Values("logical", "trigger"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tandem::testing
