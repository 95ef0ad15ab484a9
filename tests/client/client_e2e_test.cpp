// The client SDK against the real server: offline edits, exactly-once upload across a
// server crash, listeners, errors.
#include <atomic>
#include <nlohmann/json.hpp>

#include "client/client_fixture.h"
#include "sync/hlc.h"

namespace tandem::testing {
namespace {

using Json = nlohmann::json;
constexpr const char* kItemColumns = "id, a, b, c";

std::string items(const std::string& path) {
  return dump_table(path, "items", kItemColumns, "id");
}

// Returns once the wall clock has moved to a later millisecond, so that the next write is
// stamped later than every write before it on any replica of this process.
void next_millisecond() {
  auto start = sync::HlcClock::system_millis();
  while (sync::HlcClock::system_millis() <= start) {
  }
}

// tandem_sync_options carries its size, so that fields added later leave applications built
// against an older header working: the library reads only the fields the caller knows.
TEST_F(ClientEndToEnd, SyncOptionsAreTakenByTheSizeTheApplicationWasBuiltWith) {
  tandem_db* db = nullptr;
  ASSERT_EQ(tandem_open(replica_path("sized").c_str(), &db), TANDEM_OK);
  auto token = ServerProcess::token("alice", auth::Role::user);
  tandem_sync_options options;
  tandem_sync_options_init(&options);
  EXPECT_EQ(options.size, sizeof(tandem_sync_options));
  tandem_sync_options unset{};
  EXPECT_EQ(tandem_start_sync(db, url().c_str(), token.c_str(), &unset), TANDEM_BAD_REQUEST)
      << "options not set up by tandem_sync_options_init";
  EXPECT_NE(std::string(tandem_last_error()).find("tandem_sync_options_init"), std::string::npos);
  options.timeout_ms = 5000;
  EXPECT_EQ(tandem_start_sync(db, url().c_str(), token.c_str(), &options), TANDEM_OK);
  EXPECT_EQ(tandem_wait_synced(db, 0, 10000), TANDEM_OK);
  EXPECT_EQ(tandem_stop_sync(db), TANDEM_OK);
  tandem_close(db);
}

TEST_F(ClientEndToEnd, LocalWriteIsVisibleAtOnceAndReachesOtherReplicas) {
  auto a = replica("a", "root", auth::Role::admin);
  auto b = replica("b", "root2", auth::Role::admin);
  a->wait_synced();
  b->wait_synced();
  a->insert("items", R"({"id":"r1","a":"hello","b":1})");
  EXPECT_EQ(a->query("SELECT a, b FROM items WHERE id = ?", R"(["r1"])"),
            std::vector<std::string>{R"({"a":"hello","b":1})"});
  EXPECT_TRUE(eventually([&] { return b->query("SELECT id FROM items").size() == 1; }));
  a->wait_synced();
  EXPECT_EQ(a->status().pending_uploads, 0);
}

TEST_F(ClientEndToEnd, OfflineEditsAndConcurrentEditsConvergeToTheMergeRule) {
  auto a = replica("a", "root", auth::Role::admin);
  auto b = replica("b", "root2", auth::Role::admin);
  a->wait_synced();
  for (const char* id : {"r1", "r2", "r3"})
    a->insert("items", Json{{"id", id}, {"a", "start"}, {"b", 0}}.dump());
  a->wait_synced();
  b->wait_synced(a->status().checkpoint_seq);

  a->stop_sync();
  // A, offline, edits first; B edits the same rows later, online.
  a->update("items", R"({"id":"r1"})", R"({"b":1})");    // another column than B's
  a->update("items", R"({"id":"r2"})", R"({"b":100})");  // the same column as B's
  next_millisecond();
  b->update("items", R"({"id":"r1"})", R"({"a":"from b"})");
  b->update("items", R"({"id":"r2"})", R"({"b":200})");
  b->remove("items", R"({"id":"r3"})");
  next_millisecond();
  a->update("items", R"({"id":"r3"})", R"({"a":"after the delete"})");  // an update cannot revive
  EXPECT_EQ(a->query("SELECT b FROM items WHERE id = 'r2'"),
            std::vector<std::string>{R"({"b":100})"});
  b->wait_synced();

  auto options = fast_options();
  a->start_sync(url(), ServerProcess::token("root", auth::Role::admin), &options);
  a->wait_synced();
  auto head = server_head();
  a->wait_synced(head);
  b->wait_synced(head);

  EXPECT_EQ(a->query("SELECT id, a, b FROM items ORDER BY id"),
            (std::vector<std::string>{R"({"id":"r1","a":"from b","b":1})",
                                      R"({"id":"r2","a":"start","b":200})"}));
  EXPECT_EQ(items(replica_path("a")), items(replica_path("b")));
  EXPECT_EQ(items(replica_path("a")), items(server->database_path()));
}

TEST_F(ClientEndToEnd, UploadCutOffByKillingTheServerIsAppliedExactlyOnceAfterRestart) {
  constexpr int kRows = 1500;
  auto a = std::make_unique<sdk::Database>(replica_path("a"));
  auto options = fast_options();
  options.push_batch = 50;
  auto token = ServerProcess::token("root", auth::Role::admin);
  a->start_sync(url(), token, &options);
  a->wait_synced();
  a->stop_sync();
  for (int i = 0; i < kRows; ++i)
    a->insert("items", Json{{"id", "k" + std::to_string(10000 + i)}, {"b", i}}.dump());
  ASSERT_EQ(a->status().pending_uploads, kRows);

  a->start_sync(url(), token, &options);
  ASSERT_TRUE(eventually([&] { return a->status().pending_uploads < kRows; }));
  server->restart();  // kill -9 with pushes in flight, then the same data and port
  a->wait_synced(0, 20000);

  auto count = [&](const std::string& sql) {
    auto dump = dump_table(server->database_path(), sql, "count(*)", "1");
    return std::stoi(dump.substr(dump.find(':') + 1));
  };
  EXPECT_EQ(count("items"), kRows);
  // Each insert is in the change log once: none was applied twice, none lost.
  EXPECT_EQ(count("tandem_changes WHERE tbl = 'items' AND op = 'insert'"), kRows);
  EXPECT_GE(a->status().reconnects, 1u);
  a->wait_synced(server_head());
  EXPECT_EQ(items(replica_path("a")), items(server->database_path()));
}

struct Recorded {
  std::string table;
  int op;
  std::string pk;
  int origin;
  bool operator==(const Recorded&) const = default;
};

void PrintTo(const Recorded& event, std::ostream* out) {
  *out << event.table << " op=" << event.op << " " << event.pk
       << (event.origin == TANDEM_ORIGIN_LOCAL ? " local" : " remote");
}

TEST_F(ClientEndToEnd, ListenerFiresOncePerAppliedChange) {
  auto a = replica("a", "root", auth::Role::admin);
  auto b = replica("b", "root2", auth::Role::admin);
  a->wait_synced();
  b->wait_synced();
  std::mutex mutex;
  std::vector<Recorded> seen_by_a, seen_by_b;
  a->add_listener([&](const std::string& table, int op, const std::string& pk, int origin) {
    std::lock_guard lock(mutex);
    seen_by_a.push_back({table, op, pk, origin});
  });
  b->add_listener([&](const std::string& table, int op, const std::string& pk, int origin) {
    std::lock_guard lock(mutex);
    seen_by_b.push_back({table, op, pk, origin});
  });

  std::vector<Recorded> expected;
  for (int i = 0; i < 5; ++i) {
    std::string pk = Json{{"id", "l" + std::to_string(i)}}.dump();
    a->insert("items", Json{{"id", "l" + std::to_string(i)}, {"b", i}}.dump());
    expected.push_back({"items", TANDEM_OP_INSERT, pk, TANDEM_ORIGIN_LOCAL});
  }
  for (int i = 0; i < 3; ++i) {
    std::string pk = Json{{"id", "l" + std::to_string(i)}}.dump();
    a->update("items", pk, R"({"a":"changed"})");
    expected.push_back({"items", TANDEM_OP_UPDATE, pk, TANDEM_ORIGIN_LOCAL});
  }
  for (int i = 3; i < 5; ++i) {
    std::string pk = Json{{"id", "l" + std::to_string(i)}}.dump();
    a->remove("items", pk);
    expected.push_back({"items", TANDEM_OP_DELETE, pk, TANDEM_ORIGIN_LOCAL});
  }
  a->wait_synced();
  auto head = server_head();
  a->wait_synced(head);
  b->wait_synced(head);

  std::lock_guard lock(mutex);
  // A heard its own writes once each, and nothing more (the echoes change nothing).
  EXPECT_EQ(seen_by_a, expected);
  // B heard each change once, in order, as remote changes.
  for (auto& event : expected)
    event.origin = TANDEM_ORIGIN_REMOTE;
  EXPECT_EQ(seen_by_b, expected);
}

TEST_F(ClientEndToEnd, WriteTheServerRefusesIsReportedWithItsRowAndUndoneLocally) {
  auto alice = replica("alice", "alice");
  alice->wait_synced();
  std::mutex mutex;
  std::vector<std::pair<int, std::string>> errors;
  alice->set_error_handler(
      [&](int code, const std::string&, const std::string* table, const std::string* pk) {
        std::lock_guard lock(mutex);
        if (table) errors.emplace_back(code, *table + " " + *pk);
      });
  // Public tables are read-only for users: the replica already knows.
  try {
    alice->insert("products", R"({"id":"p-new","name":"x"})");
    FAIL() << "a user wrote a public table";
  } catch (const sdk::Exception& error) {
    EXPECT_EQ(error.code(), TANDEM_FORBIDDEN);
  }
  // A private row alice cannot see: only the server knows, and says not_found.
  alice->update("past_orders", R"({"id":"o-bob-1"})", R"({"quantity":9})");
  alice->wait_synced();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return !errors.empty();
  }));
  std::lock_guard lock(mutex);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].first, TANDEM_NOT_FOUND);
  EXPECT_EQ(errors[0].second, R"(past_orders {"id":"o-bob-1"})");
  EXPECT_TRUE(alice->query("SELECT id FROM past_orders WHERE id = 'o-bob-1'").empty());
}

TEST_F(ClientEndToEnd, BadTokenStopsRetryingUntilANewTokenIsGiven) {
  sdk::Database db(replica_path("a"));
  auto options = fast_options();
  db.start_sync(url(), "not-a-jwt", &options);
  ASSERT_TRUE(eventually([&] { return db.status().state == TANDEM_STATE_FAILED; }));
  EXPECT_EQ(db.status().last_error_code, TANDEM_UNAUTHENTICATED);
  try {
    db.wait_synced(0, 5000);
    FAIL() << "waiting on a failed sync succeeded";
  } catch (const sdk::Exception& error) {
    EXPECT_EQ(error.code(), TANDEM_UNAUTHENTICATED);
  }
  db.set_token(ServerProcess::token("alice"));
  db.wait_synced();
  EXPECT_EQ(db.query("SELECT id FROM past_orders").size(), 1u);
}

// The server ends a session whose token expires; the SDK then waits for a fresh token (it
// does not retry the expired one) and resumes with it.
TEST_F(ClientEndToEnd, ExpiredTokenEndsSyncUntilAFreshTokenIsGiven) {
  server.reset();
  server = std::make_unique<ServerProcess>(
      server_dir(),
      std::vector<std::string>{"--demo", "true", "--track", "items", "--jwt-leeway", "0"});
  sdk::Database db(replica_path("a"));
  auto options = fast_options();
  db.start_sync(url(), ServerProcess::token("alice", auth::Role::user, std::chrono::seconds(2)),
                &options);
  db.wait_synced();
  ASSERT_TRUE(eventually([&] { return db.status().state == TANDEM_STATE_FAILED; }));
  EXPECT_EQ(db.status().last_error_code, TANDEM_TOKEN_EXPIRED);
  const auto reconnects = db.status().reconnects;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(db.status().reconnects, reconnects) << "the SDK retried an expired token";
  db.set_token(ServerProcess::token("alice"));
  db.wait_synced();
  EXPECT_EQ(db.status().reconnects, reconnects + 1);
  EXPECT_EQ(db.query("SELECT id FROM past_orders").size(), 1u);
}

TEST_F(ClientEndToEnd, SqlCannotWriteTheReplicaBehindSyncsBack) {
  auto a = replica("a", "root", auth::Role::admin);
  a->wait_synced();
  try {
    a->query("DELETE FROM items");
    FAIL() << "SQL wrote the replica";
  } catch (const sdk::Exception& error) {
    EXPECT_EQ(error.code(), TANDEM_BAD_REQUEST);
  }
}

}  // namespace
}  // namespace tandem::testing
