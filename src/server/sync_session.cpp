#include "server/sync_session.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <deque>

#include "common/logging.h"
#include "rules/change_visibility.h"
#include "storage/push_applier.h"

namespace tandem::server {
namespace {

// Snapshot and catch-up pause while more than this is queued on the socket, and resume on
// drain: a slow client costs the server a bounded amount of memory.
constexpr std::size_t kHighWaterBytes = 1 << 20;
constexpr std::size_t kChangesPerFrame = 1000;
constexpr int kMaxProtocolErrors = 20;
// An idle client still learns the log's position now and then, so that its checkpoint
// does not fall behind the retention horizon while it sees no changes.
constexpr auto kCheckpointInterval = std::chrono::seconds(1);
// Pushes of one connection waiting for their acks: what a client can make the server hold.
constexpr int kMaxPendingPushes = 16;
// Replies held while the welcome is prepared (a client that floods pings meanwhile is cut).
constexpr std::size_t kMaxHeldFrames = 256;

// An update that moves a row out of a reader's view reaches the reader as a delete of the
// row it could see: the row before the update, never the new values or owner.
sync::Change row_before(const sync::Change& update) {
  sync::Change leaving = update;
  for (const auto& [column, value] : update.old)
    leaving.row.insert_or_assign(column, value);
  leaving.old.clear();
  return leaving;
}

// For each column `filter` tests with `shift`'s membership: the rows of the shift's groups.
void collect_membership_columns(const RowFilter& filter, const auto& shift,
                                std::vector<RowFilter>& of_groups) {
  if (filter.kind() == RowFilter::Kind::in_membership && filter.membership() == shift.membership) {
    of_groups.push_back(RowFilter::in_values(filter.column(), shift.keys));
  }
  for (const auto& operand : filter.operands())
    collect_membership_columns(operand, shift, of_groups);
}

// The rules' view of the tracked tables (membership tables are looked up in it).
rules::SchemaLookup catalog_lookup(const Catalog& catalog) {
  return [&catalog](std::string_view table) { return catalog.find(table); };
}

// The catalog's rules; a catalog without any (the server has not set them) lets users read
// and write nothing rather than everything.
PermissionsPtr permissions_of(const Catalog& catalog) {
  static const auto nothing =
      std::make_shared<const rules::Permissions>(rules::RulesOptions{}, rules::RuleSet{});
  return catalog.permissions ? catalog.permissions : nothing;
}

}  // namespace

void SyncSession::on_open(std::shared_ptr<net::WebSocketConnection> connection) {
  std::lock_guard lock(m_mutex);
  m_connection = std::move(connection);
  // A connection that never says hello would otherwise be held for as long as it answers
  // pings: the deadline bounds what an anonymous peer can hold.
  m_connection->set_deadline(std::chrono::steady_clock::now() + m_context.config.hello_timeout);
  m_context.metrics.sessions_started++;
  m_context.metrics.sessions_active++;
}

void SyncSession::on_message(std::string_view payload, bool binary) {
  if (binary) {
    std::lock_guard lock(m_mutex);
    send_error(ErrorCode::malformed_message, "protocol v1 uses text frames (JSON)", false);
    return;
  }
  auto message = m_context.codec.decode(payload);
  if (!message) {
    std::lock_guard lock(m_mutex);
    send_error(message.error().code(), std::string(message.error().message()), false);
    return;
  }
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::Hello>) {
          handle_hello(m);
        } else if constexpr (std::is_same_v<T, protocol::Push>) {
          handle_push(m);
        } else {
          std::lock_guard lock(m_mutex);
          send(protocol::Pong{m.id});
        }
      },
      *message);
}

void SyncSession::on_message_too_big(std::size_t limit) {
  std::lock_guard lock(m_mutex);
  m_context.metrics.protocol_errors++;
  // Fatal: the transport closes with 1009 (not send_error's 1008) once the error is out.
  send(protocol::ErrorMessage{
      ErrorCode::frame_too_large,
      fmt::format("message larger than {} bytes; split pushes into smaller batches", limit), true});
  m_phase = Phase::closing;
}

void SyncSession::handle_hello(protocol::Hello& hello) {
  std::lock_guard lock(m_mutex);
  if (m_phase != Phase::awaiting_hello) {
    send_error(ErrorCode::bad_request, "hello was already received on this connection", false);
    return;
  }
  if (hello.protocol != protocol::kProtocolVersion) {
    send_error(ErrorCode::protocol_version,
               fmt::format("this server speaks protocol {}, the client {}",
                           protocol::kProtocolVersion, hello.protocol),
               true);
    return;
  }
  if (auto valid = storage::check_client_id(hello.client_id); !valid) {
    send_error(valid.error().code(), std::string(valid.error().message()), true);
    return;
  }
  auto claims = m_context.verifier->verify(hello.token);
  if (!claims) {
    m_context.metrics.auth_failures++;
    send_error(claims.error().code(), std::string(claims.error().message()), true);
    return;
  }
  m_claims = std::move(*claims);
  m_client_id = hello.client_id;
  m_connection->set_log_identity(fmt::format("{}/{}", m_claims->subject, m_client_id));
  arm_token_deadline();
  // Pushes are accepted from now on; what the session sends waits for the welcome, which
  // needs the log's horizon: a database read, made on the work pool, never on this thread.
  // The hub's tables serve the acks made meantime (an ack echoes a row only of a table the
  // session knows); start() replaces them with the subscription's.
  apply_catalog(*m_context.hub.catalog());
  m_phase = Phase::starting;
  m_context.pool.post([self = shared_from_this(), checkpoint = std::move(hello.checkpoint)] {
    self->start(checkpoint);
  });
}

void SyncSession::start(const std::optional<protocol::Checkpoint>& checkpoint) {
  std::uint64_t horizon = 0;
  try {
    horizon = m_context.datasource.horizon_seq();
  } catch (const Error& error) {
    std::lock_guard lock(m_mutex);
    send_error(error.code(), std::string(error.message()), true);
    return;
  }
  std::lock_guard lock(m_mutex);
  if (m_phase != Phase::starting) return;  // closed meanwhile
  // The tables and the position come from the hub, together: every change after `head`
  // reaches this session after a catalog that knows its table. Catalogs and batches the hub
  // delivers meanwhile wait for the lock held here.
  auto subscription = m_context.hub.subscribe(shared_from_this());
  protocol::Welcome welcome;
  welcome.user = m_claims->subject;
  welcome.role = std::string(auth::role_name(m_claims->role));
  welcome.tables = apply_catalog(*subscription.catalog);
  auto head = subscription.head;
  welcome.server_seq = head;
  welcome.snapshot = plan_start(checkpoint, head, horizon);
  send(welcome);
  for (auto& frame : m_held_frames)
    send_frame(std::move(frame));
  m_held_frames.clear();
  if (m_shutdown_requested) {
    // The server began stopping while the welcome was prepared: the welcome and the held
    // acks went out, and the session ends once its pushes are acked.
    m_phase = Phase::closing;
    close_if_shut_down();
    return;
  }
  // snapshot_begin follows from the work pool, with the row count (a blocking query).
  schedule_pump();
}

std::vector<protocol::TableInfo> SyncSession::apply_catalog(const Catalog& catalog) {
  std::vector<protocol::TableInfo> visible;
  m_tables.clear();
  m_memberships.clear();
  m_permissions = permissions_of(catalog);
  m_view = m_permissions->view_digest(*m_claims);
  auto schema_of = catalog_lookup(catalog);
  for (const auto& [name, schema] : catalog.tables) {
    std::string problem;
    auto access = m_permissions->read_access(*m_claims, schema, schema_of, &problem);
    if (!problem.empty()) {
      log::warn("a permission rule hides every row", {{"table", name}, {"reason", problem}});
    }
    // Under a rules file, a table the user reads nothing of is not theirs to know about.
    if (access.sees_nothing() && m_permissions->has_rules_file()) continue;
    visible.push_back(table_info(schema, access));
    for (auto& membership : access.rows.memberships()) {
      if (std::find(m_memberships.begin(), m_memberships.end(), membership) == m_memberships.end())
        m_memberships.push_back(std::move(membership));
    }
    m_tables.emplace(name, TableView{schema, std::move(access)});
  }
  m_catalog_version = catalog.version;
  m_context.hub.route(this, routes());
  return visible;
}

protocol::TableInfo SyncSession::table_info(const TableSchema& schema,
                                            const rules::ReadAccess& access) const {
  protocol::TableInfo info;
  info.schema = schema;
  if (access.columns) {
    // Hidden columns are never named to the user, not even in the schema.
    std::erase_if(info.schema.columns, [&](const ColumnSchema& column) {
      return !access.sees_column(column.name, schema);
    });
  }
  info.writable = m_permissions->may_write(*m_claims, schema);
  if (m_permissions->has_rules_file()) {
    if (access.rows.kind() != RowFilter::Kind::always) info.access = protocol::TableAccess::rules;
  } else if (auto rule = m_context.rules.rule_for(schema); rule.is_private) {
    info.access = protocol::TableAccess::owner;
    info.owner_column = rule.owner_column;
  }
  return info;
}

void SyncSession::on_catalog(const CatalogPtr& catalog) {
  std::lock_guard lock(m_mutex);
  if (!m_claims || m_phase == Phase::closing || m_phase == Phase::closed) return;
  if (catalog->version <= m_catalog_version) return;
  auto view_before = m_view;
  // Sent before anything shaped by the new tables: the client alters its local tables
  // first, then applies the changes that follow.
  send(protocol::Schema{apply_catalog(*catalog)});
  // While starting, start() plans with the new rules; a session about to close needs nothing.
  bool streaming =
      m_phase == Phase::snapshot || m_phase == Phase::catching_up || m_phase == Phase::live;
  if (m_view != view_before && streaming) restart_snapshot();
}

void SyncSession::restart_snapshot() {
  // What the replica holds was chosen by rules that no longer apply: everything is sent again
  // and, at the end, the replica drops what was not (docs/protocol.md, reset snapshots).
  // Changes up to the hub's head are in the snapshot's rows; the stream resumes after it.
  m_membership_shift.reset();
  m_snapshot = SnapshotState{};
  for (const auto& [name, view] : m_tables)
    m_snapshot.tables.push_back(name);
  m_snapshot.seq = std::max(m_context.hub.head(), m_cursor);
  m_phase = Phase::snapshot;
  log::debug("permission rules changed the user's view: resending it",
             {{"client", m_client_id}, {"seq", m_snapshot.seq}});
  schedule_pump();
}

bool SyncSession::plan_start(const std::optional<protocol::Checkpoint>& checkpoint,
                             std::uint64_t head, std::uint64_t horizon) {
  for (const auto& [name, view] : m_tables)
    m_snapshot.tables.push_back(name);
  // A replica filled under other rules (or none) may hold rows the user may no longer read,
  // and lack rows they now may: it is filled again.
  bool usable = checkpoint && checkpoint->seq <= head && checkpoint->seq >= horizon &&
                checkpoint->rules == m_view;
  if (usable && !checkpoint->snapshot) {
    m_cursor = checkpoint->seq;
    m_checkpoint_sent = checkpoint->seq;
    m_phase = Phase::catching_up;
    return false;
  }
  m_phase = Phase::snapshot;
  m_snapshot.seq = head;
  if (usable) {
    // Resume an interrupted snapshot where the client's checkpoint says it stopped.
    m_snapshot.seq = checkpoint->seq;
    m_snapshot.resumed = true;
    const auto& cursor = *checkpoint->snapshot;
    auto it = std::lower_bound(m_snapshot.tables.begin(), m_snapshot.tables.end(), cursor.table);
    m_snapshot.index = static_cast<std::size_t>(it - m_snapshot.tables.begin());
    if (it != m_snapshot.tables.end() && *it == cursor.table && !cursor.after.empty()) {
      m_snapshot.after = cursor.after;
    }
  }
  return true;
}

void SyncSession::schedule_pump() {
  if (m_pump_scheduled || m_phase == Phase::closing || m_phase == Phase::closed) return;
  m_pump_scheduled = true;
  m_context.pool.post([self = shared_from_this()] { self->pump(); });
}

void SyncSession::pump() {
  for (;;) {
    Phase phase;
    {
      std::lock_guard lock(m_mutex);
      phase = m_phase;
      if (phase != Phase::snapshot && phase != Phase::catching_up) {
        m_pump_scheduled = false;
        return;
      }
      if (backpressured()) {
        m_waiting_for_drain = true;
        m_pump_scheduled = false;
        return;
      }
    }
    bool more = false;
    try {
      more = phase == Phase::snapshot ? pump_snapshot_page() : pump_catch_up();
    } catch (const Error& error) {
      log::error("sync session failed", {{"client", m_client_id}, {"error", error.message()}});
      std::lock_guard lock(m_mutex);
      send_error(error.code(), std::string(error.message()), true);
      more = false;
    }
    if (!more) {
      std::lock_guard lock(m_mutex);
      // A step that stopped because the rules restarted the snapshot meanwhile: go on with it.
      if (m_phase != phase && m_phase == Phase::snapshot) continue;
      m_pump_scheduled = false;
      return;
    }
  }
}

// The first step of a snapshot: counts what it will send, for the client's progress bar.
void SyncSession::begin_snapshot() {
  std::vector<std::pair<TableSchema, storage::SnapshotRequest>> requests;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& name : m_snapshot.tables) {
      auto view = m_tables.find(name);
      if (view == m_tables.end()) continue;
      storage::SnapshotRequest request;
      request.filter = view->second.access.rows;
      requests.emplace_back(view->second.schema, std::move(request));
    }
  }
  std::uint64_t rows = 0;
  for (auto& [schema, request] : requests) {
    request.table = &schema;
    rows += m_context.datasource.count_rows(request);
  }
  std::lock_guard lock(m_mutex);
  if (m_phase != Phase::snapshot) return;
  send(protocol::SnapshotBegin{m_snapshot.seq, !m_snapshot.resumed, rows, m_view});
  m_snapshot.begun = true;
}

bool SyncSession::pump_snapshot_page() {
  bool begun = false;
  {
    std::lock_guard lock(m_mutex);
    begun = m_snapshot.begun;
  }
  if (!begun) {
    begin_snapshot();
    return true;
  }
  storage::SnapshotRequest request;
  TableSchema schema;  // a copy: the catalog may change while the page is read
  rules::ReadAccess access;
  std::string table_name;
  std::uint64_t seq = 0;
  std::uint64_t catalog_version = 0;
  {
    std::lock_guard lock(m_mutex);
    auto view = m_tables.end();
    // Tables untracked since the snapshot started are skipped.
    while (m_snapshot.index < m_snapshot.tables.size() &&
           (view = m_tables.find(m_snapshot.tables[m_snapshot.index])) == m_tables.end()) {
      ++m_snapshot.index;
      m_snapshot.after.reset();
    }
    if (m_snapshot.index >= m_snapshot.tables.size()) {
      send(protocol::SnapshotEnd{protocol::Checkpoint{m_snapshot.seq, std::nullopt, {}}});
      m_cursor = m_snapshot.seq;
      m_checkpoint_sent = m_snapshot.seq;
      m_phase = Phase::catching_up;
      return true;
    }
    table_name = view->first;
    schema = view->second.schema;
    request.filter = view->second.access.rows;
    access = view->second.access;
    request.after_key = m_snapshot.after;
    request.limit = m_context.config.snapshot_batch_rows;
    seq = m_snapshot.seq;
    catalog_version = m_catalog_version;
  }
  request.table = &schema;
  storage::SnapshotPage page;
  try {
    page = m_context.datasource.read_snapshot(request);
  } catch (const Error&) {
    // A page read with a schema that changed meanwhile (a dropped column) is read again
    // with the new one; any other failure is the session's.
    std::lock_guard lock(m_mutex);
    if (m_catalog_version == catalog_version) throw;
    return m_phase == Phase::snapshot;
  }
  std::lock_guard lock(m_mutex);
  if (m_phase != Phase::snapshot) return false;
  // Rows read with an older schema could hold a dropped column: read the page again.
  if (m_catalog_version != catalog_version) return true;
  protocol::Checkpoint checkpoint{seq, protocol::Checkpoint::SnapshotCursor{table_name, {}}, {}};
  if (!page.rows.empty()) {
    checkpoint.snapshot->after = schema.key_of(page.rows.back());
  } else if (m_snapshot.after) {
    checkpoint.snapshot->after = *m_snapshot.after;
  }
  if (access.columns) {
    for (auto& row : page.rows)
      row = rules::Permissions::visible_part(row, access, schema);
  }
  if (!page.rows.empty() || page.done) {
    send(protocol::SnapshotRows{table_name, &page.rows, checkpoint});
    m_context.metrics.snapshot_rows_sent += page.rows.size();
  }
  if (page.done) {
    ++m_snapshot.index;
    m_snapshot.after.reset();
  } else {
    m_snapshot.after = checkpoint.snapshot->after;
  }
  return true;
}

bool SyncSession::pump_catch_up() {
  bool shifting = false;
  {
    std::lock_guard lock(m_mutex);
    shifting = m_membership_shift.has_value();
  }
  if (shifting) return send_membership_shift();
  std::uint64_t cursor;
  {
    std::lock_guard lock(m_mutex);
    cursor = m_cursor;
    if (cursor >= m_context.hub.head()) {
      m_phase = Phase::live;
      // The client learns where catch-up ended even when it could see none of the changes
      // on the way: a replica is synced once its checkpoint reaches the welcome's server_seq.
      if (m_checkpoint_sent < m_cursor) {
        send_frame(m_context.codec.encode_changes_frame({}, m_cursor));
        m_checkpoint_sent = m_cursor;
      }
      return false;
    }
  }
  // Recent changes come from the hub's ring (encoded once); older ones from the log.
  std::vector<ChangeBatchPtr> batches;
  if (auto recent = m_context.hub.since(cursor)) {
    batches = std::move(*recent);
  } else {
    auto changes = m_context.datasource.read_changes(cursor, kChangesPerFrame);
    auto batch = std::make_shared<ChangeBatch>();
    batch->after_seq = cursor;
    batch->last_seq = changes.empty() ? m_context.hub.head() : changes.back().seq;
    for (auto& change : changes) {
      auto encoded = m_context.codec.encode_change(change);
      batch->changes.push_back(PublishedChange{std::move(change), std::move(encoded)});
    }
    batches.push_back(std::move(batch));
  }
  std::lock_guard lock(m_mutex);
  if (m_phase != Phase::catching_up || m_cursor != cursor) return false;
  for (const auto& batch : batches) {
    std::vector<const PublishedChange*> pending;
    for (const auto& change : batch->changes) {
      if (change.change.seq > m_cursor) pending.push_back(&change);
    }
    send_changes(pending, batch->last_seq, batch.get());
    if (m_membership_shift) break;  // its rows go out first
  }
  return true;
}

bool SyncSession::send_membership_shift() {
  struct Affected {
    TableSchema schema;
    rules::ReadAccess access;
    storage::SnapshotRequest request;
  };
  std::vector<Affected> affected;
  MembershipShift shift;
  std::uint64_t cursor = 0;
  {
    std::lock_guard lock(m_mutex);
    if (!m_membership_shift) return true;
    shift = std::move(*m_membership_shift);
    m_membership_shift.reset();
    cursor = m_cursor;
    for (const auto& [name, view] : m_tables) {
      // The rows of the groups that came or went, in every column filtered by the membership.
      std::vector<RowFilter> of_groups;
      collect_membership_columns(view.access.rows, shift, of_groups);
      if (of_groups.empty()) continue;
      storage::SnapshotRequest request;
      request.filter = RowFilter::any_of(std::move(of_groups));
      request.limit = m_context.config.snapshot_batch_rows;
      affected.push_back(Affected{view.schema, view.access, std::move(request)});
    }
  }
  for (auto& table : affected) {
    table.request.table = &table.schema;
    for (;;) {
      auto page = m_context.datasource.read_snapshot(table.request);
      std::vector<std::string> encoded;
      for (const auto& row : page.rows) {
        sync::Change change;
        change.seq = shift.change.seq;
        change.table = table.schema.name;
        change.pk = table.schema.key_row(row);
        change.stamp = shift.change.stamp;
        change.committed_at_ms = shift.change.committed_at_ms;
        bool visible = rules::may_see(table.access, row, m_context.memberships);
        change.op = visible ? sync::Op::insert : sync::Op::remove;
        change.row = rules::Permissions::visible_part(row, table.access, table.schema);
        encoded.push_back(m_context.codec.encode_change(change));
      }
      std::lock_guard lock(m_mutex);
      if (m_phase != Phase::catching_up || m_cursor != cursor) return false;
      if (!encoded.empty()) {
        std::vector<std::string_view> parts(encoded.begin(), encoded.end());
        send_frame(m_context.codec.encode_changes_frame(parts, cursor - 1));
        m_context.metrics.changes_delivered += parts.size();
      }
      if (page.done || page.rows.empty()) break;
      table.request.after_key = table.schema.key_of(page.rows.back());
    }
  }
  std::lock_guard lock(m_mutex);
  if (m_phase != Phase::catching_up || m_cursor != cursor) return false;
  send_frame(m_context.codec.encode_changes_frame({}, cursor));  // the shift is complete
  m_checkpoint_sent = cursor;
  return true;
}

std::optional<SyncSession::MembershipShift> SyncSession::membership_shift(
    const sync::Change& change) const {
  for (const auto& membership : m_memberships) {
    if (membership.table != change.table) continue;
    // The groups the user is in by this row before and after the change.
    auto key_of_member = [&](const Row& row) -> std::optional<Value> {
      auto member = row.find(membership.member_column);
      auto key = row.find(membership.key_column);
      if (member == row.end() || key == row.end() || key->second.is_null()) return std::nullopt;
      if (compare_values(member->second, RowFilter::Op::eq, membership.member) != Truth::yes)
        return std::nullopt;
      return key->second;
    };
    auto after = change.op == sync::Op::remove ? std::nullopt : key_of_member(change.row);
    auto before = change.op == sync::Op::insert   ? std::nullopt
                  : change.op == sync::Op::remove ? key_of_member(change.row)
                                                  : key_of_member(rules::row_before(change));
    if (before == after) continue;
    MembershipShift shift{change, membership, {}};
    if (before) shift.keys.push_back(*before);
    if (after) shift.keys.push_back(*after);
    return shift;
  }
  return std::nullopt;
}

SubscriberRoutes SyncSession::routes() const {
  SubscriberRoutes routes;
  for (const auto& [name, view] : m_tables)
    routes.add_filter(name, view.access.rows);
  // The user's own rows of the membership tables their filters read: a change of one may
  // move them in or out of a group (membership_shift), whether they read the row or not.
  for (const auto& membership : m_memberships) {
    routes.by_value.push_back({membership.table, membership.member_column, membership.member});
  }
  return routes;
}

void SyncSession::on_batch(const ChangeBatchPtr& batch) {
  std::lock_guard lock(m_mutex);
  if (m_phase != Phase::live || batch->last_seq <= m_cursor) return;
  if (backpressured()) {
    // The client reads slower than changes arrive: catch up from the ring or the log once
    // the socket drains, instead of queueing without bound.
    m_phase = Phase::catching_up;
    m_waiting_for_drain = true;
    return;
  }
  // The hub skips the batches whose changes none of this session's routes find (the session
  // routes itself in apply_catalog, before it can be live): a gap up to this batch holds
  // nothing for this user.
  m_cursor = std::max(m_cursor, batch->after_seq);
  std::vector<const PublishedChange*> pending;
  pending.reserve(batch->changes.size());
  for (const auto& change : batch->changes) {
    if (change.change.seq > m_cursor) pending.push_back(&change);
  }
  send_changes(pending, batch->last_seq, batch.get());
}

const sync::Change* SyncSession::shaped(const PublishedChange& published, const TableSchema& table,
                                        std::optional<sync::Change>& copy) const {
  // The hub shaped it by the catalog this session has (the live path): nothing to check.
  if (published.catalog_version == m_catalog_version && m_catalog_version != 0) {
    return &published.change;
  }
  if (!has_stale_columns(published.change, table)) return &published.change;
  copy = published.change;
  drop_stale_columns(*copy, table);
  // An update that wrote only dropped columns changes nothing the client has.
  if (copy->op == sync::Op::update && copy->old.empty()) return nullptr;
  return &*copy;
}

std::size_t SyncSession::send_changes(const std::vector<const PublishedChange*>& changes,
                                      std::uint64_t last_seq, const ChangeBatch* batch) {
  // Only rows entering or leaving this user's view are encoded again; a deque keeps the
  // views in `parts` valid as it grows.
  std::deque<std::string> reencoded;
  std::vector<std::string_view> parts;
  std::size_t sent = 0;
  // Whether `parts` so far are the batch's changes as the hub encoded them, in order.
  bool as_published = batch != nullptr;
  auto flush = [&](std::uint64_t through) {
    if (as_published && batch->last_seq == through && parts.size() == batch->changes.size()) {
      send_frame(batch->whole_frame(m_context.codec));
      m_checkpoint_sent = through;
      sent += parts.size();
      parts.clear();
      return;
    }
    as_published = false;
    send_frame(m_context.codec.encode_changes_frame(parts, through));
    m_checkpoint_sent = through;
    sent += parts.size();
    parts.clear();
    reencoded.clear();
  };
  auto add = [&](const PublishedChange* published) {
    auto table = m_tables.find(published->change.table);
    if (table == m_tables.end()) return;  // not tracked (any more)
    std::optional<sync::Change> copy;
    const auto* shaped_change = shaped(*published, table->second.schema, copy);
    if (!shaped_change) return;
    // Judged on the whole change (a filter may read columns the user does not see), sent
    // without the hidden columns.
    const auto& access = table->second.access;
    auto visibility = rules::change_visibility(access, *shaped_change, m_context.memberships);
    if (visibility == rules::Visibility::hidden) return;
    if (access.columns) {
      auto shown = rules::visible_change(*shaped_change, access, table->second.schema);
      if (!shown && visibility == rules::Visibility::visible) return;  // only hidden columns
      if (!shown) {
        shown = *shaped_change;
        shown->row = rules::Permissions::visible_part(shown->row, access, table->second.schema);
        shown->old.clear();
      }
      copy = std::move(shown);
      shaped_change = &*copy;
    }
    const auto& change = *shaped_change;
    switch (visibility) {
      case rules::Visibility::hidden:
        return;
      case rules::Visibility::visible:
        if (copy) {
          as_published = false;
          reencoded.push_back(m_context.codec.encode_change(change));
          parts.emplace_back(reencoded.back());
        } else {
          parts.emplace_back(published->encoded);
        }
        break;
      case rules::Visibility::entered:
        as_published = false;
        reencoded.push_back(m_context.codec.encode_change_as(change, sync::Op::insert));
        parts.emplace_back(reencoded.back());
        break;
      case rules::Visibility::left:
        as_published = false;
        reencoded.push_back(m_context.codec.encode_change_as(row_before(change), sync::Op::remove));
        parts.emplace_back(reencoded.back());
        break;
    }
  };
  for (const auto* published : changes) {
    add(published);
    if (parts.size() >= kChangesPerFrame) flush(published->change.seq);
    if (auto shift = membership_shift(published->change)) {
      // The user's view of other tables changed here: the rows that enter or leave it go out
      // before any later change (pump_catch_up), and the stream resumes after this one. The
      // checkpoint stays before it until they are all out: a client that reconnects meanwhile
      // replays this change, and with it the shift.
      flush(published->change.seq - 1);
      m_cursor = published->change.seq;
      m_membership_shift = std::move(shift);
      m_context.metrics.changes_delivered += sent;
      if (m_phase == Phase::live) m_phase = Phase::catching_up;
      schedule_pump();
      return sent;
    }
  }
  auto now = std::chrono::steady_clock::now();
  if (!parts.empty() || now - m_last_frame >= kCheckpointInterval) flush(last_seq);
  m_cursor = last_seq;
  m_context.metrics.changes_delivered += sent;
  return sent;
}

void SyncSession::arm_token_deadline() {
  if (!m_claims->expires_at) {
    m_connection->cancel_deadline();  // auth.require_exp = false: the token never expires
    return;
  }
  const auto until = m_context.verifier->valid_until(*m_claims->expires_at);
  const auto left = until - std::chrono::system_clock::now();
  m_connection->set_deadline(std::chrono::steady_clock::now() +
                             std::chrono::ceil<std::chrono::steady_clock::duration>(left));
}

void SyncSession::on_deadline() {
  std::lock_guard lock(m_mutex);
  if (m_phase == Phase::closing || m_phase == Phase::closed) return;
  if (!m_claims) {
    // No error message: a client whose hello was merely slow must reconnect, not treat its
    // token as refused.
    log::debug("sync session closed: no hello in time",
               {{"remote", m_connection->remote_address()},
                {"timeout_s", static_cast<std::int64_t>(m_context.config.hello_timeout.count())}});
    m_phase = Phase::closing;
    m_connection->close(1008, fmt::format("hello timeout: no valid hello within {} s",
                                          m_context.config.hello_timeout.count()));
    return;
  }
  if (!m_claims->expires_at) return;
  const auto until = m_context.verifier->valid_until(*m_claims->expires_at);
  if (std::chrono::system_clock::now() < until) {
    arm_token_deadline();  // the system clock was set back meanwhile
    return;
  }
  send_error(ErrorCode::token_expired,
             fmt::format("token expired at {:%Y-%m-%dT%H:%M:%SZ}; reconnect with a fresh token",
                         fmt::gmtime(static_cast<std::time_t>(*m_claims->expires_at))),
             true);
}

void SyncSession::on_drain() {
  std::lock_guard lock(m_mutex);
  if (!m_waiting_for_drain) return;
  m_waiting_for_drain = false;
  schedule_pump();
}

void SyncSession::handle_push(protocol::Push& push) {
  std::unique_lock lock(m_mutex);
  if (!m_claims) {
    send_error(ErrorCode::unauthenticated, "send hello with a token before pushing", true);
    return;
  }
  if (m_shutdown_requested) {
    send_error(ErrorCode::shutting_down,
               "the server is shutting down; push again after reconnecting", false);
    return;
  }
  if (m_pending_pushes >= kMaxPendingPushes) {
    send_error(ErrorCode::rate_limited,
               fmt::format("at most {} pushes may wait for their acks; push again after an ack",
                           kMaxPendingPushes),
               false);
    return;
  }
  if (push.mutations.size() > m_context.config.max_push_mutations) {
    send_error(ErrorCode::bad_request,
               fmt::format("a push holds at most {} mutations; this one has {}",
                           m_context.config.max_push_mutations, push.mutations.size()),
               false);
    return;
  }
  storage::PushRequest request;
  request.client_id = m_client_id;
  request.user_id = m_claims->subject;
  request.mutations.reserve(push.mutations.size());
  for (auto& pushed : push.mutations) {
    request.mutations.push_back(
        storage::ClientMutation{pushed.client_seq, std::move(pushed.mutation)});
  }
  // Both run on the writer, one mutation after the other: authorize_result judges the row
  // the mutation authorize decided leaves, by the same action.
  auto decided = std::make_shared<rules::WriteAction>(rules::WriteAction::insert);
  // The newest rules decide, even before this session has seen them.
  auto catalog = m_context.hub.catalog();
  auto permissions = permissions_of(*catalog);
  request.authorize = [claims = *m_claims, permissions, memberships = m_context.memberships,
                       catalog, decided](const TableSchema& table, const Row* existing,
                                         sync::Mutation& mutation) {
    *decided = rules::Permissions::write_action(existing, mutation);
    return permissions->authorize_write(claims, table, existing, mutation, catalog_lookup(*catalog),
                                        memberships);
  };
  request.authorize_result = [claims = *m_claims, permissions, memberships = m_context.memberships,
                              catalog,
                              decided](const TableSchema& table, const Row& merged, bool inherits) {
    return permissions->authorize_result(claims, table, *decided, merged, inherits,
                                         catalog_lookup(*catalog), memberships);
  };
  m_context.metrics.mutations_received += request.mutations.size();
  ++m_pending_pushes;
  // The completion may run at once (a closing datasource) and takes the lock itself.
  lock.unlock();
  m_context.datasource.submit(std::move(request),
                              [self = shared_from_this()](storage::PushResult result) {
                                self->on_push_done(std::move(result));
                              });
}

void SyncSession::on_push_done(storage::PushResult result) {
  std::lock_guard lock(m_mutex);
  --m_pending_pushes;
  if (result.error) {
    bool fatal = result.error->code() == ErrorCode::forbidden;
    send_error(result.error->code(), std::string(result.error->message()), fatal);
  } else {
    protocol::Ack ack;
    ack.client_seq = result.acked_seq;
    for (auto& outcome : result.exceptions) {
      protocol::AckException item;
      item.client_seq = outcome.client_seq;
      item.rejected = outcome.kind == storage::MutationOutcome::Kind::rejected;
      item.code = outcome.code;
      item.message = std::move(outcome.message);
      item.table = std::move(outcome.table);
      item.pk = std::move(outcome.pk);
      item.row_omitted = outcome.row_omitted;
      auto table = m_tables.find(item.table);
      // The current row goes back only if this user may see it, and only what they may see.
      if (outcome.current_row && table != m_tables.end() &&
          rules::may_see(table->second.access, *outcome.current_row, m_context.memberships)) {
        item.row = rules::Permissions::visible_part(*outcome.current_row, table->second.access,
                                                    table->second.schema);
      }
      if (item.rejected) m_context.metrics.mutations_rejected++;
      ack.exceptions.push_back(std::move(item));
    }
    send(ack);
    m_context.metrics.pushes_acked++;
  }
  close_if_shut_down();
}

void SyncSession::on_shutdown() {
  std::lock_guard lock(m_mutex);
  m_shutdown_requested = true;
  // While starting, start() sends the welcome and the acks held for it, then closes.
  if (m_phase != Phase::closed && m_phase != Phase::starting) m_phase = Phase::closing;
  close_if_shut_down();
}

void SyncSession::close_if_shut_down() {
  // Acks for pushes already submitted still go out first: their writes are committed or
  // about to be, and a client that gets its ack will not resend them.
  if (m_shutdown_requested && m_pending_pushes == 0 && m_phase != Phase::starting && m_connection) {
    m_connection->close(1001, "server shutting down");
  }
}

void SyncSession::on_close(const net::CloseInfo&) {
  {
    std::lock_guard lock(m_mutex);
    if (m_phase == Phase::closed) return;
    m_phase = Phase::closed;
    m_context.metrics.sessions_active--;
  }
  m_context.hub.unsubscribe(this);
}

void SyncSession::send(const protocol::ServerMessage& message) {
  send_frame(m_context.codec.encode(message));
}

void SyncSession::send_frame(std::string frame) {
  send_frame(std::make_shared<const std::string>(std::move(frame)));
}

void SyncSession::send_frame(std::shared_ptr<const std::string> frame) {
  if (!m_connection || m_phase == Phase::closed) return;
  if (m_phase == Phase::starting) {
    // Acks and pongs of messages sent right after hello follow the welcome.
    if (m_held_frames.size() >= kMaxHeldFrames) {
      m_phase = Phase::closing;
      m_connection->close(1008, "too many messages before the welcome");
      return;
    }
    m_held_frames.push_back(std::move(frame));
    return;
  }
  m_context.metrics.frames_sent++;
  m_context.metrics.bytes_sent += frame->size();
  m_last_frame = std::chrono::steady_clock::now();
  m_connection->send_text(std::move(frame));
}

void SyncSession::send_error(ErrorCode code, std::string message, bool fatal) {
  m_context.metrics.protocol_errors++;
  if (!fatal && ++m_errors > kMaxProtocolErrors) {
    fatal = true;
    message = "too many protocol errors: " + message;
  }
  if (fatal && m_phase == Phase::starting) m_phase = Phase::closing;  // say it at once
  send(protocol::ErrorMessage{code, std::move(message), fatal});
  if (fatal && m_connection) {
    m_phase = Phase::closing;
    m_connection->close(1008, std::string(error_code_name(code)));
  }
}

bool SyncSession::backpressured() const {
  return m_connection && m_connection->queued_bytes() > kHighWaterBytes;
}

}  // namespace tandem::server
