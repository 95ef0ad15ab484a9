// The Esink service in process: sockets admitted by the AUTH_TABLE of a real SQLite database,
// captured changes, POST /publish and republished events delivered through the permission
// engine. Sockets are fakes that record every packet the service queues on them.
#include "compat/esink/esink_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "esink_test_catalog.h"
#include "storage/sqlite/sqlite_datasource.h"
#include "support/temp_dir.h"
#include "sync/hlc.h"

namespace tandem::compat::esink {
namespace {

using nlohmann::json;

struct Event {
  std::string name;
  json payload;
};

class FakeSocket final : public socketio::Socket {
 public:
  explicit FakeSocket(const std::string& token) { m_handshake.auth = {{"token", token}}; }

  const std::string& id() const override { return m_id; }
  const socketio::Handshake& handshake() const override { return m_handshake; }
  void send(std::shared_ptr<const std::string> packet) override {
    std::lock_guard lock(m_mutex);
    m_packets.push_back(*packet);
  }
  void disconnect() override {}
  std::size_t queued_bytes() const override { return 0; }

  // Every packet as sent: `42["name",payload]`.
  std::vector<std::string> packets() const {
    std::lock_guard lock(m_mutex);
    return m_packets;
  }
  std::vector<Event> events(const std::string& name) const {
    std::vector<Event> found;
    for (const auto& packet : packets()) {
      auto event = json::parse(packet.substr(2));  // after Engine.IO "4" and Socket.IO "2"
      if (event[0] == name) found.push_back({name, event[1]});
    }
    return found;
  }

 private:
  std::string m_id = "sid";
  socketio::Handshake m_handshake;
  mutable std::mutex m_mutex;
  std::vector<std::string> m_packets;
};

sync::Change change(const std::string& table, sync::Op op, Row row) {
  sync::Change change;
  change.seq = 1;
  change.table = table;
  change.op = op;
  change.row = std::move(row);
  change.committed_at_ms = 1'700'000'000'000;
  return change;
}

PublishRequest publish_request(const std::string& table, json data) {
  PublishRequest request;
  request.table = table;
  request.type = "update";
  request.data = std::move(data);
  return request;
}

class EsinkServiceTest : public ::testing::Test {
 protected:
  EsinkServiceTest() {
    storage::sqlite::SqliteOptions options;
    options.path = m_dir.file("esink.db");
    options.synchronous_full = false;
    m_datasource = std::make_unique<storage::sqlite::SqliteDatasource>(options, m_clock);
    m_datasource->execute(
        "CREATE TABLE auth (id INTEGER PRIMARY KEY, token TEXT, name TEXT, team TEXT);"
        "INSERT INTO auth VALUES (1, 'tok-ann', 'Ann', 'blue'), (2, 'tok-bob', 'Bob', 'red');");
  }
  ~EsinkServiceTest() override { m_datasource->close(); }

  std::shared_ptr<EsinkService> start(std::optional<rules::RuleSet> rules_file = std::nullopt) {
    auto options = test_catalog::esink_options();
    options.allow_republishing = true;
    EsinkContext context{options,
                         "postgres",
                         *m_datasource,
                         [](const std::function<void()>& task) { task(); },
                         rules_file.has_value(),
                         {},
                         nullptr};
    auto service = std::make_shared<EsinkService>(std::move(context));
    service->set_tables(test_catalog::catalog(), rules_file ? &*rules_file : nullptr);
    return service;
  }

  static std::shared_ptr<FakeSocket> connect(EsinkService& service, const std::string& token) {
    auto socket = std::make_shared<FakeSocket>(token);
    service.on_connect(socket);
    EXPECT_EQ(socket->events("connected").size(), 1u) << token;
    return socket;
  }

  tandem::testing::TempDir m_dir;
  sync::HlcClock m_clock;
  std::unique_ptr<storage::sqlite::SqliteDatasource> m_datasource;
};

TEST_F(EsinkServiceTest, ARowRoutedToBobNeverReachesAnn) {
  auto service = start();
  auto ann = connect(*service, "tok-ann");
  auto bob = connect(*service, "tok-bob");
  service->publish_change(
      change("orders", sync::Op::insert,
             {{"id", Value(10)}, {"user_id", Value(2)}, {"item", Value("tea")}}));
  ASSERT_EQ(bob->events("orders").size(), 1u);
  EXPECT_EQ(bob->events("orders")[0].payload["data"],
            (json{{"id", 10}, {"user_id", 2}, {"item", "tea"}}));
  EXPECT_EQ(bob->events("changes").size(), 1u);
  EXPECT_TRUE(ann->events("orders").empty());
  EXPECT_TRUE(ann->events("changes").empty());

  // Moved to Ann: Esink sends the new row, to the user it names now.
  auto moved = change("orders", sync::Op::update,
                      {{"id", Value(10)}, {"user_id", Value(1)}, {"item", Value("tea")}});
  moved.old = {{"user_id", Value(2)}};
  service->publish_change(moved);
  EXPECT_EQ(ann->events("orders").size(), 1u);
  EXPECT_EQ(bob->events("orders").size(), 1u);
}

TEST_F(EsinkServiceTest, ADeleteIsJudgedOnTheRowItRemoved) {
  auto service = start();
  auto ann = connect(*service, "tok-ann");
  auto bob = connect(*service, "tok-bob");
  service->publish_change(
      change("orders", sync::Op::remove,
             {{"id", Value(11)}, {"user_id", Value(1)}, {"item", Value("jam")}}));
  ASSERT_EQ(ann->events("orders").size(), 1u);
  EXPECT_EQ(ann->events("orders")[0].payload["type"], "delete");
  EXPECT_EQ(ann->events("orders")[0].payload["data"]["item"], "jam");
  EXPECT_TRUE(bob->events("orders").empty());
}

TEST_F(EsinkServiceTest, AFilteredColumnIsInNoEventWhateverThePath) {
  auto service = start();
  auto ann = connect(*service, "tok-ann");
  auto bob = connect(*service, "tok-bob");
  service->publish_change(
      change("users", sync::Op::insert,
             {{"id", Value(1)}, {"name", Value("Ann")}, {"password", Value("hunter2")}}));
  service->publish_change(change("messages", sync::Op::insert,
                                 {{"id", Value(5)},
                                  {"sender_id", Value(1)},
                                  {"recipient_id", Value(2)},
                                  {"body", Value("hi")}}));
  service->publish("1", publish_request("users", {{"id", 1}, {"password", "hunter2"}}), "API",
                   "api");
  service->publish("*", publish_request("users", {{"id", 1}, {"password", "hunter2"}}), "API",
                   "api");
  service->on_event(ann, "event",
                    json::array({{{"table", "users"},
                                  {"type", "update"},
                                  {"data", {{"id", 1}, {"password", "hunter2"}}}}}),
                    std::nullopt);

  ASSERT_EQ(ann->events("users").size(), 4u) << "the change, two publishes, the republish";
  for (const auto& event : ann->events("users")) {
    EXPECT_EQ(event.payload["data"]["id"], 1);
    EXPECT_FALSE(event.payload["data"].contains("password"));
  }
  for (const auto& socket : {ann, bob}) {
    for (const auto& packet : socket->packets()) {
      EXPECT_EQ(packet.find("hunter2"), std::string::npos) << packet;
      EXPECT_EQ(packet.find("sender_id"), std::string::npos) << packet;
    }
  }
  // The filtered sender_id still routed the message to its sender.
  EXPECT_EQ(ann->events("messages").size(), 1u);
  EXPECT_EQ(bob->events("messages").size(), 1u);
}

TEST_F(EsinkServiceTest, AUserNamedByTwoRoutingColumnsReceivesTwoEvents) {
  auto service = start();
  auto ann = connect(*service, "tok-ann");
  auto bob = connect(*service, "tok-bob");
  service->publish_change(change("messages", sync::Op::insert,
                                 {{"id", Value(6)},
                                  {"sender_id", Value(1)},
                                  {"recipient_id", Value(1)},
                                  {"body", Value("note to self")}}));
  const auto copies = ann->events("messages");
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_NE(copies[0].payload["id"], copies[1].payload["id"]) << "each publish has its own id";
  EXPECT_TRUE(bob->events("messages").empty());
}

TEST_F(EsinkServiceTest, StarReachesEverySocketAndAnUnroutedTableNobody) {
  auto service = start();
  auto ann = connect(*service, "tok-ann");
  auto tester = connect(*service, "TEST");
  service->publish_change(
      change("secrets", sync::Op::insert, {{"id", Value(1)}, {"body", Value("x")}}));
  service->publish_change(
      change("news", sync::Op::insert, {{"id", Value(1)}, {"title", Value("hello")}}));
  service->publish_change(change("unknown", sync::Op::insert, {{"id", Value(1)}}));
  for (const auto& socket : {ann, tester}) {
    EXPECT_EQ(socket->events("news").size(), 1u);
    EXPECT_TRUE(socket->events("secrets").empty());
    EXPECT_EQ(socket->events("changes").size(), 1u) << "the news only";
  }
}

TEST_F(EsinkServiceTest, ARulesFileDecidesByTheClaimsOfTheAuthRow) {
  // Projects of the reader's team (a column of the auth row), without their budget.
  rules::RuleSet rules;
  rules::FilterExpr team;
  team.kind = rules::FilterExpr::Kind::compare;
  team.column = "title";
  team.operand = rules::ClaimRef{"team"};
  rules.tables["news"]["user"].select =
      rules::SelectPermission{team, std::set<std::string, std::less<>>{"id"}};
  auto service = start(std::move(rules));
  auto ann = connect(*service, "tok-ann");
  auto bob = connect(*service, "tok-bob");
  service->publish_change(
      change("news", sync::Op::insert, {{"id", Value(1)}, {"title", Value("blue")}}));
  service->publish_change(change("orders", sync::Op::insert,
                                 {{"id", Value(2)}, {"user_id", Value(1)}, {"item", Value("x")}}));
  ASSERT_EQ(ann->events("news").size(), 1u);
  EXPECT_EQ(ann->events("news")[0].payload["data"], (json{{"id", 1}}));
  EXPECT_TRUE(bob->events("news").empty());
  EXPECT_TRUE(ann->events("orders").empty()) << "the rules file replaces the routing";
}

}  // namespace
}  // namespace tandem::compat::esink
