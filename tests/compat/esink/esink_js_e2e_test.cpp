// Esink compatibility end to end: the JavaScript tests in tests/js (the real npm
// socket.io-client) against `tandem esink` started with Esink's own environment variables on
// a real database. This file sets the scene; the assertions are in the .mjs files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "net/test_certificate.h"
#include "support/node_test.h"
#include "support/postgres_cluster.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace tandem::testing {
namespace {

const char* kRouting =
    R"({"users": "id", "orders": "user_id", "messages": ["sender_id", "recipient_id"],)"
    R"( "news": "*"})";

std::map<std::string, std::string> esink_env(std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> env = {{"TABLE_NAMES", "users,orders,messages,news,secrets"},
                                            {"TABLE_AUTH_COLUMN_ROUTING", kRouting},
                                            {"FILTERS", "users.password,messages.sender_id"},
                                            {"AUTH_TABLE", "auth"},
                                            {"AUTH_COLUMN", "token"}};
  for (auto& [name, value] : extra)
    env[name] = value;
  return env;
}

std::string url_of(const ServerProcess& server, const char* scheme = "http") {
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(server.port());
}

void expect_passed(const NodeTestResult& result) {
  EXPECT_EQ(result.exit_code, 0) << result.output;
  if (result.exit_code == 0) std::cout << result.output;
}

const char* kPostgresSchema = R"sql(
CREATE TABLE auth (id bigint PRIMARY KEY, token text, name text);
INSERT INTO auth VALUES (1, 'tok-alice', 'Alice'), (2, 'tok-bob', 'Bob'),
                        (3, 'tok-dup', 'Dup A'), (4, 'tok-dup', 'Dup B');
CREATE TABLE users (id bigint PRIMARY KEY, name text, password text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, item text, qty int, paid boolean,
                     meta jsonb, price numeric(10, 2));
CREATE TABLE messages (id bigint PRIMARY KEY, sender_id bigint, recipient_id bigint, body text);
CREATE TABLE news (id bigint PRIMARY KEY, title text);
CREATE TABLE secrets (id bigint PRIMARY KEY, body text);
)sql";

TEST(EsinkCompatibility, SocketIoClientsGetEsinksEventsFromPostgres) {
  PostgresCluster cluster;
  const auto url = cluster.create_database("app");
  cluster.psql(kPostgresSchema, "app");
  TempDir dir;
  ServerProcess server(dir.file("esink"),
                       ServerLaunch{"esink",
                                    {},
                                    esink_env({{"POSTGRES_DATABASE_URL", url},
                                               {"SECURITY_TOKEN", "s3cret"},
                                               {"ALLOW_REPUBLISHING", "true"}})});
  // Esink's defaults otherwise: no SECURITY_TOKEN (publishing refused), no republishing.
  ServerProcess closed(dir.file("closed"), ServerLaunch{"esink", {}, {}});

  const nlohmann::json psql = {"psql",
                               "-X",
                               "-q",
                               "-v",
                               "ON_ERROR_STOP=1",
                               "-h",
                               "127.0.0.1",
                               "-p",
                               std::to_string(cluster.port()),
                               "-U",
                               "postgres",
                               "-d",
                               "app",
                               "-c"};
  expect_passed(run_node_test("esink.test.mjs", {{"ESINK_URL", url_of(server)},
                                                 {"ESINK_CLOSED_URL", url_of(closed)},
                                                 {"ESINK_SQL", psql.dump()},
                                                 {"ESINK_SOURCE", "postgres"},
                                                 {"ESINK_DIALECT", "postgres"}}));
}

TEST(EsinkCompatibility, UseSslServesSocketIoOnlyOverTls) {
  net::testing::TestCertificate certificate;
  TempDir dir;
  ServerProcess server(
      dir.file("tls"),
      ServerLaunch{"esink",
                   {},
                   {{"USE_SSL", "true"},
                    {"TANDEM_TLS_CERTIFICATE_FILE", certificate.certificate_file()},
                    {"TANDEM_TLS_PRIVATE_KEY_FILE", certificate.private_key_file()}}});
  expect_passed(run_node_test("esink_tls.test.mjs", {{"ESINK_TLS_URL", url_of(server, "https")}}));
}

}  // namespace
}  // namespace tandem::testing
