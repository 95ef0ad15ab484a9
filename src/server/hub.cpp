#include "server/hub.h"

#include <algorithm>

#include "common/row_size.h"

namespace tandem::server {

std::shared_ptr<const std::string> ChangeBatch::whole_frame(const protocol::Codec& codec) const {
  std::call_once(m_whole_frame_once, [&] {
    std::vector<std::string_view> parts;
    parts.reserve(changes.size());
    for (const auto& change : changes)
      parts.emplace_back(change.encoded);
    m_whole_frame =
        std::make_shared<const std::string>(codec.encode_changes_frame(parts, last_seq));
  });
  return m_whole_frame;
}

Hub::Hub(const protocol::Codec& codec, std::size_t ring_changes, std::size_t ring_bytes)
    : m_codec(codec), m_ring_capacity(ring_changes), m_ring_byte_capacity(ring_bytes) {}

Subscription Hub::subscribe(const std::shared_ptr<HubSubscriber>& subscriber) {
  std::lock_guard lock(m_mutex);
  m_subscribers.insert_or_assign(subscriber.get(), subscriber);
  m_unrouted.insert(subscriber.get());
  return Subscription{m_catalog, m_head};
}

void Hub::unsubscribe(const HubSubscriber* subscriber) {
  std::lock_guard lock(m_mutex);
  m_subscribers.erase(subscriber);
  m_unrouted.erase(subscriber);
  m_fanout.remove(subscriber);
}

void Hub::route(const HubSubscriber* subscriber, const SubscriberRoutes& routes) {
  std::lock_guard lock(m_mutex);
  if (!m_subscribers.contains(subscriber)) return;  // unsubscribed meanwhile
  m_fanout.set(subscriber, routes);
  m_unrouted.erase(subscriber);
}

void Hub::set_memberships(const MembershipIndex* memberships) {
  std::lock_guard lock(m_mutex);
  m_memberships = memberships;
}

std::vector<std::shared_ptr<HubSubscriber>> Hub::live_subscribers() {
  std::vector<std::shared_ptr<HubSubscriber>> targets;
  targets.reserve(m_subscribers.size());
  for (auto it = m_subscribers.begin(); it != m_subscribers.end();) {
    if (auto strong = it->second.lock()) {
      targets.push_back(std::move(strong));
      ++it;
    } else {
      m_unrouted.erase(it->first);
      m_fanout.remove(it->first);
      it = m_subscribers.erase(it);
    }
  }
  return targets;
}

std::vector<std::shared_ptr<HubSubscriber>> Hub::targets_of(const ChangeBatch& batch) {
  std::set<const HubSubscriber*> concerned(m_unrouted.begin(), m_unrouted.end());
  for (const auto& published : batch.changes)
    m_fanout.concerned(published.change, m_memberships, concerned);
  std::vector<std::shared_ptr<HubSubscriber>> targets;
  targets.reserve(concerned.size());
  for (const auto* subscriber : concerned) {
    auto found = m_subscribers.find(subscriber);
    if (found == m_subscribers.end()) continue;
    if (auto strong = found->second.lock()) targets.push_back(std::move(strong));
  }
  return targets;
}

std::pair<ChangeBatchPtr, std::vector<std::shared_ptr<HubSubscriber>>> Hub::position_slice() {
  auto now = std::chrono::steady_clock::now();
  if (!m_has_published || now - m_last_slice < kPositionInterval / kPositionSlices) return {};
  m_last_slice = now;
  if (m_position_round.empty()) {
    // A new round once the last one has taken its second, if the head moved since.
    if (now - m_round_started < kPositionInterval || m_round_head == m_head) return {};
    m_round_started = now;
    m_round_head = m_head;
    // Unrouted subscribers get every batch: they know the position already.
    for (auto& subscriber : live_subscribers()) {
      if (!m_unrouted.contains(subscriber.get()))
        m_position_round.emplace_back(std::move(subscriber));
    }
    m_slice_size = (m_position_round.size() + kPositionSlices - 1) / kPositionSlices;
  }
  std::vector<std::shared_ptr<HubSubscriber>> due;
  while (!m_position_round.empty() && due.size() < m_slice_size) {
    if (auto strong = m_position_round.back().lock()) due.push_back(std::move(strong));
    m_position_round.pop_back();
  }
  auto batch = std::make_shared<ChangeBatch>();
  batch->after_seq = m_head;
  batch->last_seq = m_head;
  return {std::move(batch), std::move(due)};
}

void Hub::deliver(const ChangeBatchPtr& batch,
                  const std::vector<std::shared_ptr<HubSubscriber>>& to) {
  for (const auto& subscriber : to)
    subscriber->on_batch(batch);
}

void Hub::publish_position() {
  std::lock_guard in_order(m_deliver_mutex);
  std::pair<ChangeBatchPtr, std::vector<std::shared_ptr<HubSubscriber>>> position;
  {
    std::lock_guard lock(m_mutex);
    position = position_slice();
  }
  if (position.first) deliver(position.first, position.second);
}

bool Hub::set_catalog(const std::vector<TableSchema>& tables) {
  std::lock_guard in_order(m_deliver_mutex);
  CatalogPtr updated;
  std::vector<std::shared_ptr<HubSubscriber>> targets;
  {
    std::lock_guard lock(m_mutex);
    auto next = Catalog::from(m_catalog->version + 1, tables);
    if (next.tables == m_catalog->tables) return false;
    next.permissions = m_catalog->permissions;
    updated = std::make_shared<const Catalog>(std::move(next));
    m_catalog = updated;
    targets = live_subscribers();
  }
  for (const auto& subscriber : targets)
    subscriber->on_catalog(updated);
  return true;
}

void Hub::set_permissions(PermissionsPtr permissions) {
  std::lock_guard in_order(m_deliver_mutex);
  CatalogPtr updated;
  std::vector<std::shared_ptr<HubSubscriber>> targets;
  {
    std::lock_guard lock(m_mutex);
    Catalog next = *m_catalog;
    ++next.version;
    next.permissions = std::move(permissions);
    updated = std::make_shared<const Catalog>(std::move(next));
    m_catalog = updated;
    targets = live_subscribers();
  }
  for (const auto& subscriber : targets)
    subscriber->on_catalog(updated);
}

CatalogPtr Hub::catalog() const {
  std::lock_guard lock(m_mutex);
  return m_catalog;
}

void Hub::publish(std::uint64_t after_seq, std::uint64_t last_seq,
                  std::vector<sync::Change> changes) {
  std::lock_guard in_order(m_deliver_mutex);
  auto catalog = this->catalog();  // only set_catalog changes it, and it waits for us
  auto batch = std::make_shared<ChangeBatch>();
  batch->after_seq = after_seq;
  batch->last_seq = last_seq;
  batch->changes.reserve(changes.size());
  for (auto& change : changes) {
    if (const auto* table = catalog->find(change.table);
        table && has_stale_columns(change, *table)) {
      drop_stale_columns(change, *table);
    }
    auto encoded = m_codec.encode_change(change);
    // The change, its encoding and its share of the batch's frame.
    batch->approximate_bytes += approximate_size(change.pk) + approximate_size(change.row) +
                                approximate_size(change.old) + 2 * encoded.size();
    batch->changes.push_back(
        PublishedChange{std::move(change), std::move(encoded), catalog->version});
  }
  std::vector<std::shared_ptr<HubSubscriber>> targets;
  std::pair<ChangeBatchPtr, std::vector<std::shared_ptr<HubSubscriber>>> position;
  {
    std::lock_guard lock(m_mutex);
    m_ring.push_back(batch);
    m_ring_changes += batch->changes.size();
    m_ring_bytes += batch->approximate_bytes;
    // Keep at least the newest batch so that since(head) stays answerable.
    while (m_ring.size() > 1 &&
           (m_ring_changes > m_ring_capacity || m_ring_bytes > m_ring_byte_capacity)) {
      m_ring_changes -= m_ring.front()->changes.size();
      m_ring_bytes -= m_ring.front()->approximate_bytes;
      m_ring.pop_front();
    }
    m_head = last_seq;
    m_has_published = true;
    targets = targets_of(*batch);
    position = position_slice();
  }
  deliver(batch, targets);
  if (position.first) deliver(position.first, position.second);
}

std::optional<std::vector<ChangeBatchPtr>> Hub::since(std::uint64_t seq) const {
  std::lock_guard lock(m_mutex);
  if (!m_has_published || m_ring.empty() || m_ring.front()->after_seq > seq) return std::nullopt;
  std::vector<ChangeBatchPtr> result;
  for (const auto& batch : m_ring) {
    if (batch->last_seq > seq) result.push_back(batch);
  }
  return result;
}

std::uint64_t Hub::head() const {
  std::lock_guard lock(m_mutex);
  return m_head;
}

std::size_t Hub::ring_bytes() const {
  std::lock_guard lock(m_mutex);
  return m_ring_bytes;
}

std::size_t Hub::subscriber_count() const {
  std::lock_guard lock(m_mutex);
  return m_subscribers.size();
}

}  // namespace tandem::server
