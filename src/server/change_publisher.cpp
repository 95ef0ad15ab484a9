#include "server/change_publisher.h"

#include <algorithm>

#include "common/logging.h"
#include "common/thread_role.h"

namespace tandem::server {

void ChangePublisher::start() {
  std::lock_guard lock(m_publish_mutex);
  m_published = m_datasource.head_seq();
  // After the head: what the observer reads is at least as new, and the changes after the
  // head that it already holds are applied again (idempotently) as they are published.
  if (m_observer) m_observer->starting(m_datasource);
  refresh_catalog_locked();
  m_hub.publish(m_published, m_published, {});
  m_thread = std::thread([this] { run(); });
}

void ChangePublisher::refresh_catalog() {
  std::lock_guard lock(m_publish_mutex);
  refresh_catalog_locked();
}

void ChangePublisher::between_batches(const std::function<void()>& step) {
  std::lock_guard lock(m_publish_mutex);
  step();
}

void ChangePublisher::refresh_catalog_locked() {
  auto tables = m_datasource.tables();
  if (m_observer) m_observer->tables_read(m_datasource, tables);
  if (m_hub.set_catalog(tables)) {
    log::info("tracked tables changed", {{"catalog_version", m_hub.catalog()->version}});
  }
}

void ChangePublisher::stop() {
  m_stopping = true;
  if (m_thread.joinable()) m_thread.join();
}

void ChangePublisher::run() {
  set_thread_role(ThreadRole::publisher);
  constexpr std::size_t kBatch = 2000;
  while (!m_stopping) {
    try {
      auto head = m_datasource.wait_for_changes(m_published, std::chrono::milliseconds(200));
      while (!m_stopping && head > m_published) {
        auto changes = m_datasource.read_changes(m_published, kBatch);
        std::lock_guard lock(m_publish_mutex);
        refresh_catalog_locked();
        // A full batch ends at its last change. A short one holds every change up to the head
        // read_changes saw (at least `head`), so the position may move to `head` even across
        // gaps (sequence numbers of rolled-back transactions are never used).
        std::uint64_t last = changes.empty() ? head : changes.back().seq;
        if (changes.size() < kBatch) last = std::max(last, head);
        if (m_observer) m_observer->before_publish(changes);
        m_hub.publish(m_published, last, std::move(changes));
        m_published = last;
      }
      std::lock_guard lock(m_publish_mutex);
      m_hub.publish_position();
    } catch (const std::exception& error) {
      log::error("change publisher failed; retrying", {{"error", error.what()}});
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
}

}  // namespace tandem::server
