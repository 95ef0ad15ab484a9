#include "net/connection_limiter.h"

#include <sys/resource.h>

#include <algorithm>
#include <utility>

#include "common/logging.h"

namespace tandem::net {
namespace {

// Descriptors kept free of connections: refusals in progress, the datasource's connections
// and files, the log, the event loop.
constexpr std::size_t kReservedDescriptors = ConnectionLimiter::kMaxRefusing + 128;

}  // namespace

ConnectionTicket::ConnectionTicket(ConnectionLimiter* limiter, Kind kind, std::string address,
                                   std::optional<Refusal> refusal)
    : m_limiter(limiter),
      m_kind(kind),
      m_address(std::move(address)),
      m_refusal(std::move(refusal)) {}

ConnectionTicket::~ConnectionTicket() {
  release();
}

ConnectionTicket::ConnectionTicket(ConnectionTicket&& other) noexcept
    : m_limiter(std::exchange(other.m_limiter, nullptr)),
      m_kind(std::exchange(other.m_kind, Kind::none)),
      m_address(std::move(other.m_address)),
      m_refusal(std::move(other.m_refusal)) {}

ConnectionTicket& ConnectionTicket::operator=(ConnectionTicket&& other) noexcept {
  if (this != &other) {
    release();
    m_limiter = std::exchange(other.m_limiter, nullptr);
    m_kind = std::exchange(other.m_kind, Kind::none);
    m_address = std::move(other.m_address);
    m_refusal = std::move(other.m_refusal);
  }
  return *this;
}

void ConnectionTicket::release() {
  if (m_limiter) m_limiter->release(m_kind, m_address);
  m_limiter = nullptr;
  m_kind = Kind::none;
}

ConnectionLimiter::ConnectionLimiter(std::size_t max_total, std::size_t max_per_address)
    : m_max_total(max_total), m_max_per_address(max_per_address) {}

void ConnectionLimiter::set_max_total(std::size_t max_total) {
  std::lock_guard lock(m_mutex);
  m_max_total = max_total;
}

std::size_t ConnectionLimiter::max_total() const {
  std::lock_guard lock(m_mutex);
  return m_max_total;
}

ConnectionTicket ConnectionLimiter::admit(const std::string& address) {
  using Kind = ConnectionTicket::Kind;
  std::lock_guard lock(m_mutex);
  std::optional<Refusal> refusal;
  if (m_max_total != 0 && m_open >= m_max_total) {
    refusal = Refusal{503, ErrorCode::unavailable,
                      "The server has reached its connection limit (" +
                          std::to_string(m_max_total) + "); try again later"};
  } else if (m_max_per_address != 0) {
    const auto found = m_per_address.find(address);
    if (found != m_per_address.end() && found->second >= m_max_per_address) {
      refusal = Refusal{429, ErrorCode::rate_limited,
                        "Too many connections from " + address + " (at most " +
                            std::to_string(m_max_per_address) + ")"};
    }
  }
  if (!refusal) {
    ++m_open;
    ++m_per_address[address];
    return ConnectionTicket(this, Kind::admitted, address, std::nullopt);
  }
  if (m_refusing >= kMaxRefusing) return ConnectionTicket(this, Kind::dropped, {}, std::nullopt);
  ++m_refusing;
  return ConnectionTicket(this, Kind::refused, {}, std::move(refusal));
}

std::size_t ConnectionLimiter::open() const {
  std::lock_guard lock(m_mutex);
  return m_open;
}

std::size_t ConnectionLimiter::open_from(const std::string& address) const {
  std::lock_guard lock(m_mutex);
  const auto found = m_per_address.find(address);
  return found == m_per_address.end() ? 0 : found->second;
}

void ConnectionLimiter::release(ConnectionTicket::Kind kind, const std::string& address) {
  std::lock_guard lock(m_mutex);
  switch (kind) {
    case ConnectionTicket::Kind::admitted: {
      --m_open;
      const auto found = m_per_address.find(address);
      if (found != m_per_address.end() && --found->second == 0) m_per_address.erase(found);
      break;
    }
    case ConnectionTicket::Kind::refused:
      --m_refusing;
      break;
    case ConnectionTicket::Kind::none:
    case ConnectionTicket::Kind::dropped:
      break;
  }
}

std::size_t fit_to_fd_limit(std::size_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  const rlim_t needed =
      wanted == 0 ? limit.rlim_max : static_cast<rlim_t>(wanted + kReservedDescriptors);
  if (needed != RLIM_INFINITY && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : std::min(needed, limit.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return wanted;
  const auto descriptors = static_cast<std::size_t>(limit.rlim_cur);
  // A tiny limit still leaves half of it to connections.
  const std::size_t fits =
      descriptors > 2 * kReservedDescriptors ? descriptors - kReservedDescriptors : descriptors / 2;
  if (wanted != 0 && wanted <= fits) return wanted;
  if (wanted != 0) {
    log::warn("server.max_connections lowered to fit the file descriptor limit",
              {{"configured", wanted}, {"max_connections", fits}, {"fd_limit", descriptors}});
  }
  return fits;
}

}  // namespace tandem::net
