// Randomized: users join and leave lists, items are written and moved between lists, some
// replicas go offline and come back; at the end every replica holds exactly the rows the
// rules let its user read, computed independently with SQL on the database file.
// TANDEM_PERMISSIONS_SEED=n replays one run.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "session_fixture.h"
#include "storage/sqlite/sqlite_connection.h"
#include "support/shared_list_rules.h"

namespace tandem::testing {
namespace {

using Json = nlohmann::json;

const std::string kRules = shared_list_rules(R"(
[tables.beacons.user]
select = {}
)");

// What a replica holds: table -> primary key id -> row, built from the frames as a client
// applies them (snapshot rows and changes in order).
using Replica = std::map<std::string, std::map<std::string, Json>>;

void apply_frames(const std::vector<ServerFrame>& frames, Replica& replica) {
  for (const auto& frame : frames) {
    if (frame.type == "snapshot_begin" && frame.json.value("reset", false)) replica.clear();
    if (frame.type == "snapshot_rows") {
      for (const auto& row : frame.json["rows"])
        replica[frame.json["table"]][row["id"]] = row;
    }
    if (frame.type != "changes") continue;
    for (const auto& change : frame.json["changes"]) {
      auto& rows = replica[change["table"]];
      std::string id = change["pk"]["id"];
      if (change["op"] == "delete") {
        rows.erase(id);
      } else {
        rows[id] = change["row"];
      }
    }
  }
}

// The rows of `table` the rules give `user`, by SQL on the database file.
std::set<std::string> expected(const std::string& path, const std::string& sql) {
  storage::SqliteConnection connection(path, storage::SqliteConnection::Mode::read_only);
  auto statement = connection.prepare(sql);
  std::set<std::string> ids;
  while (statement->step())
    ids.insert(statement->column_text(0));
  return ids;
}

std::set<std::string> held(const Replica& replica, const std::string& table) {
  std::set<std::string> ids;
  if (auto rows = replica.find(table); rows != replica.end()) {
    for (const auto& [id, row] : rows->second)
      ids.insert(id);
  }
  return ids;
}

unsigned seed() {
  if (const char* given = std::getenv("TANDEM_PERMISSIONS_SEED")) return std::stoul(given);
  return std::random_device{}();
}

TEST(PermissionsRandom, EveryReplicaHoldsExactlyTheRowsItsUserMayReadAfterRandomEdits) {
  auto run_seed = seed();
  SCOPED_TRACE(fmt::format("TANDEM_PERMISSIONS_SEED={}", run_seed));
  std::mt19937 random(run_seed);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };

  SessionFixture server({.snapshot_batch_rows = 3}, kRules);
  server.execute(
      "CREATE TABLE list_members(id TEXT PRIMARY KEY, list_id TEXT, user_id TEXT);"
      "CREATE TABLE items(id TEXT PRIMARY KEY, list_id TEXT, title TEXT, secret TEXT);"
      "CREATE TABLE beacons(id TEXT PRIMARY KEY)");
  for (const auto* table : {"list_members", "items", "beacons"})
    server.track(table);
  const std::vector<std::string> users = {"u0", "u1", "u2", "u3"};
  const std::vector<std::string> lists = {"L0", "L1", "L2"};

  std::vector<std::optional<SessionClient>> clients;
  std::vector<Replica> replicas(users.size());
  std::vector<std::size_t> applied(users.size(), 0);
  std::vector<bool> online(users.size(), true);
  for (const auto& user : users) {
    clients.emplace_back(server.connect(user));
    clients.back()->hello();
  }
  auto absorb = [&](std::size_t u) {
    auto frames = clients[u]->frames();
    apply_frames(std::vector<ServerFrame>(frames.begin() + static_cast<std::ptrdiff_t>(applied[u]),
                                          frames.end()),
                 replicas[u]);
    applied[u] = frames.size();
  };

  int next_member = 0;
  int next_item = 0;
  for (int step = 0; step < 120; ++step) {
    switch (pick(6)) {
      case 0:
      case 1:
        server.write(fmt::format("INSERT INTO list_members VALUES ('m{}', '{}', '{}')",
                                 next_member++, lists[pick(3)], users[pick(4)]));
        break;
      case 2:
        if (next_member > 0) {
          server.write(fmt::format("DELETE FROM list_members WHERE id = 'm{}'", pick(next_member)));
        }
        break;
      case 3:
        server.write(fmt::format("INSERT INTO items VALUES ('i{}', '{}', 'item {}', 's{}')",
                                 next_item, lists[pick(3)], next_item, next_item));
        ++next_item;
        break;
      case 4:
        if (next_item > 0) {
          server.write(
              fmt::format("UPDATE items SET list_id = '{}', title = 'moved {}' WHERE id "
                          "= 'i{}'",
                          lists[pick(3)], step, pick(next_item)));
        }
        break;
      case 5: {
        // A replica goes offline, or comes back from its last checkpoint.
        auto u = static_cast<std::size_t>(pick(4));
        if (online[u]) {
          absorb(u);
          clients[u]->drop();
          online[u] = false;
        } else {
          auto checkpoint = clients[u]->last_checkpoint();
          absorb(u);
          clients[u].emplace(server.connect(users[u]));
          applied[u] = 0;
          clients[u]->hello(checkpoint);
          online[u] = true;
        }
        break;
      }
    }
  }
  for (std::size_t u = 0; u < users.size(); ++u) {
    if (online[u]) continue;
    auto checkpoint = clients[u]->last_checkpoint();
    absorb(u);
    clients[u].emplace(server.connect(users[u]));
    applied[u] = 0;
    clients[u]->hello(checkpoint);
  }
  // Everyone reads beacons: once a replica has the last one, it has processed everything.
  auto last = server.write("INSERT INTO beacons VALUES ('end')");
  for (std::size_t u = 0; u < users.size(); ++u) {
    ASSERT_TRUE(clients[u]->wait_for_seq(last)) << users[u];
    absorb(u);
  }

  auto path = server.database_path();
  for (std::size_t u = 0; u < users.size(); ++u) {
    const auto& user = users[u];
    EXPECT_EQ(held(replicas[u], "items"),
              expected(path, fmt::format("SELECT id FROM items WHERE list_id IN (SELECT list_id "
                                         "FROM list_members WHERE user_id = '{}')",
                                         user)))
        << user;
    EXPECT_EQ(held(replicas[u], "list_members"),
              expected(path, fmt::format("SELECT id FROM list_members WHERE user_id = '{}'", user)))
        << user;
    for (const auto& [id, row] : replicas[u]["items"])
      EXPECT_FALSE(row.contains("secret")) << user << " holds a hidden column of " << id;
  }
}

}  // namespace
}  // namespace tandem::testing
