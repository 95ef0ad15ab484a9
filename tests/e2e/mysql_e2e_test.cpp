// The server on MySQL/MariaDB, end to end: the real binary configured with Esink's variables
// (MYSQL_DATABASE, MYSQL_HOST, MYSQL_PORT, MYSQL_USERNAME, TABLE_NAMES), SQL written by
// another connection, and a Tandem protocol client over WebSockets.
#include <gtest/gtest.h>

#include "support/mariadb_server.h"
#include "support/server_process.h"
#include "support/sync_test_client.h"
#include "support/temp_dir.h"

namespace tandem::testing {
namespace {

class MysqlEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    mariadb().create_database("app");
    sql("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(8,2)); "
        "INSERT INTO items VALUES (1, 'kettle', 25.50), (2, 'mug', 4.00)");
    ServerLaunch launch;
    launch.env = {{"MYSQL_DATABASE", "app"},
                  {"MYSQL_HOST", mariadb().host()},
                  {"MYSQL_PORT", std::to_string(mariadb().port())},
                  {"MYSQL_USERNAME", mariadb().user()},
                  {"TABLE_NAMES", "items"}};
    server = std::make_unique<ServerProcess>(dir.path().string(), launch);
  }

  static MariadbServer& mariadb() { return MariadbServer::shared(); }
  static void sql(const std::string& text) { mariadb().exec(text, "app"); }

  TempDir dir;
  std::unique_ptr<ServerProcess> server;
};

TEST_F(MysqlEndToEnd, AClientGetsTheSnapshotThenLiveChangesMadeWithSql) {
  SyncTestClient alice(server->port(), ServerProcess::token("alice"), "alice-1");
  auto welcome = alice.hello();
  ASSERT_EQ(welcome["type"], "welcome") << welcome.dump() << server->log();
  ASSERT_TRUE(alice.sync_until()) << server->log();
  auto kettle = alice.row("items", {{"id", 1}});
  ASSERT_TRUE(kettle) << server->log();
  EXPECT_EQ((*kettle)["name"], "kettle");
  EXPECT_EQ((*kettle)["price"], "25.50");
  EXPECT_TRUE(alice.row("items", {{"id", 2}}));

  sql("INSERT INTO items VALUES (3, 'scale', 35.00)");
  ASSERT_TRUE(alice.wait_for([&] { return alice.row("items", {{"id", 3}}); })) << server->log();
  EXPECT_EQ((*alice.row("items", {{"id", 3}}))["name"], "scale");
  sql("UPDATE items SET name = 'big mug' WHERE id = 2");
  ASSERT_TRUE(alice.wait_for([&] {
    auto row = alice.row("items", {{"id", 2}});
    return row && (*row)["name"] == "big mug";
  }));
  sql("DELETE FROM items WHERE id = 1");
  ASSERT_TRUE(alice.wait_for([&] { return !alice.row("items", {{"id", 1}}); }));
}

TEST_F(MysqlEndToEnd, PushesThroughTandemAreRefusedAndMysqlIsUnchanged) {
  SyncTestClient admin(server->port(), ServerProcess::token("ops", auth::Role::admin), "ops-1");
  ASSERT_EQ(admin.hello()["type"], "welcome") << server->log();
  ASSERT_TRUE(admin.sync_until());
  auto ack = admin.push({SyncTestClient::update("items", {{"id", 1}}, {{"name", "changed"}})});
  ASSERT_EQ(ack["type"], "ack") << ack.dump();
  ASSERT_EQ(ack["exceptions"].size(), 1u) << ack.dump();
  EXPECT_EQ(ack["exceptions"][0]["code"], "forbidden") << ack.dump();
  auto rows = mariadb().query("SELECT name FROM items WHERE id = 1", "app");
  EXPECT_EQ(rows[0][0], "kettle");
}

}  // namespace
}  // namespace tandem::testing
