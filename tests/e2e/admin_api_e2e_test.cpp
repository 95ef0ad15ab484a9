// The admin REST API's contract, status code by status code (docs/admin-api.md).
#include "e2e/admin_fixture.h"

namespace tandem::testing {
namespace {

using AdminApi = AdminEndToEnd;

struct Endpoint {
  std::string method;
  std::string path;
  std::string body;
};

const std::vector<Endpoint> kEndpoints = {
    {"GET", "tables", ""},
    {"POST", "tables", R"({"name":"products"})"},
    {"GET", "tables/products", ""},
    {"DELETE", "tables/products", ""},
    {"POST", "tables/reload", ""},
    {"POST", "tables/products/reset", ""},
    {"GET", "jobs", ""},
    {"GET", "jobs/x-1", ""},
    {"GET", "no/such/thing", ""},
};

std::string forged_token() {
  auth::JwtOptions options;
  options.hs256_secret = "not-the-servers-secret-0123456789abcdef";
  auth::MintRequest request;
  request.subject = "mallory";
  request.role = auth::Role::admin;
  return *(*auth::TokenMinter::create(options))->mint(request);
}

std::string expired_admin_token() {
  auth::JwtOptions options;
  options.hs256_secret = kTestSecret;
  auth::MintRequest request;
  request.subject = "root";
  request.role = auth::Role::admin;
  request.ttl = std::chrono::hours(1);
  return *(*auth::TokenMinter::create(options))
              ->mint(request, std::chrono::system_clock::now() - std::chrono::hours(2));
}

TEST_F(AdminApi, EveryEndpointRefusesMissingForgedExpiredAndNonAdminTokens) {
  auto user = ServerProcess::token("alice");
  for (const auto& endpoint : kEndpoints) {
    SCOPED_TRACE(endpoint.method + " " + endpoint.path);
    auto missing = call(endpoint.method, endpoint.path, endpoint.body, std::string());
    EXPECT_EQ(missing.status, 401);
    EXPECT_EQ(missing.body["error"], "unauthenticated");
    EXPECT_EQ(missing.body["code"], 401);
    EXPECT_TRUE(missing.headers.contains("www-authenticate"));
    auto forged = call(endpoint.method, endpoint.path, endpoint.body, forged_token());
    EXPECT_EQ(forged.status, 401);
    EXPECT_EQ(forged.body["error"], "unauthenticated");
    auto expired = call(endpoint.method, endpoint.path, endpoint.body, expired_admin_token());
    EXPECT_EQ(expired.status, 401);
    EXPECT_EQ(expired.body["error"], "token_expired");
    auto not_admin = call(endpoint.method, endpoint.path, endpoint.body, user);
    EXPECT_EQ(not_admin.status, 403);
    EXPECT_EQ(not_admin.body["error"], "forbidden");
    EXPECT_FALSE(not_admin.body["message"].get<std::string>().empty());
  }
  auto tables = call("GET", "tables");
  ASSERT_EQ(tables.status, 200);
  EXPECT_TRUE(has_table(tables.body["tables"], "products")) << "refused calls changed nothing";
}

TEST_F(AdminApi, ListsTrackedTablesWithColumnsKeyAndAccess) {
  auto reply = call("GET", "tables");
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  const auto* orders = find_table(reply.body["tables"], "past_orders");
  ASSERT_NE(orders, nullptr) << reply.body.dump();
  EXPECT_EQ((*orders)["access"], "private");
  EXPECT_EQ((*orders)["owner_column"], "owner_id");
  EXPECT_EQ((*orders)["primary_key"], Json::array({"id"}));
  EXPECT_EQ(column_names(*orders),
            (std::vector<std::string>{"id", "item_name", "price", "quantity", "owner_id"}));
  EXPECT_EQ((*orders)["columns"][0]["primary_key"], true);
  EXPECT_EQ((*orders)["columns"][3]["type"], "integer");
  const auto* products = find_table(reply.body["tables"], "products");
  ASSERT_NE(products, nullptr);
  EXPECT_EQ((*products)["access"], "public");
  EXPECT_FALSE(products->contains("owner_column"));

  auto one = call("GET", "tables/products");
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.body, *products);
  EXPECT_EQ(call("GET", "tables/nothing_here").status, 404);
  EXPECT_EQ(call("GET", "tables/bad-name").body["error"], "invalid_identifier");
}

TEST_F(AdminApi, AddingATableAnswersEachOutcomeWithItsStatus) {
  sql("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
      "CREATE TABLE keyless(body TEXT);"
      "CREATE VIEW note_view AS SELECT * FROM notes;");
  auto created = track("notes");
  EXPECT_EQ(created.status, 201) << created.body.dump();
  EXPECT_EQ(created.body["name"], "notes");
  EXPECT_EQ(created.body["access"], "public");
  EXPECT_EQ(created.headers["location"], "/admin/api/tables/notes");
  auto again = track("notes");
  EXPECT_EQ(again.status, 200) << "tracking a tracked table refreshes it";
  EXPECT_EQ(again.body, created.body);

  auto expect_error = [&](const std::string& body, int status, const std::string& code) {
    auto reply = call("POST", "tables", body);
    EXPECT_EQ(reply.status, status) << body << " -> " << reply.body.dump();
    EXPECT_EQ(reply.body["error"], code) << body;
    EXPECT_EQ(reply.body["code"], status);
    EXPECT_FALSE(reply.body["message"].get<std::string>().empty());
  };
  expect_error(R"({"name":"keyless"})", 400, "no_primary_key");
  expect_error(R"({"name":"nowhere"})", 404, "not_found");
  expect_error(R"({"name":"bad name; DROP TABLE notes"})", 400, "invalid_identifier");
  expect_error(R"({"name":"tandem_changes"})", 400, "invalid_identifier");
  expect_error(R"({"name":"sqlite_sequence"})", 400, "invalid_identifier");  // SQLite's own
  expect_error(R"({"name":"sqlite_master"})", 400, "invalid_identifier");
  expect_error(R"({"name":"note_view"})", 400, "bad_request");
  expect_error(R"({"table":"notes"})", 400, "malformed_message");
  expect_error(R"({"name":7})", 400, "malformed_message");
  expect_error("not json", 400, "malformed_message");

  auto wrong_method = call("PUT", "tables", R"({"name":"notes"})");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers["allow"], "GET, POST");
  EXPECT_EQ(call("GET", "no/such/thing").status, 404);
}

TEST_F(AdminApi, RemovingATableAnswers204ThenNotFound) {
  EXPECT_EQ(call("DELETE", "tables/products").status, 204);
  auto again = call("DELETE", "tables/products");
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.body["error"], "not_found");
  EXPECT_EQ(call("DELETE", "tables/bad-name").body["error"], "invalid_identifier");
  EXPECT_FALSE(has_table(call("GET", "tables").body["tables"], "products"));
}

TEST_F(AdminApi, ReloadReturnsTheSchemasAsTheDatabaseHasThemNow) {
  sql("ALTER TABLE products ADD COLUMN stock INTEGER DEFAULT 0");
  auto before = call("GET", "tables");
  EXPECT_EQ(column_names(*find_table(before.body["tables"], "products")).size(), 4u)
      << "the server sees ALTER TABLE only when asked to reload";
  auto reloaded = call("POST", "tables/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.body.dump();
  EXPECT_EQ(column_names(*find_table(reloaded.body["tables"], "products")),
            (std::vector<std::string>{"id", "name", "price", "image", "stock"}));
  EXPECT_EQ(call("GET", "tables/reload").status, 404) << "GET names a table called reload";
}

TEST_F(AdminApi, HardResetIsAJobWhoseProgressCanBeRead) {
  sql("CREATE TABLE legacy(id INTEGER PRIMARY KEY, body TEXT);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3500) "
      "INSERT INTO legacy SELECT i, 'row ' || i FROM n;");
  ASSERT_EQ(track("legacy").status, 201);
  auto started = call("POST", "tables/legacy/reset");
  ASSERT_EQ(started.status, 202) << started.body.dump();
  EXPECT_EQ(started.body["kind"], "hard_reset");
  EXPECT_EQ(started.body["table"], "legacy");
  auto id = started.body["id"].get<std::string>();
  EXPECT_EQ(started.headers["location"], "/admin/api/jobs/" + id);
  std::vector<Json> seen;
  auto finished = wait_for_job(id, &seen);
  EXPECT_EQ(finished["state"], "succeeded") << finished.dump();
  EXPECT_EQ(finished["done"], 3500);
  EXPECT_EQ(finished["total"], 3500);
  EXPECT_TRUE(finished.contains("finished_at"));
  std::uint64_t last = 0;
  for (const auto& state : seen) {
    EXPECT_GE(state["done"].get<std::uint64_t>(), last) << "progress never goes back";
    EXPECT_LE(state["done"], state["total"]);
    last = state["done"].get<std::uint64_t>();
  }
  auto jobs = call("GET", "jobs");
  ASSERT_EQ(jobs.status, 200);
  ASSERT_EQ(jobs.body["jobs"].size(), 1u);
  EXPECT_EQ(jobs.body["jobs"][0]["id"], id);

  auto untracked = call("POST", "tables/nowhere/reset");
  EXPECT_EQ(untracked.status, 404);
  EXPECT_EQ(untracked.body["error"], "not_found");
  EXPECT_EQ(call("POST", "tables/bad-name/reset").status, 400);
  EXPECT_EQ(call("GET", "tables/legacy/reset").status, 405);
  EXPECT_EQ(call("GET", "jobs/no-such-job").status, 404);
  EXPECT_EQ(call("DELETE", "jobs/" + id).status, 405);
}

}  // namespace
}  // namespace tandem::testing
