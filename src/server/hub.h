// Fan-out of captured changes to live sessions (docs/architecture.md, "Fan-out").
//
// The publisher hands each batch of changes to the hub once; the hub encodes every change
// once (not once per subscriber), keeps recent batches in a bounded ring so that a session
// that fell a little behind catches up from memory, and notifies subscribers. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "sync/change.h"

namespace tandem::server {

struct PublishedChange {
  sync::Change change;
  std::string encoded;  // the wire form, encoded once
};

struct ChangeBatch {
  std::uint64_t after_seq = 0;  // the log position before the batch
  std::uint64_t last_seq = 0;   // the log position after it
  std::vector<PublishedChange> changes;
};
using ChangeBatchPtr = std::shared_ptr<const ChangeBatch>;

class HubSubscriber {
 public:
  virtual ~HubSubscriber() = default;
  // Called on the publisher thread: must not block (queue work, send, return).
  virtual void on_batch(const ChangeBatchPtr& batch) = 0;
};

class Hub {
 public:
  Hub(const protocol::Codec& codec, std::size_t ring_changes = 100'000);

  void subscribe(const std::shared_ptr<HubSubscriber>& subscriber);
  void unsubscribe(const HubSubscriber* subscriber);

  // Publishes changes that follow `after_seq` up to `last_seq` (changes may be empty when
  // only the position moved). Batches must be published in log order.
  void publish(std::uint64_t after_seq, std::uint64_t last_seq, std::vector<sync::Change> changes);

  // Batches holding every change after `seq`, if the ring still has them all.
  std::optional<std::vector<ChangeBatchPtr>> since(std::uint64_t seq) const;

  std::uint64_t head() const;
  std::size_t subscriber_count() const;
  const protocol::Codec& codec() const { return m_codec; }

 private:
  const protocol::Codec& m_codec;
  std::size_t m_ring_capacity;
  mutable std::mutex m_mutex;
  std::deque<ChangeBatchPtr> m_ring;
  std::size_t m_ring_changes = 0;
  std::uint64_t m_head = 0;
  bool m_has_published = false;
  std::vector<std::weak_ptr<HubSubscriber>> m_subscribers;
};

}  // namespace tandem::server
