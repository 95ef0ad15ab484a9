// Caps on open connections, overall and per client address; internal.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/error.h"

namespace tandem::net {

class ConnectionLimiter;

// Why a connection is refused: the HTTP status and error code of the answer to its first
// request, and the message.
struct Refusal {
  int status;
  ErrorCode code;
  std::string message;
};

// One accepted connection's place in the count; releases it when destroyed. Move-only: the
// HTTP session holds it, and hands it to the WebSocket session after an upgrade. Not
// thread-safe itself (one owner at a time).
class ConnectionTicket {
 public:
  enum class Kind {
    none,  // moved from; counts nothing
    admitted,
    refused,  // gets `refusal()` as the answer to its first request, then closes
    dropped,  // too many refusals in progress: close at once, without an answer
  };

  ConnectionTicket() = default;
  ~ConnectionTicket();
  ConnectionTicket(ConnectionTicket&& other) noexcept;
  ConnectionTicket& operator=(ConnectionTicket&& other) noexcept;
  ConnectionTicket(const ConnectionTicket&) = delete;
  ConnectionTicket& operator=(const ConnectionTicket&) = delete;

  Kind kind() const { return m_kind; }
  // Set for Kind::refused.
  const std::optional<Refusal>& refusal() const { return m_refusal; }

 private:
  friend class ConnectionLimiter;
  ConnectionTicket(ConnectionLimiter* limiter, Kind kind, std::string address,
                   std::optional<Refusal> refusal);
  void release();

  ConnectionLimiter* m_limiter = nullptr;
  Kind m_kind = Kind::none;
  std::string m_address;
  std::optional<Refusal> m_refusal;
};

// Thread-safe. Counts every accepted connection (HTTP, WebSocket, Socket.IO alike: the caps
// apply to the socket, whatever it speaks) from accept until its socket closes. Must outlive
// every ticket it issued.
class ConnectionLimiter {
 public:
  // A cap of 0 means no cap.
  ConnectionLimiter(std::size_t max_total, std::size_t max_per_address);

  // Changes the overall cap (see fit_to_fd_limit); for connections admitted from now on.
  void set_max_total(std::size_t max_total);
  std::size_t max_total() const;

  // Counts a new connection from `address` (an IP address, without the port). A connection
  // over a cap is refused (503 when the server is full, 429 when its address is); it does
  // not count toward the caps, but at most kMaxRefusing refusals are in progress at once,
  // beyond which connections are dropped unanswered, so that refused connections cannot
  // exhaust the file descriptors that the caps protect.
  ConnectionTicket admit(const std::string& address);

  std::size_t open() const;
  std::size_t open_from(const std::string& address) const;

  static constexpr std::size_t kMaxRefusing = 64;

 private:
  friend class ConnectionTicket;
  void release(ConnectionTicket::Kind kind, const std::string& address);

  mutable std::mutex m_mutex;
  std::size_t m_max_total;
  const std::size_t m_max_per_address;
  std::size_t m_open = 0;
  std::size_t m_refusing = 0;
  std::map<std::string, std::size_t, std::less<>> m_per_address;  // only addresses with some
};

// The overall cap the process's file descriptor limit allows: raises the soft RLIMIT_NOFILE
// towards the hard limit when `wanted` (0: as many as possible) needs it, and keeps room for
// the descriptors the server uses otherwise (database connections, files, refusals). Returns
// `wanted` when the limit allows it, else the lower cap that fits.
std::size_t fit_to_fd_limit(std::size_t wanted);

}  // namespace tandem::net
