// A real server with the demo schema plus a public table `items` that admins write, and
// helpers to open SDK replicas against it and to compare tables by a hash of their rows.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "support/server_process.h"
#include "support/temp_dir.h"
#include "tandem/tandem.hpp"

namespace tandem::testing {

// Every row of `table` ordered by `order_by`, one line per row with typed values, read
// straight from a SQLite file (a replica or the server's database).
inline std::string dump_table(const std::string& path, const std::string& table,
                              const std::string& columns, const std::string& order_by) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  sqlite3_busy_timeout(db, 5000);
  std::string sql = "SELECT " + columns + " FROM " + table + " ORDER BY " + order_by;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error(path + ": " + message);
  }
  std::string text;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      int type = sqlite3_column_type(stmt, i);
      const char* value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      text += std::to_string(type) + ":" + (value ? value : "") + "|";
    }
    text += "\n";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return text;
}

inline std::uint64_t hash_text(const std::string& text) {
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

inline void exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// Waits for `condition` until the deadline; true when it held.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

class ClientEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(server_dir());
    exec_sql(server_dir() + "/tandem.db",
             "CREATE TABLE items (id TEXT PRIMARY KEY, a TEXT, b INTEGER, c REAL)");
    server = std::make_unique<ServerProcess>(
        server_dir(), std::vector<std::string>{"--demo", "true", "--track", "items"});
  }

  std::string server_dir() const { return dir.file("server"); }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(server->port()) + "/sync"; }
  std::string replica_path(const std::string& name) const { return dir.file(name + ".db"); }

  static tandem_sync_options fast_options() {
    tandem_sync_options options;
    tandem_sync_options_init(&options);
    options.backoff_initial_ms = 20;
    options.backoff_max_ms = 300;
    options.timeout_ms = 3000;
    return options;
  }

  // A replica syncing as `user`, with the test's fast reconnects.
  std::unique_ptr<sdk::Database> replica(const std::string& name, const std::string& user,
                                         auth::Role role = auth::Role::user) {
    auto db = std::make_unique<sdk::Database>(replica_path(name));
    auto options = fast_options();
    db->start_sync(url(), ServerProcess::token(user, role), &options);
    return db;
  }

  // The server's log head, read from its database file.
  std::uint64_t server_head() const {
    auto dump = dump_table(server->database_path(), "tandem_changes", "max(seq)", "1");
    auto colon = dump.find(':');
    return std::stoull(dump.substr(colon + 1));
  }

  TempDir dir;
  std::unique_ptr<ServerProcess> server;
};

}  // namespace tandem::testing
