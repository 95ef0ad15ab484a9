#include "compat/esink/socket_directory.h"

#include <algorithm>

namespace tandem::compat::esink {
namespace {

const Entries& no_entries() {
  static const Entries empty = std::make_shared<const std::vector<DirectoryEntry>>();
  return empty;
}

Entries with(const Entries& entries, const DirectoryEntry& entry) {
  auto copy = std::make_shared<std::vector<DirectoryEntry>>(*entries);
  copy->push_back(entry);
  return copy;
}

Entries without(const Entries& entries, const socketio::Socket* socket) {
  auto copy = std::make_shared<std::vector<DirectoryEntry>>(*entries);
  std::erase_if(*copy, [socket](const auto& entry) { return entry.socket.get() == socket; });
  return copy;
}

}  // namespace

void SocketDirectory::add(const DirectoryEntry& entry) {
  std::lock_guard lock(m_mutex);
  m_everyone = with(m_everyone, entry);
  auto& of_user = m_by_user[entry.user_key];
  of_user = with(of_user ? of_user : no_entries(), entry);
}

void SocketDirectory::remove(const socketio::Socket* socket) {
  std::lock_guard lock(m_mutex);
  const auto found =
      std::find_if(m_everyone->begin(), m_everyone->end(),
                   [socket](const auto& entry) { return entry.socket.get() == socket; });
  if (found == m_everyone->end()) return;
  const auto user = m_by_user.find(found->user_key);
  m_everyone = without(m_everyone, socket);
  if (user == m_by_user.end()) return;
  user->second = without(user->second, socket);
  if (user->second->empty()) m_by_user.erase(user);
}

Entries SocketDirectory::everyone() const {
  std::lock_guard lock(m_mutex);
  return m_everyone;
}

Entries SocketDirectory::of_user(const std::string& user_key) const {
  std::lock_guard lock(m_mutex);
  const auto found = m_by_user.find(user_key);
  return found == m_by_user.end() ? no_entries() : found->second;
}

std::size_t SocketDirectory::size() const {
  std::lock_guard lock(m_mutex);
  return m_everyone->size();
}

}  // namespace tandem::compat::esink
