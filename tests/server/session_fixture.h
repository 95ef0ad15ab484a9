// An in-process sync server for session tests (the idea of Realm's ClientServerFixture): the
// real SQLite datasource in a temporary directory, the real change publisher, hub, work pool,
// rules and token verifier, wired as src/server/server.cpp wires them, with SyncSession
// handlers talking to FakeConnections instead of sockets. Nothing is timed: tests wait on
// conditions with deadlines, and inject transport faults (a lost connection, a socket that
// stops draining, a deadline that comes) at exactly the point they choose.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/token.h"
#include "config/config.h"
#include "net/http_server.h"
#include "protocol/codec.h"
#include "rules/access_rules.h"
#include "rules/permissions.h"
#include "server/change_publisher.h"
#include "server/hub.h"
#include "server/membership_index.h"
#include "server/metrics.h"
#include "server/work_pool.h"
#include "storage/sqlite/sqlite_datasource.h"
#include "support/temp_dir.h"
#include "sync/hlc.h"

namespace tandem::testing {

// Above the session's high-water mark (1 MiB): a socket the peer has stopped reading.
inline constexpr std::size_t kStalledBytes = 8 << 20;
inline constexpr std::chrono::milliseconds kWaitTimeout{10'000};

// One message the server sent, as the wire carries it and as the codec decodes it.
struct ServerFrame {
  std::string text;
  nlohmann::json json;  // text, parsed
  std::string type;     // json["type"]
  protocol::ServerMessageReceived message;

  template <typename T>
  const T* as() const {
    return std::get_if<T>(&message);
  }
};

using FramePredicate = std::function<bool(const ServerFrame&)>;

// A WebSocket connection without a socket. Like the real transport it runs the handler's
// callbacks one at a time on its own I/O thread (a strand; the thread has the io role, so a
// callback that waits on the database aborts in debug builds), queues a close after the
// frames already sent, and calls on_close once. Frames are delivered to the test at once,
// unless the connection is stalled: then they wait, counted in queued_bytes(), until
// unstall() delivers them and calls on_drain. Thread-safe.
class FakeConnection final : public net::WebSocketConnection,
                             public std::enable_shared_from_this<FakeConnection> {
 public:
  FakeConnection(const protocol::Codec& codec, std::uint64_t id);
  ~FakeConnection() override;

  // --- net::WebSocketConnection (the session's side) --------------------------------------
  using WebSocketConnection::send_text;
  void send_text(std::shared_ptr<const std::string> message) override;
  std::size_t queued_bytes() const override;
  void close(std::uint16_t code, std::string reason) override;
  std::uint64_t id() const override { return m_id; }
  const std::string& remote_address() const override { return m_remote; }
  void set_log_identity(std::string identity) override;
  void set_deadline(std::chrono::steady_clock::time_point when) override;
  void cancel_deadline() override;

  // --- The transport's side ----------------------------------------------------------------
  // Gives the connection its handler and calls on_open; waits for it.
  void open(std::shared_ptr<net::WebSocketHandler> handler);
  // Runs `callback` with the handler on the I/O thread, unless the connection is gone, and
  // waits for it.
  void dispatch(const std::function<void(net::WebSocketHandler&)>& callback);
  // The transport is lost: frames not yet delivered are lost with it, on_close follows with
  // 1006 and no close frame. Waits for on_close.
  void drop();
  // The peer stops reading: queued_bytes() reports `bytes` plus what is sent meanwhile.
  void stall(std::size_t bytes = kStalledBytes);
  // Delivers `matching` (and what came before it), then stalls: a socket that fills up at
  // exactly that frame.
  void stall_after(FramePredicate matching, std::size_t bytes = kStalledBytes);
  // The peer reads again: what waited is delivered (up to a stall_after() match) and on_drain
  // called, or the close the session asked for meanwhile made; waits for it.
  void unstall();
  // Ends the I/O thread (after a drop if still open). The fixture calls it on teardown, and
  // holds every connection until then, so that the last reference never goes on the I/O
  // thread itself.
  void stop();

  // --- What the test observes ----------------------------------------------------------------
  std::vector<ServerFrame> frames() const;  // delivered, in order
  std::size_t held_frames() const;          // sent while stalled, not yet delivered
  // Waits until a delivered frame after the first `from` matches; returns its index.
  std::optional<std::size_t> wait_for(std::size_t from, const FramePredicate& matching,
                                      std::chrono::milliseconds timeout);
  // The close the session asked for (code and reason), if it did.
  std::optional<net::CloseInfo> close_requested() const;
  // Waits until on_close has returned.
  bool wait_closed(std::chrono::milliseconds timeout = kWaitTimeout);
  std::optional<std::chrono::steady_clock::time_point> deadline() const;
  std::string log_identity() const;

 private:
  void deliver(std::shared_ptr<const std::string> frame);  // m_mutex held
  bool post(std::function<void()> task);                   // false once stopped
  void run();
  void finish(net::CloseInfo info);  // on the I/O thread

  const protocol::Codec& m_codec;
  const std::uint64_t m_id;
  const std::string m_remote = "127.0.0.1:1";

  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<ServerFrame> m_frames;
  std::vector<std::shared_ptr<const std::string>> m_held;
  std::size_t m_queued = 0;
  bool m_stalled = false;
  FramePredicate m_stall_after;
  std::size_t m_stall_bytes = 0;
  std::optional<net::CloseInfo> m_close;
  bool m_lost = false;      // dropped: nothing more is delivered
  bool m_finished = false;  // on_close is under way: nothing more is delivered
  bool m_closed = false;    // on_close has returned
  std::optional<std::chrono::steady_clock::time_point> m_deadline;
  std::string m_identity;

  std::shared_ptr<net::WebSocketHandler> m_handler;  // I/O thread only; reset by on_close
  std::mutex m_tasks_mutex;
  std::condition_variable m_tasks_changed;
  std::deque<std::function<void()>> m_tasks;
  bool m_stopping = false;
  std::thread m_thread;
};

// A client of one connection, at the protocol level.
class SessionClient {
 public:
  SessionClient(std::shared_ptr<FakeConnection> connection, const protocol::Codec& codec,
                std::string token, std::string client_id);

  // Sends a hello with this client's token and id, and `checkpoint` (none: a new replica).
  void hello(std::optional<protocol::Checkpoint> checkpoint = std::nullopt);
  void send(const nlohmann::json& message);
  void send(const protocol::ClientMessage& message);
  void send_raw(std::string_view payload, bool binary = false);
  // A message above the transport's limit arrives: on_message_too_big, then the transport's
  // close with 1009 once the session has had its say.
  void send_too_big(std::size_t limit);

  // Waits until a frame received after the last wait matches; returns the frames since that
  // wait, the matching one last, or nullopt (with a test failure naming what came) on timeout.
  std::optional<std::vector<ServerFrame>> wait_for(
      const FramePredicate& matching, std::chrono::milliseconds timeout = kWaitTimeout);
  std::optional<std::vector<ServerFrame>> wait_for(
      std::string_view type, std::chrono::milliseconds timeout = kWaitTimeout);
  // Waits until the checkpoint reaches `seq` (outside a snapshot).
  std::optional<std::vector<ServerFrame>> wait_for_seq(
      std::uint64_t seq, std::chrono::milliseconds timeout = kWaitTimeout);

  // Every frame received on this connection.
  std::vector<ServerFrame> frames() const { return m_connection->frames(); }
  // The newest checkpoint received (snapshot pages, snapshot_end, changes).
  std::optional<protocol::Checkpoint> last_checkpoint() const;

  // Fault injection (see FakeConnection).
  void drop() { m_connection->drop(); }
  void stall(std::size_t bytes = kStalledBytes) { m_connection->stall(bytes); }
  void stall_after(FramePredicate matching) { m_connection->stall_after(std::move(matching)); }
  void unstall() { m_connection->unstall(); }
  void fire_deadline();
  void shutdown();

  FakeConnection& connection() { return *m_connection; }
  const std::string& client_id() const { return m_client_id; }

 private:
  std::shared_ptr<FakeConnection> m_connection;
  const protocol::Codec& m_codec;
  std::string m_token;
  std::string m_client_id;
  std::string m_rules;     // the rules digest of the checkpoint sent in hello
  std::size_t m_read = 0;  // frames returned by wait_for so far
};

// Every thread of a work pool held inside a task, from pause_pool() until destroyed.
class PoolPause {
 public:
  PoolPause(server::WorkPool& pool, std::size_t threads);
  ~PoolPause();  // lets the threads go
  PoolPause(const PoolPause&) = delete;
  PoolPause& operator=(const PoolPause&) = delete;

 private:
  struct Barrier;
  std::shared_ptr<Barrier> m_barrier;
};

// The datasource's writer thread held inside a job, from pause_writer() until destroyed.
class WriterPause {
 public:
  explicit WriterPause(storage::sqlite::SqliteDatasource& datasource);
  ~WriterPause();  // lets the writer go
  WriterPause(const WriterPause&) = delete;
  WriterPause& operator=(const WriterPause&) = delete;

 private:
  std::promise<void> m_release;
  std::thread m_thread;
};

struct SessionFixtureOptions {
  std::size_t snapshot_batch_rows = 500;
  std::size_t ring_changes = 100'000;  // the hub's ring (a small one sends catch-up to the log)
  std::chrono::seconds hello_timeout{10};
  std::chrono::seconds token_leeway{30};
};

// The server's pieces for one test, used from the test's thread. Torn down as Server::stop
// does: connections (on_close for those still open), work pool, publisher, datasource.
class SessionFixture {
 public:
  // `rules_toml`: a permission rules file's text (docs/permissions.md); empty: the
  // owner-column default.
  explicit SessionFixture(SessionFixtureOptions options = {}, const std::string& rules_toml = "");
  ~SessionFixture();
  SessionFixture(const SessionFixture&) = delete;
  SessionFixture& operator=(const SessionFixture&) = delete;

  // A new connection with a SyncSession on it, as the server's /sync route makes it, opened.
  // The client's token is minted for `user` (valid for `ttl`); its id defaults to
  // "<user>-device", the same on every connect (a reconnecting replica).
  SessionClient connect(const std::string& user, auth::Role role = auth::Role::user,
                        std::string client_id = "",
                        std::chrono::seconds ttl = std::chrono::hours(24));
  // The same with a token holding exactly `claims` (a custom role, custom claims); signed
  // with the test secret. It needs `sub` and `exp`.
  SessionClient connect_with_claims(const nlohmann::json& claims, std::string client_id);

  // Runs SQL as another program would (on the datasource's writer connection, outside
  // Tandem's write context): DDL before track(), or writes left for the publisher to find.
  void execute(const std::string& sql);
  // Applies new permission rules (`rules_toml` as for the constructor) as a rules reload does:
  // between two batches, through the hub's catalog.
  void change_rules(const std::string& rules_toml);
  // Tracks `table` and brings the hub's catalog up to date (sessions get a `schema`).
  void track(const std::string& table);
  // Writes by another program, captured by the tracked tables' triggers: returns the log's
  // head once the writes are logged and the hub has delivered them to every session.
  std::uint64_t write(const std::string& sql);
  // Returns once the hub has delivered everything logged, and the work pool has finished
  // every task posted before (snapshot pages, catch-up): a point where sessions are idle.
  void settle();
  // Returns once every task posted to the work pool before has finished, and keeps every
  // pool thread busy until the result is destroyed: a server whose pool is taken up by
  // other work (other sessions' snapshots), so that what a session posts waits.
  std::unique_ptr<PoolPause> pause_pool();
  // Keeps the datasource's writer busy until the result is destroyed: pushes wait for their
  // commit (and their acks) meanwhile.
  std::unique_ptr<WriterPause> pause_writer();

  storage::sqlite::SqliteDatasource& datasource() { return *m_datasource; }
  server::Hub& hub() { return m_hub; }
  server::Metrics& metrics() { return m_metrics; }
  const config::Config& config() const { return m_config; }
  // The SQLite file, for checks made with SQL by another connection.
  std::string database_path() const { return m_dir.file("tandem.db"); }
  const protocol::Codec& codec() const { return *m_codec; }

 private:
  static server::PermissionsPtr permissions_from(const config::Config& config,
                                                 const std::string& rules_toml);
  bool wait_published(std::uint64_t seq);
  SessionClient open_session(std::string token, std::string client_id);

  config::Config m_config;
  TempDir m_dir;
  sync::HlcClock m_clock;
  std::unique_ptr<protocol::Codec> m_codec;
  rules::AccessRules m_rules;
  server::PermissionsPtr m_permissions;
  server::MembershipIndex m_memberships;
  std::shared_ptr<const auth::TokenVerifier> m_verifier;
  std::unique_ptr<storage::sqlite::SqliteDatasource> m_datasource;
  server::Hub m_hub;
  server::WorkPool m_pool;
  server::Metrics m_metrics;
  std::unique_ptr<server::ChangePublisher> m_publisher;
  std::vector<std::shared_ptr<FakeConnection>> m_connections;
  std::uint64_t m_next_connection = 1;
};

// Polls `condition` until it holds or `timeout` passes; returns whether it held. For state
// with nothing to wait on (counters).
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = kWaitTimeout);

// A fresh hlc for a pushed mutation: the wall clock now, in the protocol's 16 hex digits.
std::string hlc_now();

}  // namespace tandem::testing
