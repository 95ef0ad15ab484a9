// Esink compatibility on MariaDB: the same JavaScript tests as on PostgreSQL (tests/js,
// the real socket.io-client) against `tandem esink` configured with Esink's MYSQL_* variables.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/mariadb_server.h"
#include "support/node_test.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace tandem::testing {
namespace {

const char* kMysqlSchema = R"sql(
CREATE TABLE auth (id BIGINT PRIMARY KEY, token VARCHAR(64), name TEXT);
INSERT INTO auth VALUES (1, 'tok-alice', 'Alice'), (2, 'tok-bob', 'Bob'),
                        (3, 'tok-dup', 'Dup A'), (4, 'tok-dup', 'Dup B');
CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT, password TEXT);
CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT, item TEXT, qty INT);
CREATE TABLE messages (id BIGINT PRIMARY KEY, sender_id BIGINT, recipient_id BIGINT, body TEXT);
CREATE TABLE news (id BIGINT PRIMARY KEY, title TEXT);
CREATE TABLE secrets (id BIGINT PRIMARY KEY, body TEXT);
)sql";

TEST(EsinkCompatibility, SocketIoClientsGetEsinksEventsFromMariaDb) {
  auto& mariadb = MariadbServer::shared();
  mariadb.create_database("shop");
  mariadb.exec(kMysqlSchema, "shop");
  TempDir dir;
  const std::map<std::string, std::string> env = {
      {"MYSQL_DATABASE", "shop"},
      {"MYSQL_HOST", mariadb.host()},
      {"MYSQL_PORT", std::to_string(mariadb.port())},
      {"MYSQL_USERNAME", mariadb.user()},
      {"MYSQL_PASSWORD", ""},
      {"MYSQL_TABLE_TARGET", "esink_pubsub"},
      {"TABLE_NAMES", "users,orders,messages,news,secrets"},
      {"TABLE_AUTH_COLUMN_ROUTING",
       R"({"users": "id", "orders": "user_id", "messages": ["sender_id", "recipient_id"],)"
       R"( "news": "*"})"},
      {"FILTERS", "users.password,messages.sender_id"},
      {"SECURITY_TOKEN", "s3cret"},
      {"ALLOW_REPUBLISHING", "true"}};
  ServerProcess server(dir.file("esink"), ServerLaunch{"esink", {}, env});
  ServerProcess closed(dir.file("closed"), ServerLaunch{"esink", {}, {}});

  const nlohmann::json client = {"mariadb", "--no-defaults",
                                 "-h",      mariadb.host(),
                                 "-P",      std::to_string(mariadb.port()),
                                 "-u",      mariadb.user(),
                                 "shop",    "-e"};
  auto result = run_node_test(
      "esink.test.mjs", {{"ESINK_URL", "http://127.0.0.1:" + std::to_string(server.port())},
                         {"ESINK_CLOSED_URL", "http://127.0.0.1:" + std::to_string(closed.port())},
                         {"ESINK_SQL", client.dump()},
                         {"ESINK_SOURCE", "shop"},
                         {"ESINK_DIALECT", "mysql"}});
  EXPECT_EQ(result.exit_code, 0) << result.output << "\nserver log:\n" << server.log();
  if (result.exit_code == 0) std::cout << result.output;
  // The events table was filled by the triggers and emptied by the poller, never dropped.
  auto remaining = mariadb.query("SELECT count(*) FROM esink_pubsub", "shop");
  ASSERT_EQ(remaining.size(), 1u);
  EXPECT_EQ(remaining[0][0], "0");
}

}  // namespace
}  // namespace tandem::testing
