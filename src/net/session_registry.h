// The live connections of one server, so that stop() can reach them; internal.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "net/session.h"

namespace tandem::net {

// Thread-safe. Holds weak references: a session's lifetime is owned by its pending
// asynchronous operations, never by the registry.
class SessionRegistry {
 public:
  // Refused (false) once stopping began: the caller drops the connection.
  bool add(std::uint64_t id, std::weak_ptr<Session> session);
  // Hands an id over to another session object (HTTP -> WebSocket upgrade); allowed while
  // stopping because the connection was already counted.
  void replace(std::uint64_t id, std::weak_ptr<Session> session);
  void remove(std::uint64_t id);

  // Marks the registry as stopping and returns the live sessions. `on_empty` runs once, as
  // soon as no session is left (possibly right away, on the calling thread).
  std::vector<std::shared_ptr<Session>> begin_stop(std::function<void()> on_empty);
  std::vector<std::shared_ptr<Session>> snapshot() const;
  std::size_t size() const;

 private:
  std::vector<std::shared_ptr<Session>> live_locked() const;
  std::function<void()> take_on_empty_locked();

  mutable std::mutex m_mutex;
  std::map<std::uint64_t, std::weak_ptr<Session>> m_sessions;
  bool m_stopping = false;
  std::function<void()> m_on_empty;
};

}  // namespace tandem::net
