// Randomized convergence: several replicas write the same rows at random, go offline at
// random, the server is killed and restarted; in the end every replica and the server hold
// identical rows. TANDEM_CONVERGENCE_SEED=<n> replays a run.
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>

#include "client/client_fixture.h"

namespace tandem::testing {
namespace {

using Json = nlohmann::json;

constexpr int kClients = 5;
constexpr int kKeys = 24;
constexpr int kOperations = 600;
constexpr std::uint64_t kDefaultSeed = 20240611;

std::uint64_t seed() {
  if (const char* text = std::getenv("TANDEM_CONVERGENCE_SEED")) return std::stoull(text);
  return kDefaultSeed;
}

class Writer {
 public:
  Writer(std::mt19937_64& random) : m_random(random) {}

  std::string id() { return "k" + std::to_string(pick(kKeys)); }
  std::string key() { return Json{{"id", id()}}.dump(); }

  Json values(bool at_least_one) {
    Json values = Json::object();
    while (values.empty()) {
      if (pick(2)) values["a"] = std::string(1, static_cast<char>('a' + pick(5)));
      if (pick(2)) values["b"] = pick(1000);
      if (pick(2)) values["c"] = pick(100) * 0.25;
      if (pick(4) == 0) values["a"] = nullptr;
      if (!at_least_one) break;
    }
    return values;
  }

  int pick(int bound) { return std::uniform_int_distribution<int>(0, bound - 1)(m_random); }

 private:
  std::mt19937_64& m_random;
};

TEST_F(ClientEndToEnd, RandomEditsDisconnectsAndServerRestartsConvergeEverywhere) {
  const auto run_seed = seed();
  SCOPED_TRACE("TANDEM_CONVERGENCE_SEED=" + std::to_string(run_seed));
  std::mt19937_64 random(run_seed);
  Writer writer(random);

  std::vector<std::unique_ptr<sdk::Database>> clients;
  std::vector<bool> online;
  auto options = fast_options();
  auto token = [](int i) {
    return ServerProcess::token("admin" + std::to_string(i), auth::Role::admin);
  };
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(
        replica("r" + std::to_string(i), "admin" + std::to_string(i), auth::Role::admin));
    online.push_back(true);
  }
  for (auto& client : clients)
    client->wait_synced();

  int restarts = 0;
  for (int step = 0; step < kOperations; ++step) {
    int i = writer.pick(kClients);
    auto& client = *clients[i];
    int action = writer.pick(100);
    try {
      if (action < 35) {
        Json row = writer.values(false);
        row["id"] = writer.id();
        client.insert("items", row.dump());
      } else if (action < 75) {
        client.update("items", writer.key(), writer.values(true).dump());
      } else if (action < 92) {
        client.remove("items", writer.key());
      } else if (online[i]) {
        client.stop_sync();
        online[i] = false;
      } else {
        client.start_sync(url(), token(i), &options);
        online[i] = true;
      }
    } catch (const sdk::Exception& error) {
      FAIL() << "step " << step << ": " << error.what();
    }
    if (step == kOperations / 3 || step == 2 * kOperations / 3) {
      server->restart();
      ++restarts;
    }
    // Let sync interleave with the writes now and then.
    if (step % 40 == 39) {
      int j = writer.pick(kClients);
      if (online[j])
        eventually([&] { return clients[j]->status().pending_uploads == 0; },
                   std::chrono::milliseconds(300));
    }
  }
  ASSERT_EQ(restarts, 2);

  for (int i = 0; i < kClients; ++i) {
    if (!online[i]) clients[i]->start_sync(url(), token(i), &options);
  }
  for (auto& client : clients)
    client->wait_synced(0, 20000);
  auto head = server_head();
  for (auto& client : clients)
    client->wait_synced(head, 20000);
  for (auto& client : clients)
    client->stop_sync();
  server->terminate();

  auto expected = dump_table(server->database_path(), "items", "id, a, b, c", "id");
  EXPECT_FALSE(expected.empty());
  for (int i = 0; i < kClients; ++i) {
    auto actual = dump_table(replica_path("r" + std::to_string(i)), "items", "id, a, b, c", "id");
    EXPECT_EQ(hash_text(actual), hash_text(expected))
        << "replica r" << i << " differs from the server\nreplica:\n"
        << actual << "server:\n"
        << expected;
  }
}

}  // namespace
}  // namespace tandem::testing
