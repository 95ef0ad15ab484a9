// The client SDK's C++ core: a local replica, its sync thread, listeners. The C API
// (include/tandem/tandem.h) is a thin layer over this class; its thread-safety notes apply.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/local_store.h"
#include "client/sync_engine.h"

namespace tandem::client {

class Client {
 public:
  using Listener = std::function<void(const ChangeEvent&)>;
  // Errors the application must learn of: refused mutations (with table and pk), connection
  // and protocol errors of the sync thread.
  struct ErrorReport {
    ErrorCode code = ErrorCode::internal;
    std::string message;
    std::optional<std::string> table;
    std::optional<Row> pk;
  };
  using ErrorHandler = std::function<void(const ErrorReport&)>;

  // Opens or creates the replica at `path`. Throws tandem::Error.
  explicit Client(const std::string& path);
  ~Client();  // stops sync
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // bad_request when sync already runs or the URL is not ws:// or wss://.
  Status start_sync(SyncOptions options);
  void stop_sync();
  Status set_token(std::string token);

  Status insert(std::string_view table, const Row& row);
  Status update(std::string_view table, const Row& pk, const Row& values);
  Status remove(std::string_view table, const Row& pk);
  Status query(std::string_view sql, const std::vector<Value>& params,
               const LocalStore::RowVisitor& on_row);

  std::uint64_t add_listener(Listener listener);
  void remove_listener(std::uint64_t id);
  void set_error_handler(ErrorHandler handler);

  SyncStatus status() const;
  // Until connected, out of any snapshot, every local mutation acknowledged, and the
  // checkpoint at least `min_seq` and the log head of the last welcome. unavailable on
  // timeout; the error's code when sync failed fatally.
  Status wait_synced(std::uint64_t min_seq, std::chrono::milliseconds timeout) const;

  const std::string& client_id() const { return m_store.client_id(); }
  LocalStore& store() { return m_store; }

 private:
  void dispatch(const std::vector<ChangeEvent>& events);
  void dispatch_error(const ErrorReport& report);
  Status after_write(Result<std::vector<ChangeEvent>> written);

  LocalStore m_store;
  mutable std::mutex m_mutex;  // m_engine, m_listeners, m_error_handler, m_next_listener
  std::shared_ptr<SyncEngine> m_engine;
  // Held while callbacks run, so that after remove_listener() returns the listener is neither
  // running nor called again. Recursive: callbacks may write, which dispatches again.
  std::recursive_mutex m_dispatch_mutex;
  std::map<std::uint64_t, Listener> m_listeners;
  ErrorHandler m_error_handler;
  std::uint64_t m_next_listener = 1;
};

}  // namespace tandem::client
