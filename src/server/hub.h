// Fan-out of captured changes to live sessions (docs/architecture.md, "Fan-out").
//
// The publisher hands each batch of changes to the hub once; the hub encodes every change
// once (not once per subscriber), keeps recent batches in a bounded ring so that a session
// that fell a little behind catches up from memory, and notifies subscribers. Thread-safe.
//
// A batch goes only to the subscribers its changes may concern (fanout_index.h) and to those
// that gave no routes (they get every batch). Every subscriber also gets, about once a second,
// an empty batch up to the head, so that it learns the log's position (protocol checkpoints):
// a tenth of them every 100 ms, so that no batch waits behind all of them at once.
//
// The hub also holds the catalog (the tracked tables' schemas) of the stream. Catalog
// updates and batches reach every subscriber in the order they were made, so a subscriber
// learns about a table before any change to it, and a change published after a catalog is
// shaped by it (columns the catalog no longer has are dropped before encoding).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/codec.h"
#include "server/catalog.h"
#include "server/fanout_index.h"
#include "sync/change.h"

namespace tandem::server {

struct PublishedChange {
  sync::Change change;
  std::string encoded;  // the wire form, encoded once
  // The catalog it was shaped by (0: none, e.g. read from the log by a catching-up session).
  std::uint64_t catalog_version = 0;
};

struct ChangeBatch {
  std::uint64_t after_seq = 0;  // the log position before the batch
  std::uint64_t last_seq = 0;   // the log position after it
  std::vector<PublishedChange> changes;
  // Roughly what the batch holds in memory, its shared frame included once built: what
  // the hub's ring counts against its bound.
  std::size_t approximate_bytes = 0;

  // The `changes` frame of every change, through last_seq: what each session that sees the
  // whole batch unchanged (public tables, admins) sends. Built once, by the first session
  // that needs it, and shared by all of them. Thread-safe.
  std::shared_ptr<const std::string> whole_frame(const protocol::Codec& codec) const;

 private:
  mutable std::once_flag m_whole_frame_once;
  mutable std::shared_ptr<const std::string> m_whole_frame;
};
using ChangeBatchPtr = std::shared_ptr<const ChangeBatch>;

class HubSubscriber {
 public:
  virtual ~HubSubscriber() = default;
  // Called on the publisher thread: must not block (queue work, send, return).
  virtual void on_batch(const ChangeBatchPtr& batch) = 0;
  // The catalog changed; called on the thread that changed it, before any batch shaped by
  // it. Same rules as on_batch.
  virtual void on_catalog(const CatalogPtr& catalog) = 0;
};

// What a subscriber starts from: the catalog and the head, taken together, so that every
// change after `head` reaches it after a catalog that knows the change's table.
struct Subscription {
  CatalogPtr catalog;
  std::uint64_t head = 0;
};

class Hub {
 public:
  // The ring keeps the newest batches within both bounds (and always the newest batch):
  // older changes are read from the log. The bytes bound is what a peer can grow: a few
  // large rows must not hold hundreds of MiB after their readers are gone.
  explicit Hub(const protocol::Codec& codec, std::size_t ring_changes = 100'000,
               std::size_t ring_bytes = 64 << 20);

  Subscription subscribe(const std::shared_ptr<HubSubscriber>& subscriber);
  void unsubscribe(const HubSubscriber* subscriber);
  // From now on the subscriber gets only the batches with a change its routes find (and the
  // periodic ones for everybody). A subscriber changes its routes in on_catalog, so that the
  // next batch is routed by the routes of the new catalog.
  void route(const HubSubscriber* subscriber, const SubscriberRoutes& routes);
  // What resolves membership routes (set once, before publishing starts); without it, a
  // membership route finds every change of its table.
  void set_memberships(const MembershipIndex* memberships);

  // Publishes changes that follow `after_seq` up to `last_seq` (changes may be empty when
  // only the position moved). Batches must be published in log order.
  void publish(std::uint64_t after_seq, std::uint64_t last_seq, std::vector<sync::Change> changes);
  // While no change arrives: hands the subscribers whose turn it is an empty batch up to the
  // head. Called by the publisher between batches.
  void publish_position();

  // Replaces the catalog when `tables` differ from it (new version, subscribers notified);
  // returns whether it changed. Callers order it with publish() (one publisher thread).
  bool set_catalog(const std::vector<TableSchema>& tables);
  // Makes `permissions` the rules of a new catalog version with the same tables (subscribers
  // notified). Callers order it with publish() like set_catalog.
  void set_permissions(PermissionsPtr permissions);
  CatalogPtr catalog() const;

  // Batches holding every change after `seq`, if the ring still has them all.
  std::optional<std::vector<ChangeBatchPtr>> since(std::uint64_t seq) const;

  std::uint64_t head() const;
  std::size_t subscriber_count() const;
  std::size_t ring_bytes() const;
  const protocol::Codec& codec() const { return m_codec; }

 private:
  static constexpr std::chrono::milliseconds kPositionInterval{1000};
  static constexpr int kPositionSlices = 10;

  std::vector<std::shared_ptr<HubSubscriber>> live_subscribers();  // m_mutex held
  // Those `batch` concerns (m_mutex held).
  std::vector<std::shared_ptr<HubSubscriber>> targets_of(const ChangeBatch& batch);
  // The subscribers due for a position batch now, and that batch (m_mutex held).
  std::pair<ChangeBatchPtr, std::vector<std::shared_ptr<HubSubscriber>>> position_slice();
  void deliver(const ChangeBatchPtr& batch, const std::vector<std::shared_ptr<HubSubscriber>>& to);

  const protocol::Codec& m_codec;
  std::size_t m_ring_capacity;
  std::size_t m_ring_byte_capacity;
  // Held while a batch or a catalog is delivered, so that subscribers see them in order.
  std::mutex m_deliver_mutex;
  mutable std::mutex m_mutex;
  CatalogPtr m_catalog = std::make_shared<const Catalog>();
  std::deque<ChangeBatchPtr> m_ring;
  std::size_t m_ring_changes = 0;
  std::size_t m_ring_bytes = 0;
  std::uint64_t m_head = 0;
  bool m_has_published = false;
  std::unordered_map<const HubSubscriber*, std::weak_ptr<HubSubscriber>> m_subscribers;
  std::set<const HubSubscriber*> m_unrouted;  // they get every batch
  FanoutIndex m_fanout;
  const MembershipIndex* m_memberships = nullptr;
  // The subscribers still to be given the position in this round, and the round's pace.
  std::vector<std::weak_ptr<HubSubscriber>> m_position_round;
  std::size_t m_slice_size = 0;
  std::chrono::steady_clock::time_point m_round_started{};
  std::chrono::steady_clock::time_point m_last_slice{};
  std::uint64_t m_round_head = 0;  // the head when the round started
};

}  // namespace tandem::server
