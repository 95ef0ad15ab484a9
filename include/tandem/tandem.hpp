// Tandem client SDK, C++ wrapper: RAII and exceptions over the C API in tandem.h, header
// only. Thread-safety is the C API's (see each function there); a Database may be used from
// several threads, but destroyed by one while no other uses it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tandem/tandem.h"

namespace tandem::sdk {

// A failed call: the C code (TANDEM_*) and its message.
class Exception : public std::runtime_error {
 public:
  Exception(int code, const std::string& message)
      : std::runtime_error(std::string(tandem_code_name(code)) + ": " + message), m_code(code) {}
  int code() const noexcept { return m_code; }

 private:
  int m_code;
};

inline void check(int code) {
  if (code != TANDEM_OK) throw Exception(code, tandem_last_error());
}

class Database {
 public:
  using Listener =
      std::function<void(const std::string& table, int op, const std::string& pk_json, int origin)>;
  using ErrorHandler = std::function<void(int code, const std::string& message,
                                          const std::string* table, const std::string* pk_json)>;

  explicit Database(const std::string& path) { check(tandem_open(path.c_str(), &m_db)); }
  ~Database() {
    tandem_close(m_db);  // stops sync first, so no callback runs after this
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void start_sync(const std::string& url, const std::string& token,
                  const tandem_sync_options* options = nullptr) {
    check(tandem_start_sync(m_db, url.c_str(), token.c_str(), options));
  }
  void stop_sync() { check(tandem_stop_sync(m_db)); }
  void set_token(const std::string& token) { check(tandem_set_token(m_db, token.c_str())); }

  void insert(const std::string& table, const std::string& row_json) {
    check(tandem_insert(m_db, table.c_str(), row_json.c_str()));
  }
  void update(const std::string& table, const std::string& pk_json,
              const std::string& values_json) {
    check(tandem_update(m_db, table.c_str(), pk_json.c_str(), values_json.c_str()));
  }
  void remove(const std::string& table, const std::string& pk_json) {
    check(tandem_delete(m_db, table.c_str(), pk_json.c_str()));
  }

  // Every result row as a JSON object.
  std::vector<std::string> query(const std::string& sql, const std::string& params_json = "") {
    std::vector<std::string> rows;
    check(tandem_query(
        m_db, sql.c_str(), params_json.empty() ? nullptr : params_json.c_str(),
        [](void* context, const char* row) {
          static_cast<std::vector<std::string>*>(context)->emplace_back(row);
          return 0;
        },
        &rows));
    return rows;
  }

  std::uint64_t add_listener(Listener listener) {
    auto owned = std::make_unique<Listener>(std::move(listener));
    std::uint64_t id = 0;
    check(tandem_add_listener(
        m_db,
        [](void* context, const char* table, int op, const char* pk, int origin) {
          (*static_cast<Listener*>(context))(table, op, pk, origin);
        },
        owned.get(), &id));
    std::lock_guard lock(m_mutex);
    m_listeners.emplace(id, std::move(owned));
    return id;
  }
  void remove_listener(std::uint64_t id) {
    check(tandem_remove_listener(m_db, id));
    std::lock_guard lock(m_mutex);
    m_listeners.erase(id);
  }

  void set_error_handler(ErrorHandler handler) {
    auto owned = std::make_shared<ErrorHandler>(std::move(handler));
    check(tandem_set_error_handler(
        m_db,
        [](void* context, int code, const char* message, const char* table, const char* pk) {
          std::string table_text = table ? table : "";
          std::string pk_text = pk ? pk : "";
          (*static_cast<ErrorHandler*>(context))(code, message, table ? &table_text : nullptr,
                                                 pk ? &pk_text : nullptr);
        },
        owned.get()));
    std::lock_guard lock(m_mutex);
    m_error_handler = std::move(owned);  // the previous one is no longer called
  }

  tandem_status status() {
    tandem_status status;
    check(tandem_get_status(m_db, &status));
    return status;
  }
  void wait_synced(std::uint64_t min_seq = 0, int timeout_ms = 10000) {
    check(tandem_wait_synced(m_db, min_seq, timeout_ms));
  }
  std::string client_id() {
    char buffer[80];
    check(tandem_client_id(m_db, buffer, sizeof buffer));
    return buffer;
  }
  tandem_db* handle() const { return m_db; }

 private:
  tandem_db* m_db = nullptr;
  std::mutex m_mutex;
  std::map<std::uint64_t, std::unique_ptr<Listener>> m_listeners;
  std::shared_ptr<ErrorHandler> m_error_handler;
};

}  // namespace tandem::sdk
