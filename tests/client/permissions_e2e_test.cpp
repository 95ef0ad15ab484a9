// Permission rules with the real server (`tandem serve --rules`) and the C SDK's replica: a
// member's replica holds their lists' items, without the hidden column, and follows their
// memberships — joined while connected, left while offline (docs/permissions.md).
#include <fstream>
#include <nlohmann/json.hpp>

#include "client_fixture.h"
#include "support/http_client.h"
#include "support/postgres_cluster.h"
#include "support/shared_list_rules.h"

namespace tandem::testing {
namespace {

const std::string kRules = shared_list_rules();

// The server on SQLite, or on a throwaway PostgreSQL cluster in one capture mode.
class PermissionsEndToEnd : public ClientEndToEnd,
                            public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(server_dir());
    std::ofstream(dir.file("rules.toml")) << kRules;
    std::vector<std::string> args = {"--rules", dir.file("rules.toml"), "--track",
                                     "list_members,items"};
#ifdef TANDEM_TEST_POSTGRES
    if (GetParam() != "sqlite") {
      cluster = std::make_unique<PostgresCluster>();
      args.insert(args.end(), {"--database-url", cluster->create_database("app"), "--capture",
                               GetParam() == "postgres_logical" ? "logical" : "trigger"});
    }
#endif
    write_on_server(
        "CREATE TABLE list_members (id TEXT PRIMARY KEY, list_id TEXT, user_id TEXT);"
        "CREATE TABLE items (id TEXT PRIMARY KEY, list_id TEXT, title TEXT, secret TEXT);"
        "INSERT INTO list_members VALUES ('m1', 'L1', 'alice'), ('m2', 'L2', 'bob');"
        "INSERT INTO items VALUES ('i1', 'L1', 'milk', 'alice-secret'), "
        "('i2', 'L2', 'tools', 'bob-secret');");
    server = std::make_unique<ServerProcess>(server_dir(), args);
  }

  // SQL as another program would run it on the server's database.
  void write_on_server(const std::string& sql) {
    if (cluster) {
      cluster->psql(sql, "app");
    } else {
      exec_sql(server_dir() + "/tandem.db", sql);
    }
  }

  std::unique_ptr<PostgresCluster> cluster;
};

TEST_P(PermissionsEndToEnd, AReplicaHoldsItsListsAndFollowsItsMemberships) {
  auto alice = replica("alice", "alice");
  alice->wait_synced();
  EXPECT_EQ(alice->query("SELECT id, title FROM items ORDER BY id"),
            std::vector<std::string>{R"({"id":"i1","title":"milk"})"});
  EXPECT_THROW(alice->query("SELECT secret FROM items"), std::exception)
      << "the hidden column is not even in the replica's schema";

  write_on_server("INSERT INTO list_members VALUES ('m3', 'L2', 'alice')");
  EXPECT_TRUE(eventually([&] { return alice->query("SELECT id FROM items").size() == 2; }))
      << "joined L2 while connected";

  alice->stop_sync();
  write_on_server("DELETE FROM list_members WHERE id = 'm1'");
  auto options = fast_options();
  alice->start_sync(url(), ServerProcess::token("alice"), &options);
  EXPECT_TRUE(eventually([&] {
    return alice->query("SELECT id FROM items ORDER BY id") ==
           std::vector<std::string>{R"({"id":"i2"})"};
  })) << "left L1 while offline: i1 leaves at the next connect";
}

TEST_P(PermissionsEndToEnd, TheAdminApiShowsWhichRolesTheRulesGiveATable) {
  auto reply = http_request(
      "127.0.0.1", server->port(), "GET", "/admin/api/tables", {},
      {{"Authorization", "Bearer " + ServerProcess::token("root", auth::Role::admin)}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto tables = nlohmann::json::parse(reply.body)["tables"];
  ASSERT_EQ(tables.size(), 2u);
  for (const auto& table : tables) {
    EXPECT_EQ(table["access"], "filtered") << table.dump();
    EXPECT_EQ(table["roles"], nlohmann::json::array({"user"})) << table.dump();
    EXPECT_FALSE(table.contains("owner_column"));
  }
}

std::vector<std::string> backends() {
#ifdef TANDEM_TEST_POSTGRES
  return {"sqlite", "postgres_trigger", "postgres_logical"};
#else
  return {"sqlite"};
#endif
}

INSTANTIATE_TEST_SUITE_P(Backends, PermissionsEndToEnd, ::testing::ValuesIn(backends()),
                         [](const auto& info) { return info.param; });

using BrokenRulesFile = ClientEndToEnd;

TEST_F(BrokenRulesFile, StopsTheServerAtStartWithThePlaceOfTheMistake) {
  std::ofstream(dir.file("broken.toml"))
      << "[tables.items.user]\nselect.filter = { x = { _like = 1 } }\n";
  auto dump_dir = dir.file("broken-server");
  std::filesystem::create_directories(dump_dir);
  try {
    ServerProcess refused(dump_dir, std::vector<std::string>{"--rules", dir.file("broken.toml")});
    ADD_FAILURE() << "the server started with a broken rules file";
  } catch (const std::runtime_error& error) {
    std::string message = error.what();
    EXPECT_NE(message.find("tandem exited at start-up"), std::string::npos) << message;
    EXPECT_NE(message.find("tables.items.user.select.filter.x._like: unknown operator"),
              std::string::npos)
        << message;
  }
}

}  // namespace
}  // namespace tandem::testing
