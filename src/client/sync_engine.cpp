#include "client/sync_engine.h"

#include <fmt/format.h>

#include <random>

#include "common/logging.h"
#include "protocol/codec.h"

namespace tandem::client {

namespace {

using Clock = std::chrono::steady_clock;

// Errors after which retrying with the same token cannot succeed.
bool is_fatal(ErrorCode code) {
  return code == ErrorCode::unauthenticated || code == ErrorCode::token_expired ||
         code == ErrorCode::protocol_version || code == ErrorCode::forbidden ||
         code == ErrorCode::bad_request;
}

const protocol::Codec& codec() {
  static const auto instance = protocol::make_json_codec();
  return *instance;
}

// A fatal error message from the server, carried out of the session.
struct FatalError {
  Error error;
};

}  // namespace

SyncEngine::SyncEngine(LocalStore& store, SyncOptions options, AppliedFn on_applied,
                       ErrorFn on_error)
    : m_store(store),
      m_options(std::move(options)),
      m_on_applied(std::move(on_applied)),
      m_on_error(std::move(on_error)) {
  if (auto checkpoint = m_store.checkpoint()) m_status.checkpoint_seq = checkpoint->seq;
}

SyncEngine::~SyncEngine() {
  stop();
}

void SyncEngine::start() {
  std::lock_guard lock(m_mutex);
  if (m_thread.joinable()) return;
  m_stopping = false;
  m_status.state = SyncState::connecting;
  m_thread = std::thread([this] { run(); });
}

void SyncEngine::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    if (m_transport) m_transport->cancel();
  }
  m_changed.notify_all();
  if (m_thread.joinable()) m_thread.join();
  update([](SyncStatus& status) {
    status.state = SyncState::stopped;
    status.connected = false;
  });
}

bool SyncEngine::stopping() const {
  std::lock_guard lock(m_mutex);
  return m_stopping;
}

void SyncEngine::set_token(std::string token) {
  {
    std::lock_guard lock(m_mutex);
    m_options.token = std::move(token);
    m_token_changed = true;
    // Waiters must not see the failure the old token caused.
    if (m_status.state == SyncState::failed) m_status.state = SyncState::connecting;
  }
  m_changed.notify_all();
}

void SyncEngine::wake() {
  std::lock_guard lock(m_mutex);
  if (m_transport) m_transport->wake();
}

SyncStatus SyncEngine::status() const {
  SyncStatus copy;
  {
    std::lock_guard lock(m_mutex);
    copy = m_status;
  }
  copy.pending_uploads = m_store.pending_count();
  return copy;
}

Status SyncEngine::wait(const std::function<bool(const SyncStatus&)>& done,
                        Clock::time_point deadline) const {
  while (true) {
    auto current = status();
    if (done(current)) return ok_status();
    if (current.state == SyncState::failed)
      return Error(current.last_error_code, current.last_error);
    if (Clock::now() >= deadline) {
      return Error(ErrorCode::unavailable,
                   fmt::format("timed out waiting for sync (last error: {})",
                               current.last_error.empty() ? "none" : current.last_error));
    }
    // Local writes change the outbox without a notification: look again at least every 20 ms.
    std::unique_lock lock(m_mutex);
    m_changed.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
  }
}

void SyncEngine::update(const std::function<void(SyncStatus&)>& change) {
  {
    std::lock_guard lock(m_mutex);
    change(m_status);
  }
  m_changed.notify_all();
}

void SyncEngine::report(const Error& error) {
  log::debug("sync error", {{"code", std::string(error_code_name(error.code()))},
                            {"message", std::string(error.message())}});
  update([&](SyncStatus& status) {
    status.last_error_code = error.code();
    status.last_error = std::string(error.message());
  });
  if (m_on_error) m_on_error(error);
}

void SyncEngine::run() {
  std::uint64_t attempt = 0;
  bool first = true;
  while (!stopping()) {
    Endpoint endpoint;
    Transport::Options transport_options;
    {
      std::lock_guard lock(m_mutex);
      m_token_changed = false;
      auto parsed = parse_url(m_options.url);
      if (!parsed) {
        m_status.state = SyncState::failed;
        m_status.last_error_code = parsed.error().code();
        m_status.last_error = std::string(parsed.error().message());
        break;
      }
      endpoint = *parsed;
      transport_options.timeout = m_options.timeout;
      transport_options.ca_file = m_options.ca_file;
    }
    update([&](SyncStatus& status) {
      status.state = SyncState::connecting;
      if (!first) ++status.reconnects;
    });
    first = false;
    Status outcome = ok_status();
    bool fatal = false;
    try {
      auto transport = Transport::create(std::move(endpoint), transport_options);
      {
        std::lock_guard lock(m_mutex);
        m_transport = transport.get();
        if (m_stopping) transport->cancel();
      }
      outcome = transport->connect();
      if (outcome) outcome = session(*transport);
      {
        std::lock_guard lock(m_mutex);
        m_transport = nullptr;
      }
    } catch (const FatalError& error) {
      outcome = error.error;
      fatal = true;
    } catch (const Error& error) {
      outcome = error;
    } catch (const std::exception& error) {
      outcome = Error(ErrorCode::internal, error.what());
    }
    {
      std::lock_guard lock(m_mutex);
      m_transport = nullptr;
    }
    update([](SyncStatus& status) {
      status.connected = false;
      status.in_snapshot = false;
    });
    if (stopping()) break;
    if (!outcome) report(outcome.error());
    if (m_welcomed) attempt = 0;
    if (fatal) {
      update([](SyncStatus& status) { status.state = SyncState::failed; });
      std::unique_lock lock(m_mutex);
      m_changed.wait(lock, [&] { return m_stopping || m_token_changed; });
      attempt = 0;
      continue;
    }
    backoff(attempt++);
  }
}

void SyncEngine::backoff(std::uint64_t attempt) {
  // Full jitter: a random delay up to the exponential bound spreads reconnecting clients.
  auto bound = m_options.backoff_initial.count() << std::min<std::uint64_t>(attempt, 20);
  bound = std::min<std::int64_t>(bound, m_options.backoff_max.count());
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> pick(0, std::max<std::int64_t>(bound, 1));
  auto delay = std::chrono::milliseconds(pick(random));
  update([](SyncStatus& status) { status.state = SyncState::backoff; });
  std::unique_lock lock(m_mutex);
  m_changed.wait_for(lock, delay, [&] { return m_stopping || m_token_changed; });
}

Status SyncEngine::session(Transport& transport) {
  m_welcomed = false;
  m_push_in_flight.reset();
  protocol::Hello hello;
  {
    std::lock_guard lock(m_mutex);
    hello.token = m_options.token;
  }
  hello.client_id = m_store.client_id();
  hello.checkpoint = m_store.checkpoint();
  m_checkpoint = hello.checkpoint ? hello.checkpoint->seq : 0;
  if (auto sent = transport.send(codec().encode(protocol::ClientMessage{hello})); !sent)
    return sent;
  while (!stopping()) {
    if (m_welcomed && !m_push_in_flight) {
      auto batch = m_store.outbox_batch(m_options.push_batch);
      if (!batch.empty()) {
        auto last = batch.back().client_seq;
        protocol::Push push{std::move(batch)};
        if (auto sent = transport.send(codec().encode(protocol::ClientMessage{std::move(push)}));
            !sent)
          return sent;
        m_push_in_flight = last;
        m_push_sent_at = m_checkpoint;
      }
    }
    auto frame = transport.receive(Clock::now() + std::chrono::seconds(1));
    if (!frame) return frame.error();
    if (!*frame) continue;
    if (auto handled = handle(transport, **frame); !handled) return handled;
  }
  return ok_status();
}

Status SyncEngine::handle(Transport& /*transport*/, std::string_view frame) {
  auto decoded = codec().decode_server(frame);
  if (!decoded) {
    return Error(decoded.error().code(),
                 fmt::format("bad message from the server: {}", decoded.error().message()));
  }
  auto deliver = [&](ApplyResult result) {
    if (m_on_applied && (!result.events.empty() || !result.rejections.empty()))
      m_on_applied(std::move(result));
  };
  auto caught_up = [&](SyncStatus& status) {
    status.checkpoint_seq = m_checkpoint;
    if (!status.in_snapshot && m_checkpoint >= status.server_seq) status.state = SyncState::live;
  };
  return std::visit(
      [&](auto& message) -> Status {
        using T = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<T, protocol::Welcome>) {
          m_store.apply_tables(message.tables);
          m_welcomed = true;
          update([&](SyncStatus& status) {
            status.connected = true;
            status.user = message.user;
            status.server_seq = message.server_seq;
            status.state = SyncState::syncing;
            status.in_snapshot = message.snapshot;
            if (!message.snapshot) caught_up(status);
          });
        } else if constexpr (std::is_same_v<T, protocol::SnapshotBeginReceived>) {
          m_store.begin_snapshot(message.begin);
          update([&](SyncStatus& status) {
            status.in_snapshot = true;
            status.snapshot_rows = 0;
            status.snapshot_rows_total = message.rows;
          });
        } else if constexpr (std::is_same_v<T, protocol::SnapshotRowsReceived>) {
          deliver(m_store.apply_snapshot_rows(message));
          m_checkpoint = message.checkpoint.seq;
          update([&](SyncStatus& status) {
            status.snapshot_rows += message.rows.size();
            status.checkpoint_seq = m_checkpoint;
          });
        } else if constexpr (std::is_same_v<T, protocol::SnapshotEnd>) {
          deliver(m_store.end_snapshot(message));
          m_checkpoint = message.checkpoint.seq;
          update([&](SyncStatus& status) {
            status.in_snapshot = false;
            caught_up(status);
          });
        } else if constexpr (std::is_same_v<T, protocol::ChangesReceived>) {
          deliver(m_store.apply_changes(message));
          m_checkpoint = message.checkpoint.seq;
          update(caught_up);
        } else if constexpr (std::is_same_v<T, protocol::Ack>) {
          deliver(m_store.apply_ack(message, m_push_sent_at));
          if (m_push_in_flight && message.client_seq >= *m_push_in_flight) m_push_in_flight.reset();
          update([](SyncStatus&) {});
        } else if constexpr (std::is_same_v<T, protocol::Schema>) {
          // Tables or columns changed on the server: the local tables follow before any
          // later change of theirs is applied (docs/protocol.md, "schema").
          m_store.apply_tables(message.tables);
        } else if constexpr (std::is_same_v<T, protocol::ErrorMessage>) {
          Error error(message.code, fmt::format("server: {}", message.message));
          if (message.fatal && is_fatal(message.code)) throw FatalError{error};
          if (message.fatal) return error;
          report(error);
        }
        return ok_status();
      },
      *decoded);
}

}  // namespace tandem::client
