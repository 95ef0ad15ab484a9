// Changing the permission rules of a running server (docs/permissions.md, "Changing the rules")
// with the real `tandem serve`, the real `tandem rules` command and the C SDK's replicas: a
// replica follows the new rules live or at its next connect, a broken file changes nothing,
// the admin API replaces and shows the rules, and "view as user" shows what a replica holds.
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client_fixture.h"
#include "support/http_client.h"
#include "support/postgres_cluster.h"

namespace tandem::testing {
namespace {

using nlohmann::json;
using Ids = std::vector<std::string>;

// Users read the items of lists L1 and L2 without their secret, and every note; auditors read
// every column of the items with a positive quantity.
constexpr auto kInitialRules = R"(version = 1
[tables.items.user]
select.filter = { list_id = { _in = ["L1", "L2"] } }
select.columns = ["id", "list_id", "title", "qty"]
[tables.notes.user]
select.filter = {}
[tables.items.auditor]
select.filter = { qty = { _gt = 0 } }
)";

// Narrower for users: L1's items only, and no notes at all. The auditors' rule is the same.
constexpr auto kNarrowRules = R"(version = 1
[tables.items.user]
select.filter = { list_id = { _eq = "L1" } }
select.columns = ["id", "list_id", "title", "qty"]
[tables.items.auditor]
select.filter = { qty = { _gt = 0 } }
)";

// Wider for users: every column of the items of the lists they are a member of (a membership
// the server did not read before), and the notes again.
constexpr auto kWideRules = R"(version = 1
[memberships.list_members]
key = "list_id"
member = "user_id"
[tables.items.user]
select.filter = { list_id = { _in_membership = "list_members" } }
[tables.notes.user]
select.filter = {}
)";

// A TOML syntax error on line 2.
constexpr auto kBrokenRules = "version = 1\n[tables.items.user\nselect.filter = {}\n";

struct CommandRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

// The tandem binary (as ctest gives it) with `args`, to completion.
CommandRun run_tandem(const std::vector<std::string>& args) {
  std::string command = std::string("'") + std::getenv("TANDEM_BINARY") + "'";
  for (const auto& arg : args)
    command += " '" + arg + "'";
  CommandRun run;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe))
    run.output += buffer;
  int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string admin_token() {
  return ServerProcess::token("root", auth::Role::admin);
}

// The rows of `table` in a replica, as JSON objects in key order; null without the table.
json replica_rows(sdk::Database& db, const std::string& table) {
  auto tables = db.query("SELECT name FROM sqlite_master WHERE name = ?", json({table}).dump());
  if (tables.empty()) return nullptr;
  json rows = json::array();
  for (const auto& row : db.query("SELECT * FROM \"" + table + "\" ORDER BY id"))
    rows.push_back(json::parse(row));
  return rows;
}

Ids ids_of(const json& rows) {
  Ids ids;
  for (const auto& row : rows)
    ids.push_back(row["id"].get<std::string>());
  return ids;
}

// Waits until the replica's `table` holds exactly the rows keyed `expected`; with nullopt, until
// it no longer has the table.
::testing::AssertionResult holds(sdk::Database& db, const std::string& table,
                                 const std::optional<Ids>& expected) {
  json rows;
  auto matches = [&] {
    rows = replica_rows(db, table);
    return expected ? rows.is_array() && ids_of(rows) == *expected : rows.is_null();
  };
  if (eventually(matches)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << table << " holds " << rows.dump();
}

// A value of the replica's bookkeeping: "epoch" counts the reset snapshots it received.
std::string replica_meta(sdk::Database& db, const std::string& key) {
  auto rows = db.query("SELECT value FROM tandem_meta WHERE key = ?", json({key}).dump());
  return rows.empty() ? "" : json::parse(rows[0])["value"].get<std::string>();
}

struct Answer {
  int status = 0;
  json body;
};

// `method /admin/api/<path>` with a bearer token; the answer's body parsed (discarded: not JSON).
Answer admin_request(std::uint16_t port, const std::string& method, const std::string& path,
                     const std::string& body = {}, const std::string& token = admin_token()) {
  auto reply = http_request("127.0.0.1", port, method, "/admin/api/" + path, body,
                            {{"Authorization", "Bearer " + token}});
  return {reply.status, json::parse(reply.body, nullptr, false)};
}

// A server whose users read through kInitialRules, on SQLite or on a throwaway PostgreSQL.
class RulesReload : public ClientEndToEnd {
 protected:
  virtual std::string backend() const { return "sqlite"; }

  void SetUp() override {
    std::filesystem::create_directories(server_dir());
    // As a deployment often mounts it (a Kubernetes ConfigMap): a link to the file.
    std::filesystem::create_directories(dir.file("config"));
    std::filesystem::create_symlink(dir.file("config/rules.toml"), rules_file());
    write_rules(kInitialRules);
    std::vector<std::string> args = {"--rules", rules_file(), "--track",
                                     "list_members,items,notes"};
    if (backend() != "sqlite") {
      cluster = std::make_unique<PostgresCluster>();
      args.insert(args.end(), {"--database-url", cluster->create_database("app")});
    }
    write_on_server(
        "CREATE TABLE list_members (id TEXT PRIMARY KEY, list_id TEXT, user_id TEXT);"
        "CREATE TABLE items (id TEXT PRIMARY KEY, list_id TEXT, title TEXT, qty INTEGER, "
        "secret TEXT);"
        "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT);"
        "INSERT INTO list_members VALUES ('m1', 'L1', 'alice'), ('m2', 'L2', 'alice'), "
        "('m3', 'L3', 'alice');"
        "INSERT INTO items VALUES ('i1', 'L1', 'milk', 1, 's1'), ('i2', 'L2', 'tools', 2, 's2'), "
        "('i3', 'L3', 'paint', 3, 's3'), ('i4', 'L4', 'rent', 0, 's4');"
        "INSERT INTO notes VALUES ('n1', 'hello');");
    server = std::make_unique<ServerProcess>(server_dir(), args);
  }

  std::string rules_file() const { return dir.file("rules.toml"); }
  void write_rules(const std::string& text) const { std::ofstream(rules_file()) << text; }

  void write_on_server(const std::string& sql) {
    if (cluster) {
      cluster->psql(sql, "app");
    } else {
      exec_sql(server_dir() + "/tandem.db", sql);
    }
  }

  // `tandem rules <action> --url ... --token <admin>` against this server.
  CommandRun rules_command(const std::string& action) const {
    return run_tandem({"rules", action, "--url",
                       "http://127.0.0.1:" + std::to_string(server->port()), "--token",
                       admin_token()});
  }

  Answer admin(const std::string& method, const std::string& path, const std::string& body = {},
               const std::string& token = admin_token()) const {
    return admin_request(server->port(), method, path, body, token);
  }

  // Every row of `table` as `claims` would read it, `limit` rows a request, following `next`.
  json view_all(const std::string& table, const json& claims, int limit, int* pages = nullptr) {
    json rows = json::array();
    json request = {{"claims", claims}, {"limit", limit}};
    for (int page = 1; page <= 10; ++page) {
      auto answer = admin("POST", "tables/" + table + "/view", request.dump());
      EXPECT_EQ(answer.status, 200) << answer.body.dump();
      EXPECT_LE(answer.body["rows"].size(), static_cast<std::size_t>(limit));
      for (const auto& row : answer.body["rows"])
        rows.push_back(row);
      if (pages) *pages = page;
      if (answer.body["next"].is_null()) return rows;
      request["after"] = answer.body["next"];
    }
    ADD_FAILURE() << "view of " << table << " never ended";
    return rows;
  }

  std::unique_ptr<sdk::Database> auditor(const std::string& name) {
    auto db = std::make_unique<sdk::Database>(replica_path(name));
    auto options = fast_options();
    json claims = {{"sub", name}, {"role", "auditor"}, {"exp", std::time(nullptr) + 3600}};
    db->start_sync(url(), ServerProcess::token_with_claims(claims.dump()), &options);
    return db;
  }

  std::unique_ptr<PostgresCluster> cluster;
};

class RulesReloadOnEveryBackend : public RulesReload,
                                  public ::testing::WithParamInterface<std::string> {
 protected:
  std::string backend() const override { return GetParam(); }
};

TEST_P(RulesReloadOnEveryBackend,
       AConnectedReplicaLosesWhatNarrowedRulesHideAndGainsWhatWiderGrant) {
  auto alice = replica("alice", "alice");
  alice->wait_synced();
  ASSERT_TRUE(holds(*alice, "items", Ids{"i1", "i2"}));
  ASSERT_TRUE(holds(*alice, "notes", Ids{"n1"}));

  write_rules(kNarrowRules);
  auto narrowed = rules_command("reload");
  ASSERT_EQ(narrowed.status, 0) << narrowed.output;
  EXPECT_NE(narrowed.output.find("changed"), std::string::npos) << narrowed.output;
  EXPECT_TRUE(holds(*alice, "items", Ids{"i1"})) << "L2's item is no longer hers";
  EXPECT_TRUE(holds(*alice, "notes", std::nullopt)) << "a table the rules hide disappears";

  write_on_server("INSERT INTO items VALUES ('i5', 'L2', 'nails', 5, 's5')");
  write_on_server("INSERT INTO items VALUES ('i6', 'L1', 'bread', 6, 's6')");
  EXPECT_TRUE(holds(*alice, "items", Ids{"i1", "i6"}))
      << "live changes go through the new rules: i5, logged before i6, is not sent";

  write_rules(kWideRules);
  auto widened = rules_command("reload");
  ASSERT_EQ(widened.status, 0) << widened.output;
  EXPECT_TRUE(holds(*alice, "items", Ids{"i1", "i2", "i3", "i5", "i6"}))
      << "the items of her lists L1, L2 and L3, including L2's she lost with the narrowed rules";
  EXPECT_EQ(alice->query("SELECT secret FROM items WHERE id = 'i1'"),
            std::vector<std::string>{R"({"secret":"s1"})"})
      << "a column the rules now show arrives with the rows she already had";
  EXPECT_TRUE(holds(*alice, "notes", Ids{"n1"}));
}

std::vector<std::string> backends() {
#ifdef TANDEM_TEST_POSTGRES
  return {"sqlite", "postgres"};
#else
  return {"sqlite"};
#endif
}

INSTANTIATE_TEST_SUITE_P(Backends, RulesReloadOnEveryBackend, ::testing::ValuesIn(backends()),
                         [](const auto& info) { return info.param; });

TEST_F(RulesReload, AReplicaOfflineDuringTheReloadIsCorrectedAtItsNextConnect) {
  auto alice = replica("alice", "alice");
  alice->wait_synced();
  ASSERT_TRUE(holds(*alice, "items", Ids{"i1", "i2"}));
  alice->stop_sync();

  write_rules(kNarrowRules);
  auto reloaded = admin("POST", "rules/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.body.dump();
  EXPECT_EQ(reloaded.body["changed"], true);
  // Nothing was written meanwhile: only the rules digest of her checkpoint is out of date.
  auto options = fast_options();
  alice->start_sync(url(), ServerProcess::token("alice"), &options);
  EXPECT_TRUE(holds(*alice, "items", Ids{"i1"}));
  EXPECT_TRUE(holds(*alice, "notes", std::nullopt));
}

TEST_F(RulesReload, OnlyReplicasWhoseViewChangedAreFilledAgain) {
  auto alice = replica("alice", "alice");
  auto carol = auditor("carol");
  alice->wait_synced();
  carol->wait_synced();
  ASSERT_TRUE(holds(*carol, "items", Ids{"i1", "i2", "i3"}));
  auto alice_epoch = replica_meta(*alice, "epoch");
  auto alice_digest = replica_meta(*alice, "rules");
  auto carol_epoch = replica_meta(*carol, "epoch");
  auto carol_digest = replica_meta(*carol, "rules");

  write_rules(kNarrowRules);
  ASSERT_EQ(admin("POST", "rules/reload").status, 200);
  // Logged after the reload: a replica receives it after any snapshot the reload started.
  write_on_server("INSERT INTO items VALUES ('i5', 'L1', 'nails', 5, 's5')");
  EXPECT_TRUE(holds(*alice, "items", Ids{"i1", "i5"}));
  EXPECT_TRUE(holds(*carol, "items", Ids{"i1", "i2", "i3", "i5"}));
  EXPECT_NE(replica_meta(*alice, "epoch"), alice_epoch) << "her view changed: a reset snapshot";
  EXPECT_NE(replica_meta(*alice, "rules"), alice_digest) << "under the digest of her new view";
  EXPECT_EQ(replica_meta(*carol, "epoch"), carol_epoch) << "the auditors' rule is the same";
  EXPECT_EQ(replica_meta(*carol, "rules"), carol_digest);
}

TEST_F(RulesReload, ABrokenFileIsRefusedAndTheRulesInForceStay) {
  auto alice = replica("alice", "alice");
  alice->wait_synced();
  auto version = admin("GET", "rules").body["version"];

  write_rules(kBrokenRules);
  auto refused = rules_command("reload");
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find(rules_file() + ":2:"), std::string::npos) << refused.output;
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  EXPECT_TRUE(eventually([&] {
    return server->log().find("rules not reloaded") != std::string::npos;
  })) << server->log_tail();
  EXPECT_TRUE(server->running()) << "a SIGHUP with a broken file does not stop the server";
  EXPECT_EQ(admin("GET", "rules").body["version"], version);

  write_on_server("INSERT INTO items VALUES ('i5', 'L2', 'nails', 5, 's5')");
  EXPECT_TRUE(holds(*alice, "items", Ids{"i1", "i2", "i5"})) << "L2 is still hers, live";
  EXPECT_TRUE(holds(*alice, "notes", Ids{"n1"}));
}

TEST_F(RulesReload, PutWritesTheFileAppliesItAndGetShowsIt) {
  auto alice = replica("alice", "alice");
  alice->wait_synced();
  auto put = admin("PUT", "rules", kNarrowRules);
  ASSERT_EQ(put.status, 200) << put.body.dump();
  EXPECT_EQ(put.body["changed"], true);
  EXPECT_EQ(put.body["file"], rules_file());
  EXPECT_EQ(read_file(rules_file()), kNarrowRules);
  EXPECT_TRUE(std::filesystem::is_symlink(rules_file())) << "the link's target was written";
  EXPECT_TRUE(holds(*alice, "items", Ids{"i1"}));

  auto shown = admin("GET", "rules");
  ASSERT_EQ(shown.status, 200) << shown.body.dump();
  EXPECT_EQ(shown.body["text"], kNarrowRules);
  EXPECT_EQ(shown.body["version"], put.body["version"]);
  EXPECT_EQ(shown.body["tables"], (json{{"items", {"auditor", "user"}}}));
  auto cli = rules_command("show");
  EXPECT_EQ(cli.status, 0);
  EXPECT_NE(cli.output.find(kNarrowRules), std::string::npos) << cli.output;
  EXPECT_EQ(admin("PUT", "rules", kNarrowRules).body["changed"], false);

  auto refused =
      admin("PUT", "rules", "[tables.items.user]\nselect.filter = { x = { _like = 1 } }");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.body["error"], "config_invalid");
  EXPECT_NE(
      refused.body["message"].get<std::string>().find("tables.items.user.select.filter.x._like"),
      std::string::npos)
      << refused.body.dump();
  EXPECT_EQ(read_file(rules_file()), kNarrowRules) << "a refused text is not written";
}

TEST_F(RulesReload, OnlyAdminsSeeOrChangeTheRules) {
  for (auto [method, path] : {std::pair{"GET", "rules"},
                              {"PUT", "rules"},
                              {"POST", "rules/reload"},
                              {"POST", "tables/items/view"}}) {
    auto answer = admin(method, path, kNarrowRules, ServerProcess::token("alice"));
    EXPECT_EQ(answer.status, 403) << method << " " << path;
    EXPECT_EQ(answer.body["error"], "forbidden");
  }
  EXPECT_EQ(read_file(rules_file()), kInitialRules);
}

TEST_F(RulesReload, SighupReadsTheFileAgain) {
  auto alice = replica("alice", "alice");
  alice->wait_synced();
  write_rules(kNarrowRules);
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  EXPECT_TRUE(holds(*alice, "items", Ids{"i1"}));
  EXPECT_TRUE(holds(*alice, "notes", std::nullopt));
  auto checked = run_tandem({"rules", "check", rules_file()});
  EXPECT_TRUE(eventually([&] {
    auto version = admin("GET", "rules").body["version"].get<std::string>();
    return checked.output.find("version " + version) != std::string::npos;
  })) << "the server applies the file's rules, as `tandem rules check` reads them";
}

TEST_F(RulesReload, ViewAsUserShowsExactlyTheRowsAndColumnsOfThatUsersReplica) {
  auto alice = replica("alice", "alice");
  auto carol = auditor("carol");
  alice->wait_synced();
  carol->wait_synced();
  ASSERT_TRUE(holds(*alice, "items", Ids{"i1", "i2"}));
  const json as_alice = {{"sub", "alice"}};
  const json as_carol = {{"sub", "carol"}, {"role", "auditor"}};
  EXPECT_EQ(view_all("items", as_alice, 100), replica_rows(*alice, "items"));
  EXPECT_EQ(view_all("items", as_carol, 100), replica_rows(*carol, "items"));
  EXPECT_EQ(view_all("notes", as_alice, 100), replica_rows(*alice, "notes"));

  auto view = admin("POST", "tables/items/view", json{{"claims", as_alice}}.dump()).body;
  EXPECT_EQ(view["user"], "alice");
  EXPECT_EQ(view["role"], "user");
  EXPECT_EQ(view["visible"], true);
  EXPECT_EQ(view["columns"], json({"id", "list_id", "title", "qty"})) << "never the secret";
  EXPECT_NE(view["filter"].get<std::string>().find("list_id IN"), std::string::npos) << view;
  auto hidden = admin("POST", "tables/notes/view", json{{"claims", as_carol}}.dump()).body;
  EXPECT_EQ(hidden["visible"], false) << hidden;
  EXPECT_EQ(hidden["rows"], json::array());

  ASSERT_EQ(admin("PUT", "rules", kWideRules).status, 200);
  ASSERT_TRUE(holds(*alice, "items", Ids{"i1", "i2", "i3"}));
  EXPECT_EQ(view_all("items", as_alice, 100), replica_rows(*alice, "items"))
      << "the rules in force, with the membership they read";
}

TEST_F(RulesReload, ViewAsUserPagesWithAfterAndNext) {
  int pages = 0;
  auto rows = view_all("items", {{"sub", "carol"}, {"role", "auditor"}}, 2, &pages);
  EXPECT_EQ(ids_of(rows), (Ids{"i1", "i2", "i3"}));
  EXPECT_EQ(pages, 2) << "two rows, then the last one with next null";
  auto after = admin("POST", "tables/items/view",
                     json{{"claims", {{"sub", "alice"}}}, {"after", {"i1"}}}.dump());
  ASSERT_EQ(after.status, 200) << after.body.dump();
  EXPECT_EQ(ids_of(after.body["rows"]), Ids{"i2"});
  EXPECT_TRUE(after.body["next"].is_null());
}

TEST_F(RulesReload, ViewAsUserRefusesABadBody) {
  for (std::string body :
       {"not json", "{}", R"({"claims": "alice"})", R"({"claims": {"role": "user"}})",
        R"({"claims": {"sub": "alice", "role": "Admin"}})",
        R"({"claims": {"sub": "alice"}, "limit": 0})",
        R"({"claims": {"sub": "alice"}, "limit": 1001})",
        R"({"claims": {"sub": "alice"}, "after": "i1"})",
        R"({"claims": {"sub": "alice"}, "after": ["i1", 2]})",
        R"({"claims": {"sub": "alice"}, "after": []})"}) {
    auto answer = admin("POST", "tables/items/view", body);
    EXPECT_EQ(answer.status, 400) << body << " -> " << answer.body.dump();
    EXPECT_TRUE(answer.body.contains("error")) << body;
  }
  EXPECT_EQ(admin("POST", "tables/nowhere/view", R"({"claims": {"sub": "alice"}})").status, 404);
}

using ServerWithoutRulesFile = ClientEndToEnd;

TEST_F(ServerWithoutRulesFile, ShowsNoFileAndRefusesToChangeTheRules) {
  auto shown = admin_request(server->port(), "GET", "rules");
  ASSERT_EQ(shown.status, 200) << shown.body.dump();
  EXPECT_TRUE(shown.body["file"].is_null());
  EXPECT_EQ(admin_request(server->port(), "POST", "rules/reload").body["error"], "config_invalid");
  EXPECT_EQ(admin_request(server->port(), "PUT", "rules", kNarrowRules).status, 400);
}

TEST(RulesCheck, AcceptsAGoodFileAndNamesThePlaceOfAMistake) {
  TempDir dir;
  std::ofstream(dir.file("good.toml")) << kWideRules;
  std::ofstream(dir.file("syntax.toml")) << kBrokenRules;
  auto good = run_tandem({"rules", "check", dir.file("good.toml")});
  EXPECT_EQ(good.status, 0) << good.output;
  EXPECT_NE(good.output.find(dir.file("good.toml") + ": 2 tables, 1 memberships, version "),
            std::string::npos)
      << good.output;
  auto syntax = run_tandem({"rules", "check", dir.file("syntax.toml")});
  EXPECT_NE(syntax.status, 0);
  EXPECT_NE(syntax.output.find(dir.file("syntax.toml") + ":2:"), std::string::npos)
      << syntax.output;
}

}  // namespace
}  // namespace tandem::testing
