// End-to-end helpers for the admin API: authenticated requests, SQL run on the server's
// database file as another program would, and hard-reset jobs followed to their end.
#pragma once

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_fixture.h"
#include "support/http_client.h"

namespace tandem::testing {

class AdminEndToEnd : public EndToEnd {
 protected:
  struct Reply {
    int status = 0;
    Json body;  // null when empty or not JSON
    std::map<std::string, std::string> headers;
  };

  std::string admin_token() { return ServerProcess::token("root", auth::Role::admin); }

  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             const std::optional<std::string>& token = std::nullopt) {
    std::map<std::string, std::string> headers;
    auto bearer = token ? *token : admin_token();
    if (!bearer.empty()) headers["Authorization"] = "Bearer " + bearer;
    if (!body.empty()) headers["Content-Type"] = "application/json";
    auto reply =
        http_request("127.0.0.1", server->port(), method, "/admin/api/" + path, body, headers);
    return Reply{reply.status, Json::parse(reply.body, nullptr, false, true), reply.headers};
  }

  // Runs SQL on the database file, outside the server (like the sqlite3 shell).
  void sql(const std::string& statements) {
    sqlite3* db = nullptr;
    if (sqlite3_open(server->database_path().c_str(), &db) != SQLITE_OK) {
      throw std::runtime_error("cannot open the database");
    }
    sqlite3_busy_timeout(db, 10000);
    char* error = nullptr;
    int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &error);
    std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    if (rc != SQLITE_OK) throw std::runtime_error("SQL failed: " + message + "\n" + statements);
  }

  // The first column of the first row of a query on the database file.
  std::int64_t query_int(const std::string& query) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(server->database_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt* statement = nullptr;
    std::int64_t value = -1;
    if (sqlite3_prepare_v2(db, query.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      value = sqlite3_column_int64(statement, 0);
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    if (value < 0) throw std::runtime_error("query failed: " + query);
    return value;
  }

  Reply track(const std::string& table) {
    return call("POST", "tables", Json{{"name", table}}.dump());
  }

  // Polls a job until it is no longer running; every state seen is kept in `seen`.
  Json wait_for_job(const std::string& id, std::vector<Json>* seen = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto reply = call("GET", "jobs/" + id);
      if (reply.status != 200) throw std::runtime_error("job lookup failed: " + reply.body.dump());
      if (seen) seen->push_back(reply.body);
      if (reply.body["state"] != "running") return reply.body;
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("job never ended");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 public:
  static bool has_table(const Json& tables, const std::string& name) {
    for (const auto& table : tables) {
      if (table["name"] == name) return true;
    }
    return false;
  }

  static const Json* find_table(const Json& tables, const std::string& name) {
    for (const auto& table : tables) {
      if (table["name"] == name) return &table;
    }
    return nullptr;
  }

  static std::vector<std::string> column_names(const Json& table) {
    std::vector<std::string> names;
    for (const auto& column : table["columns"])
      names.push_back(column["name"].get<std::string>());
    return names;
  }
};

}  // namespace tandem::testing
