#include "net/session_registry.h"

#include <utility>

namespace tandem::net {

bool SessionRegistry::add(std::uint64_t id, std::weak_ptr<Session> session) {
  std::lock_guard lock(m_mutex);
  if (m_stopping) return false;
  m_sessions.insert_or_assign(id, std::move(session));
  return true;
}

void SessionRegistry::replace(std::uint64_t id, std::weak_ptr<Session> session) {
  std::lock_guard lock(m_mutex);
  m_sessions.insert_or_assign(id, std::move(session));
}

void SessionRegistry::remove(std::uint64_t id) {
  std::function<void()> on_empty;
  {
    std::lock_guard lock(m_mutex);
    if (m_sessions.erase(id) == 0) return;
    on_empty = take_on_empty_locked();
  }
  // Outside the lock: the callback may stop the io_context, which must not deadlock with a
  // session removing itself on another thread.
  if (on_empty) on_empty();
}

std::vector<std::shared_ptr<Session>> SessionRegistry::begin_stop(std::function<void()> on_empty) {
  std::vector<std::shared_ptr<Session>> live;
  std::function<void()> fire_now;
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_on_empty = std::move(on_empty);
    live = live_locked();
    fire_now = take_on_empty_locked();
  }
  if (fire_now) fire_now();
  return live;
}

std::vector<std::shared_ptr<Session>> SessionRegistry::snapshot() const {
  std::lock_guard lock(m_mutex);
  return live_locked();
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(m_mutex);
  return m_sessions.size();
}

std::vector<std::shared_ptr<Session>> SessionRegistry::live_locked() const {
  std::vector<std::shared_ptr<Session>> live;
  live.reserve(m_sessions.size());
  for (const auto& [id, weak] : m_sessions) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

std::function<void()> SessionRegistry::take_on_empty_locked() {
  if (!m_stopping || !m_sessions.empty() || !m_on_empty) return {};
  return std::exchange(m_on_empty, nullptr);
}

}  // namespace tandem::net
