#include "session_fixture.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>

#include "common/thread_role.h"
#include "rules/rules_file.h"
#include "server/sync_session.h"
#include "support/server_process.h"

namespace tandem::testing {
namespace {

constexpr std::size_t kPoolThreads = 2;  // as server.cpp sizes it

ServerFrame decode(const protocol::Codec& codec, std::string text) {
  ServerFrame frame;
  frame.json = nlohmann::json::parse(text, nullptr, false);
  if (frame.json.is_object() && frame.json.contains("type") && frame.json["type"].is_string()) {
    frame.type = frame.json["type"].get<std::string>();
  }
  auto message = codec.decode_server(text);
  if (message) {
    frame.message = std::move(*message);
  } else {
    ADD_FAILURE() << "the server sent a frame its codec cannot decode ("
                  << message.error().message() << "): " << text;
  }
  frame.text = std::move(text);
  return frame;
}

std::string describe(const std::vector<ServerFrame>& frames, std::size_t from) {
  std::string text;
  for (std::size_t i = from; i < frames.size(); ++i)
    text += "\n  " + frames[i].text.substr(0, 300);
  return text.empty() ? " nothing" : text;
}

}  // namespace

// --- FakeConnection ------------------------------------------------------------------------------

FakeConnection::FakeConnection(const protocol::Codec& codec, std::uint64_t id)
    : m_codec(codec), m_id(id), m_thread([this] { run(); }) {}

FakeConnection::~FakeConnection() {
  stop();
}

void FakeConnection::send_text(std::shared_ptr<const std::string> message) {
  if (!message) return;
  std::lock_guard lock(m_mutex);
  // As the transport: a message sent after close() or after the connection is gone is
  // dropped.
  if (m_close || m_lost || m_finished) return;
  if (m_stalled) {
    m_queued += message->size();
    m_held.push_back(std::move(message));
    return;
  }
  deliver(std::move(message));
}

void FakeConnection::deliver(std::shared_ptr<const std::string> frame) {
  m_frames.push_back(decode(m_codec, *frame));
  if (m_stall_after && m_stall_after(m_frames.back())) {
    m_stall_after = nullptr;
    m_stalled = true;
    m_queued = m_stall_bytes;
  }
  m_changed.notify_all();
}

std::size_t FakeConnection::queued_bytes() const {
  std::lock_guard lock(m_mutex);
  return m_queued;
}

void FakeConnection::close(std::uint16_t code, std::string reason) {
  std::lock_guard lock(m_mutex);
  if (m_close || m_lost || m_finished) return;
  m_close = net::CloseInfo{code, std::move(reason)};
  m_changed.notify_all();
  // The close frame follows the frames already queued: a stalled peer gets it on unstall.
  if (!m_stalled) {
    post([self = shared_from_this(), info = *m_close] { self->finish(info); });
  }
}

void FakeConnection::set_log_identity(std::string identity) {
  std::lock_guard lock(m_mutex);
  m_identity = std::move(identity);
}

void FakeConnection::set_deadline(std::chrono::steady_clock::time_point when) {
  std::lock_guard lock(m_mutex);
  m_deadline = when;
}

void FakeConnection::cancel_deadline() {
  std::lock_guard lock(m_mutex);
  m_deadline.reset();
}

void FakeConnection::open(std::shared_ptr<net::WebSocketHandler> handler) {
  post([this, handler = std::move(handler)] {
    m_handler = handler;
    m_handler->on_open(shared_from_this());
  });
  dispatch([](net::WebSocketHandler&) {});
}

void FakeConnection::dispatch(const std::function<void(net::WebSocketHandler&)>& callback) {
  std::promise<void> done;
  auto posted = post([&] {
    if (m_handler) {
      try {
        callback(*m_handler);
      } catch (const std::exception& error) {
        ADD_FAILURE() << "a handler callback threw: " << error.what();
      }
    }
    done.set_value();
  });
  if (posted) done.get_future().wait();
}

void FakeConnection::drop() {
  {
    std::lock_guard lock(m_mutex);
    if (m_finished) return;
    m_lost = true;
    m_held.clear();
    m_queued = 0;
    m_stalled = false;
  }
  post([self = shared_from_this()] { self->finish(net::CloseInfo{1006, ""}); });
  wait_closed();
}

void FakeConnection::stall(std::size_t bytes) {
  std::lock_guard lock(m_mutex);
  m_stalled = true;
  m_queued = bytes;
}

void FakeConnection::stall_after(FramePredicate matching, std::size_t bytes) {
  std::lock_guard lock(m_mutex);
  m_stall_after = std::move(matching);
  m_stall_bytes = bytes;
}

void FakeConnection::unstall() {
  std::optional<net::CloseInfo> close;
  {
    std::lock_guard lock(m_mutex);
    if (m_lost || m_finished) return;
    m_stalled = false;
    m_queued = 0;
    // A stall_after() may fill the socket again part way: the rest stays queued.
    std::size_t delivered = 0;
    while (delivered < m_held.size() && !m_stalled)
      deliver(std::move(m_held[delivered++]));
    m_held.erase(m_held.begin(), m_held.begin() + static_cast<std::ptrdiff_t>(delivered));
    if (m_stalled) return;
    close = m_close;
  }
  if (close) {
    post([self = shared_from_this(), info = *close] { self->finish(info); });
    wait_closed();
    return;
  }
  dispatch([](net::WebSocketHandler& handler) { handler.on_drain(); });
}

void FakeConnection::finish(net::CloseInfo info) {
  {
    std::lock_guard lock(m_mutex);
    if (m_finished) return;
    m_finished = true;
    m_deadline.reset();
  }
  if (m_handler) {
    m_handler->on_close(info);
    m_handler.reset();  // the session holds this connection: break the cycle
  }
  std::lock_guard lock(m_mutex);
  m_closed = true;
  m_changed.notify_all();
}

void FakeConnection::stop() {
  bool finished;
  {
    std::lock_guard lock(m_mutex);
    finished = m_finished;
  }
  if (!finished && m_thread.joinable()) drop();
  {
    std::lock_guard lock(m_tasks_mutex);
    m_stopping = true;
  }
  m_tasks_changed.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

bool FakeConnection::post(std::function<void()> task) {
  {
    std::lock_guard lock(m_tasks_mutex);
    if (m_stopping) return false;
    m_tasks.push_back(std::move(task));
  }
  m_tasks_changed.notify_one();
  return true;
}

void FakeConnection::run() {
  set_thread_role(ThreadRole::io);
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(m_tasks_mutex);
      m_tasks_changed.wait(lock, [&] { return m_stopping || !m_tasks.empty(); });
      if (m_tasks.empty()) return;
      task = std::move(m_tasks.front());
      m_tasks.pop_front();
    }
    task();
  }
}

std::vector<ServerFrame> FakeConnection::frames() const {
  std::lock_guard lock(m_mutex);
  return m_frames;
}

std::size_t FakeConnection::held_frames() const {
  std::lock_guard lock(m_mutex);
  return m_held.size();
}

std::optional<std::size_t> FakeConnection::wait_for(std::size_t from,
                                                    const FramePredicate& matching,
                                                    std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  std::optional<std::size_t> found;
  m_changed.wait_for(lock, timeout, [&] {
    for (std::size_t i = from; i < m_frames.size(); ++i) {
      if (matching(m_frames[i])) {
        found = i;
        return true;
      }
    }
    from = m_frames.size();
    return false;
  });
  return found;
}

std::optional<net::CloseInfo> FakeConnection::close_requested() const {
  std::lock_guard lock(m_mutex);
  return m_close;
}

bool FakeConnection::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, timeout, [&] { return m_closed; });
}

std::optional<std::chrono::steady_clock::time_point> FakeConnection::deadline() const {
  std::lock_guard lock(m_mutex);
  return m_deadline;
}

std::string FakeConnection::log_identity() const {
  std::lock_guard lock(m_mutex);
  return m_identity;
}

// --- SessionClient -------------------------------------------------------------------------------

SessionClient::SessionClient(std::shared_ptr<FakeConnection> connection,
                             const protocol::Codec& codec, std::string token, std::string client_id)
    : m_connection(std::move(connection)),
      m_codec(codec),
      m_token(std::move(token)),
      m_client_id(std::move(client_id)) {}

void SessionClient::hello(std::optional<protocol::Checkpoint> checkpoint) {
  m_rules = checkpoint ? checkpoint->rules : std::string();
  send(protocol::ClientMessage{
      protocol::Hello{protocol::kProtocolVersion, m_token, m_client_id, std::move(checkpoint)}});
}

void SessionClient::send(const nlohmann::json& message) {
  send_raw(message.dump());
}

void SessionClient::send(const protocol::ClientMessage& message) {
  send_raw(m_codec.encode(message));
}

void SessionClient::send_raw(std::string_view payload, bool binary) {
  std::string copy(payload);
  m_connection->dispatch([&](net::WebSocketHandler& handler) { handler.on_message(copy, binary); });
}

void SessionClient::send_too_big(std::size_t limit) {
  m_connection->dispatch([&](net::WebSocketHandler& handler) {
    handler.on_message_too_big(limit);
    m_connection->close(1009, "message too big");
  });
}

std::optional<std::vector<ServerFrame>> SessionClient::wait_for(const FramePredicate& matching,
                                                                std::chrono::milliseconds timeout) {
  auto found = m_connection->wait_for(m_read, matching, timeout);
  auto frames = m_connection->frames();
  if (!found) {
    ADD_FAILURE() << "timed out waiting for a frame; received since the last wait:"
                  << describe(frames, m_read);
    return std::nullopt;
  }
  std::vector<ServerFrame> result(frames.begin() + static_cast<std::ptrdiff_t>(m_read),
                                  frames.begin() + static_cast<std::ptrdiff_t>(*found + 1));
  m_read = *found + 1;
  return result;
}

std::optional<std::vector<ServerFrame>> SessionClient::wait_for(std::string_view type,
                                                                std::chrono::milliseconds timeout) {
  return wait_for([type](const ServerFrame& frame) { return frame.type == type; }, timeout);
}

std::optional<std::vector<ServerFrame>> SessionClient::wait_for_seq(
    std::uint64_t seq, std::chrono::milliseconds timeout) {
  return wait_for(
      [seq](const ServerFrame& frame) {
        const auto* end = frame.as<protocol::SnapshotEnd>();
        const auto* changes = frame.as<protocol::ChangesReceived>();
        return (end && end->checkpoint.seq >= seq) || (changes && changes->checkpoint.seq >= seq);
      },
      timeout);
}

std::optional<protocol::Checkpoint> SessionClient::last_checkpoint() const {
  std::optional<protocol::Checkpoint> checkpoint;
  // As a replica keeps it: the rules digest of the last reset snapshot, else the one sent.
  auto rules = m_rules;
  for (const auto& frame : m_connection->frames()) {
    if (const auto* begin = frame.as<protocol::SnapshotBeginReceived>()) {
      if (begin->begin.reset) rules = begin->begin.rules;
    } else if (const auto* rows = frame.as<protocol::SnapshotRowsReceived>()) {
      checkpoint = rows->checkpoint;
    } else if (const auto* end = frame.as<protocol::SnapshotEnd>()) {
      checkpoint = end->checkpoint;
    } else if (const auto* changes = frame.as<protocol::ChangesReceived>()) {
      checkpoint = changes->checkpoint;
    }
  }
  if (checkpoint) checkpoint->rules = rules;
  return checkpoint;
}

void SessionClient::fire_deadline() {
  m_connection->dispatch([](net::WebSocketHandler& handler) { handler.on_deadline(); });
}

void SessionClient::shutdown() {
  m_connection->dispatch([](net::WebSocketHandler& handler) { handler.on_shutdown(); });
}

// --- SessionFixture ------------------------------------------------------------------------------

SessionFixture::SessionFixture(SessionFixtureOptions options, const std::string& rules_toml)
    : m_config([&] {
        config::Config config;
        config.jwt.hs256_secret = kTestSecret;
        config.jwt.leeway = options.token_leeway;
        config.hello_timeout = options.hello_timeout;
        config.snapshot_batch_rows = options.snapshot_batch_rows;
        return config;
      }()),
      m_clock(m_config.max_clock_drift),
      m_codec(protocol::make_json_codec()),
      m_rules(m_config.rules),
      m_permissions(permissions_from(m_config, rules_toml)),
      m_memberships(m_permissions->membership_tables()),
      m_hub(*m_codec, options.ring_changes),
      m_pool(kPoolThreads) {
  auto verifier = auth::TokenVerifier::create(m_config.jwt);
  if (!verifier) throw verifier.error();
  m_verifier = std::move(*verifier);
  m_datasource = std::make_unique<storage::sqlite::SqliteDatasource>(
      storage::sqlite::SqliteOptions{.path = m_dir.file("tandem.db"), .synchronous_full = false},
      m_clock);
  m_datasource->catch_up();
  m_publisher = std::make_unique<server::ChangePublisher>(*m_datasource, m_hub, &m_memberships);
  m_hub.set_permissions(m_permissions);
  m_hub.set_memberships(&m_memberships);
  m_publisher->start();
}

server::PermissionsPtr SessionFixture::permissions_from(const config::Config& config,
                                                        const std::string& rules_toml) {
  if (rules_toml.empty()) return std::make_shared<const rules::Permissions>(config.rules);
  auto parsed = rules::parse_rules(rules_toml);
  if (!parsed) throw parsed.error();
  return std::make_shared<const rules::Permissions>(config.rules, std::move(*parsed));
}

void SessionFixture::change_rules(const std::string& rules_toml) {
  m_permissions = permissions_from(m_config, rules_toml);
  // As RulesControl::apply: between two batches, memberships first.
  m_publisher->between_batches([&] {
    m_memberships.declare(m_permissions->membership_tables(), *m_datasource);
    m_hub.set_permissions(m_permissions);
  });
}

SessionFixture::~SessionFixture() {
  // As Server::stop: connections first, then the pool, the publisher, the datasource.
  for (const auto& connection : m_connections)
    connection->stop();
  m_pool.stop();
  m_publisher->stop();
  m_datasource->close();
}

SessionClient SessionFixture::connect(const std::string& user, auth::Role role,
                                      std::string client_id, std::chrono::seconds ttl) {
  if (client_id.empty()) client_id = user + "-device";
  return open_session(ServerProcess::token(user, role, ttl), std::move(client_id));
}

SessionClient SessionFixture::connect_with_claims(const nlohmann::json& claims,
                                                  std::string client_id) {
  return open_session(ServerProcess::token_with_claims(claims.dump()), std::move(client_id));
}

SessionClient SessionFixture::open_session(std::string token, std::string client_id) {
  auto connection = std::make_shared<FakeConnection>(*m_codec, m_next_connection++);
  m_connections.push_back(connection);
  server::SyncContext context{*m_datasource,  m_hub,  *m_codec,  m_verifier, m_rules,
                              &m_memberships, m_pool, m_metrics, m_config};
  connection->open(std::make_shared<server::SyncSession>(context));
  return SessionClient(connection, *m_codec, std::move(token), std::move(client_id));
}

void SessionFixture::execute(const std::string& sql) {
  m_datasource->execute(sql);
}

void SessionFixture::track(const std::string& table) {
  auto tracked = m_datasource->track(table);
  if (!tracked) throw tracked.error();
  m_publisher->refresh_catalog();
}

std::uint64_t SessionFixture::write(const std::string& sql) {
  m_datasource->execute(sql);
  // Logs what the statement captured now, rather than when the publisher's poll notices.
  m_datasource->catch_up();
  auto head = m_datasource->head_seq();
  EXPECT_TRUE(wait_published(head)) << "the hub never published seq " << head;
  return head;
}

void SessionFixture::settle() {
  EXPECT_TRUE(wait_published(m_datasource->head_seq()));
  pause_pool();  // waits for the pool to finish what it had, then lets it go
}

std::unique_ptr<PoolPause> SessionFixture::pause_pool() {
  return std::make_unique<PoolPause>(m_pool, kPoolThreads);
}

std::unique_ptr<WriterPause> SessionFixture::pause_writer() {
  return std::make_unique<WriterPause>(*m_datasource);
}

bool SessionFixture::wait_published(std::uint64_t seq) {
  return eventually([&] { return m_publisher->published_seq() >= seq; });
}

// --- PoolPause -----------------------------------------------------------------------------------

struct PoolPause::Barrier {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t arrived = 0;
  bool released = false;
};

PoolPause::PoolPause(server::WorkPool& pool, std::size_t threads)
    : m_barrier(std::make_shared<Barrier>()) {
  // Tasks start in the order posted: once every pool thread is inside one of these tasks,
  // every task posted before them has finished.
  for (std::size_t i = 0; i < threads; ++i) {
    pool.post([barrier = m_barrier] {
      std::unique_lock lock(barrier->mutex);
      ++barrier->arrived;
      barrier->changed.notify_all();
      barrier->changed.wait_for(lock, 2 * kWaitTimeout, [&] { return barrier->released; });
    });
  }
  std::unique_lock lock(m_barrier->mutex);
  EXPECT_TRUE(m_barrier->changed.wait_for(lock, kWaitTimeout, [&] {
    return m_barrier->arrived == threads;
  })) << "the work pool did not finish its tasks";
}

PoolPause::~PoolPause() {
  std::lock_guard lock(m_barrier->mutex);
  m_barrier->released = true;
  m_barrier->changed.notify_all();
}

// --- WriterPause -------------------------------------------------------------------------------

WriterPause::WriterPause(storage::sqlite::SqliteDatasource& datasource) {
  std::promise<void> started;
  m_thread = std::thread([&datasource, &started, released = m_release.get_future()] {
    datasource.run_on_writer([&](auto&) {
      started.set_value();
      released.wait();
    });
  });
  started.get_future().wait();
}

WriterPause::~WriterPause() {
  m_release.set_value();
  m_thread.join();
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

std::string hlc_now() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  static std::atomic<std::uint16_t> counter{0};
  return fmt::format("{:016x}", (static_cast<std::uint64_t>(ms) << 16) | counter++);
}

}  // namespace tandem::testing
