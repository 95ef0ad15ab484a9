// The background sync thread of a client: connects, says hello with the stored checkpoint,
// applies what the server sends (a transaction per message), pushes the outbox one batch at
// a time, and reconnects with exponential backoff and full jitter (docs/client.md, "Sync").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "client/local_store.h"
#include "client/transport.h"

namespace tandem::client {

struct SyncOptions {
  std::string url;
  std::string token;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
  std::size_t push_batch = 500;              // mutations per push (the server accepts up to 1000)
  std::chrono::milliseconds timeout{10000};  // connect + handshake, and each write
  std::string ca_file;                       // wss: extra trusted CA certificates (PEM)
};

enum class SyncState {
  stopped,     // sync not started, or stopped
  connecting,  // connecting, or waiting for the welcome
  syncing,     // welcomed; receiving a snapshot or catching up
  live,        // caught up with the server's log as of the welcome; changes stream live
  backoff,     // disconnected; waiting to reconnect
  failed,      // a fatal error (bad token, ...): no retry until set_token() or a restart
};

struct SyncStatus {
  SyncState state = SyncState::stopped;
  bool connected = false;                       // welcomed on a live connection
  std::int64_t pending_uploads = 0;             // local mutations not yet acknowledged
  std::optional<std::uint64_t> checkpoint_seq;  // none: no checkpoint yet
  std::uint64_t server_seq = 0;                 // the server's log head at the last welcome
  bool in_snapshot = false;
  std::uint64_t snapshot_rows = 0;                   // rows received in the current snapshot
  std::optional<std::uint64_t> snapshot_rows_total;  // the server's estimate, if it sent one
  std::uint64_t reconnects = 0;                      // connections made after the first
  ErrorCode last_error_code = ErrorCode::ok;
  std::string last_error;
  std::string user;
};

class SyncEngine {
 public:
  using AppliedFn = std::function<void(ApplyResult)>;
  using ErrorFn = std::function<void(const Error&)>;

  // `on_applied` and `on_error` are called on the sync thread.
  SyncEngine(LocalStore& store, SyncOptions options, AppliedFn on_applied, ErrorFn on_error);
  ~SyncEngine();  // stops and joins the thread
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  void start();
  void stop();
  // The token for the next connection; also ends a `failed` state. Thread-safe.
  void set_token(std::string token);
  // A local write was queued: push it soon. Thread-safe.
  void wake();
  SyncStatus status() const;
  // Waits until `done(status)` or the deadline (unavailable) or a fatal error (its code).
  Status wait(const std::function<bool(const SyncStatus&)>& done,
              std::chrono::steady_clock::time_point deadline) const;

 private:
  void run();
  Status session(Transport& transport);
  Status handle(Transport& transport, std::string_view frame);
  void backoff(std::uint64_t attempt);
  void report(const Error& error);
  void update(const std::function<void(SyncStatus&)>& change);
  bool stopping() const;

  LocalStore& m_store;
  SyncOptions m_options;
  AppliedFn m_on_applied;
  ErrorFn m_on_error;

  mutable std::mutex m_mutex;  // everything below
  mutable std::condition_variable m_changed;
  SyncStatus m_status;
  bool m_stopping = false;
  bool m_token_changed = false;
  Transport* m_transport = nullptr;  // the live connection, for wake() and stop()
  std::thread m_thread;

  // Sync-thread state of one session.
  bool m_welcomed = false;
  std::optional<std::uint64_t> m_push_in_flight;  // last client_seq of the push sent
  std::uint64_t m_push_sent_at = 0;               // checkpoint seq when it was sent
  std::uint64_t m_checkpoint = 0;
};

}  // namespace tandem::client
