// One client connection speaking sync protocol v1 (docs/protocol.md).
//
// Phases: awaiting hello -> snapshot (bounded pages, resumable) -> catching up (from the
// hub's ring, else from the change log) -> live (changes pushed as the hub publishes them).
// In every phase after hello, a catalog change from the hub becomes a `schema` message and
// the session's tables from then on (docs/protocol.md, "schema").
// Pushes are accepted in any phase after hello. Thread-safety: callbacks arrive from the
// connection's strand, the publisher thread, the datasource writer and the work pool; all
// state is guarded by one mutex, and no blocking call is made while holding it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/token.h"
#include "config/config.h"
#include "net/http_server.h"
#include "protocol/codec.h"
#include "rules/access_rules.h"
#include "rules/permissions.h"
#include "server/hub.h"
#include "server/metrics.h"
#include "server/work_pool.h"
#include "storage/datasource.h"

namespace tandem::server {

struct SyncContext {
  storage::Datasource& datasource;
  Hub& hub;
  const protocol::Codec& codec;
  std::shared_ptr<const auth::TokenVerifier> verifier;
  const rules::AccessRules& rules;  // the owner-column default, for the welcome's table info
  // The permission rules come with the hub's catalog (Catalog::permissions), so that a rules
  // reload reaches the session in order with the changes.
  const MembershipLookup* memberships;  // the rules' membership tables (membership_index.h)
  WorkPool& pool;
  Metrics& metrics;
  const config::Config& config;
};

class SyncSession final : public net::WebSocketHandler,
                          public HubSubscriber,
                          public std::enable_shared_from_this<SyncSession> {
 public:
  explicit SyncSession(SyncContext context) : m_context(std::move(context)) {}

  void on_open(std::shared_ptr<net::WebSocketConnection> connection) override;
  void on_message(std::string_view payload, bool binary) override;
  void on_message_too_big(std::size_t limit) override;
  void on_drain() override;
  // No valid hello in time (server.hello_timeout_seconds), or the token has expired.
  void on_deadline() override;
  void on_shutdown() override;
  void on_close(const net::CloseInfo& info) override;
  void on_batch(const ChangeBatchPtr& batch) override;
  // New tables or new permission rules. When the rules change what the user reads, the
  // replica is filled again (a reset snapshot), so that it never keeps a row the user may
  // no longer read.
  void on_catalog(const CatalogPtr& catalog) override;

 private:
  // starting: hello accepted, the welcome is being prepared on the work pool.
  enum class Phase { awaiting_hello, starting, snapshot, catching_up, live, closing, closed };

  struct TableView {
    TableSchema schema;
    rules::ReadAccess access;  // what this session's user reads of it
  };

  // A membership row of this user came or went (at `change`): rows of the tables filtered by
  // that membership enter or leave the user's view for these group keys.
  struct MembershipShift {
    sync::Change change;
    RowFilter::Membership membership;  // as this user's filters name it
    std::vector<Value> keys;
  };

  struct SnapshotState {
    std::uint64_t seq = 0;
    std::vector<std::string> tables;  // visible tables, in name order
    std::size_t index = 0;
    std::optional<std::vector<Value>> after;
    bool resumed = false;
    bool begun = false;  // snapshot_begin sent
  };

  void handle_hello(protocol::Hello& hello);
  // Subscribes to the hub and sends the welcome (work pool: reads the log's horizon).
  void start(const std::optional<protocol::Checkpoint>& checkpoint);
  // Makes `catalog` the session's tables (lock held); returns them as the user sees them.
  std::vector<protocol::TableInfo> apply_catalog(const Catalog& catalog);
  // How the hub finds the changes that may concern this session (lock held).
  SubscriberRoutes routes() const;
  // Starts a reset snapshot at the hub's head, whatever the session was doing (lock held).
  void restart_snapshot();
  // How the welcome and schema messages describe a table to this user (lock held).
  protocol::TableInfo table_info(const TableSchema& schema, const rules::ReadAccess& access) const;
  void handle_push(protocol::Push& push);
  void on_push_done(storage::PushResult result);
  // Closes with 1001 once the server is stopping and no push waits for its ack (lock held).
  void close_if_shut_down();

  // Decides how the session starts from the client's checkpoint (lock held).
  bool plan_start(const std::optional<protocol::Checkpoint>& checkpoint, std::uint64_t head,
                  std::uint64_t horizon);

  void schedule_pump();  // lock held
  void pump();
  bool pump_snapshot_page();  // false: stop pumping for now
  void begin_snapshot();
  bool pump_catch_up();
  // Whether `change` moves this user in or out of groups a filter of theirs reads (lock held).
  std::optional<MembershipShift> membership_shift(const sync::Change& change) const;
  // Sends the rows a pending membership shift makes enter (inserts) or leave (deletes) the
  // user's view, page by page, at the shift's position (work pool). False: stop pumping.
  bool send_membership_shift();

  // The change as this session's schema of its table shapes it: `published` itself, or a
  // copy without the columns dropped since it was published (lock held).
  const sync::Change* shaped(const PublishedChange& published, const TableSchema& table,
                             std::optional<sync::Change>& copy) const;

  // Frames for the changes after m_cursor (lock held); returns the number of changes sent.
  // `changes` come from `batch` when it is given: if they are all of it, unchanged, the
  // batch's shared frame is sent instead of a new one.
  std::size_t send_changes(const std::vector<const PublishedChange*>& changes,
                           std::uint64_t last_seq, const ChangeBatch* batch = nullptr);

  void send(const protocol::ServerMessage& message);
  void send_frame(std::string frame);
  void send_frame(std::shared_ptr<const std::string> frame);
  void send_error(ErrorCode code, std::string message, bool fatal);
  // The session ends when the token stops being valid (lock held).
  void arm_token_deadline();
  bool backpressured() const;

  SyncContext m_context;
  std::mutex m_mutex;
  Phase m_phase = Phase::awaiting_hello;
  std::shared_ptr<net::WebSocketConnection> m_connection;
  std::optional<auth::Claims> m_claims;
  std::string m_client_id;
  std::map<std::string, TableView, std::less<>> m_tables;
  std::uint64_t m_catalog_version = 0;  // of m_tables
  PermissionsPtr m_permissions;         // of m_tables
  std::string m_view;                   // m_permissions->view_digest() of the user
  std::uint64_t m_cursor = 0;           // log position delivered so far
  std::uint64_t m_checkpoint_sent = 0;  // the last checkpoint the client was given
  std::vector<std::shared_ptr<const std::string>> m_held_frames;  // while starting
  SnapshotState m_snapshot;
  std::optional<MembershipShift> m_membership_shift;  // sent before the stream goes on
  // The memberships this user's filters read (with their member value), gathered from
  // m_tables once per catalog: every change is checked against them.
  std::vector<RowFilter::Membership> m_memberships;
  bool m_pump_scheduled = false;
  bool m_waiting_for_drain = false;
  int m_pending_pushes = 0;
  bool m_shutdown_requested = false;
  int m_errors = 0;
  std::chrono::steady_clock::time_point m_last_frame{};
};

}  // namespace tandem::server
