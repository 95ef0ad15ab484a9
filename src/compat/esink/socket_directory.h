// The authorised Socket.IO connections, by user. Readers take an immutable snapshot (one
// shared_ptr copy under a mutex), so fan-out never holds a lock while it sends.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/token.h"
#include "compat/socketio/socketio_server.h"

namespace tandem::compat::esink {

struct DirectoryEntry {
  std::string session_id;  // Esink's sessionId (reported by `connected` and /publish)
  std::string user_key;    // the user's id as routing compares it
  std::shared_ptr<socketio::Socket> socket;
  // What the permission engine knows of the user (esink_claims); never null.
  std::shared_ptr<const auth::Claims> claims;
};
using Entries = std::shared_ptr<const std::vector<DirectoryEntry>>;

class SocketDirectory {
 public:
  void add(const DirectoryEntry& entry);
  void remove(const socketio::Socket* socket);

  Entries everyone() const;
  Entries of_user(const std::string& user_key) const;  // never null (empty when none)
  std::size_t size() const;

 private:
  mutable std::mutex m_mutex;
  Entries m_everyone = std::make_shared<const std::vector<DirectoryEntry>>();
  std::map<std::string, Entries, std::less<>> m_by_user;
};

}  // namespace tandem::compat::esink
