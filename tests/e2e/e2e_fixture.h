// A real server with the demo schema (public products, private past_orders) in a fresh
// data directory, for each test.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "support/server_process.h"
#include "support/sync_test_client.h"
#include "support/temp_dir.h"

namespace tandem::testing {

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--demo", "true"};
    args.insert(args.end(), extra.begin(), extra.end());
    server = std::make_unique<ServerProcess>(dir.path().string(), args);
  }

  std::unique_ptr<SyncTestClient> connect(const std::string& user, const std::string& client_id,
                                          auth::Role role = auth::Role::user) {
    return std::make_unique<SyncTestClient>(server->port(), ServerProcess::token(user, role),
                                            client_id);
  }

  // Connected, hello sent, snapshot received.
  std::unique_ptr<SyncTestClient> synced(const std::string& user, const std::string& client_id,
                                         auth::Role role = auth::Role::user) {
    auto client = connect(user, client_id, role);
    auto welcome = client->hello();
    EXPECT_EQ(welcome["type"], "welcome") << welcome.dump();
    EXPECT_TRUE(client->sync_until()) << "snapshot did not complete";
    return client;
  }

  using Json = nlohmann::json;
  TempDir dir;
  std::unique_ptr<ServerProcess> server;
};

}  // namespace tandem::testing
