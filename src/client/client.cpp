#include "client/client.h"

#include <fmt/format.h>

namespace tandem::client {

Client::Client(const std::string& path) : m_store(path) {}

Client::~Client() {
  stop_sync();
}

Status Client::start_sync(SyncOptions options) {
  if (auto endpoint = parse_url(options.url); !endpoint) return endpoint.error();
  if (options.token.empty()) return Error(ErrorCode::bad_request, "a token is required to sync");
  if (options.push_batch == 0 || options.push_batch > 1000) {
    return Error(ErrorCode::bad_request, "push batch must be between 1 and 1000 mutations");
  }
  std::lock_guard lock(m_mutex);
  if (m_engine) return Error(ErrorCode::bad_request, "sync is already running");
  m_engine = std::make_shared<SyncEngine>(
      m_store, std::move(options),
      [this](ApplyResult result) {
        dispatch(result.events);
        for (auto& rejection : result.rejections) {
          dispatch_error(ErrorReport{rejection.code, std::move(rejection.message),
                                     std::move(rejection.table), std::move(rejection.pk)});
        }
      },
      [this](const Error& error) {
        dispatch_error(ErrorReport{error.code(), std::string(error.message()), {}, {}});
      });
  m_engine->start();
  return ok_status();
}

void Client::stop_sync() {
  std::shared_ptr<SyncEngine> engine;
  {
    std::lock_guard lock(m_mutex);
    engine = std::move(m_engine);
  }
  if (engine) engine->stop();
}

Status Client::set_token(std::string token) {
  if (token.empty()) return Error(ErrorCode::bad_request, "the token is empty");
  std::lock_guard lock(m_mutex);
  if (!m_engine) return Error(ErrorCode::bad_request, "sync is not running");
  m_engine->set_token(std::move(token));
  return ok_status();
}

Status Client::after_write(Result<std::vector<ChangeEvent>> written) {
  if (!written) return written.error();
  dispatch(*written);
  std::lock_guard lock(m_mutex);
  if (m_engine) m_engine->wake();
  return ok_status();
}

Status Client::insert(std::string_view table, const Row& row) {
  return after_write(m_store.insert(table, row));
}

Status Client::update(std::string_view table, const Row& pk, const Row& values) {
  return after_write(m_store.update(table, pk, values));
}

Status Client::remove(std::string_view table, const Row& pk) {
  return after_write(m_store.remove(table, pk));
}

Status Client::query(std::string_view sql, const std::vector<Value>& params,
                     const LocalStore::RowVisitor& on_row) {
  return m_store.query(sql, params, on_row);
}

std::uint64_t Client::add_listener(Listener listener) {
  std::lock_guard dispatching(m_dispatch_mutex);
  std::lock_guard lock(m_mutex);
  auto id = m_next_listener++;
  m_listeners.emplace(id, std::move(listener));
  return id;
}

void Client::remove_listener(std::uint64_t id) {
  std::lock_guard dispatching(m_dispatch_mutex);
  std::lock_guard lock(m_mutex);
  m_listeners.erase(id);
}

void Client::set_error_handler(ErrorHandler handler) {
  std::lock_guard dispatching(m_dispatch_mutex);
  std::lock_guard lock(m_mutex);
  m_error_handler = std::move(handler);
}

void Client::dispatch(const std::vector<ChangeEvent>& events) {
  if (events.empty()) return;
  std::lock_guard dispatching(m_dispatch_mutex);
  std::vector<Listener> listeners;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [id, listener] : m_listeners)
      listeners.push_back(listener);
  }
  for (const auto& event : events) {
    for (const auto& listener : listeners)
      listener(event);
  }
}

void Client::dispatch_error(const ErrorReport& report) {
  std::lock_guard dispatching(m_dispatch_mutex);
  ErrorHandler handler;
  {
    std::lock_guard lock(m_mutex);
    handler = m_error_handler;
  }
  if (handler) handler(report);
}

SyncStatus Client::status() const {
  std::lock_guard lock(m_mutex);
  if (!m_engine) {
    SyncStatus status;
    if (auto checkpoint = m_store.checkpoint()) status.checkpoint_seq = checkpoint->seq;
    status.pending_uploads = m_store.pending_count();
    return status;
  }
  return m_engine->status();
}

Status Client::wait_synced(std::uint64_t min_seq, std::chrono::milliseconds timeout) const {
  std::shared_ptr<const SyncEngine> engine;
  {
    std::lock_guard lock(m_mutex);
    engine = m_engine;
  }
  if (!engine) return Error(ErrorCode::bad_request, "sync is not running");
  return engine->wait(
      [&](const SyncStatus& status) {
        return status.connected && !status.in_snapshot && status.pending_uploads == 0 &&
               status.checkpoint_seq && *status.checkpoint_seq >= min_seq &&
               *status.checkpoint_seq >= status.server_seq;
      },
      std::chrono::steady_clock::now() + timeout);
}

}  // namespace tandem::client
