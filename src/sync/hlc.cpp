#include "sync/hlc.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace tandem::sync {

std::string Hlc::to_string() const {
  return fmt::format("{:016x}", m_raw);
}

std::optional<Hlc> Hlc::parse(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  for (char c : text) {
    bool is_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!is_hex) return std::nullopt;
  }
  std::uint64_t raw = 0;
  std::from_chars(text.data(), text.data() + text.size(), raw, 16);
  return Hlc(raw);
}

HlcClock::HlcClock(std::chrono::milliseconds max_drift, WallClock wall_clock)
    : m_max_drift(max_drift), m_wall_clock(std::move(wall_clock)) {}

std::uint64_t HlcClock::system_millis() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count());
}

Hlc HlcClock::now() {
  std::lock_guard lock(m_mutex);
  std::uint64_t wall = m_wall_clock();
  if (wall > m_last.millis()) {
    m_last = Hlc::from_parts(wall, 0);
  } else {
    // The counter overflowing borrows the next millisecond: the clock runs slightly ahead of
    // the wall clock rather than repeating a value.
    m_last = Hlc(m_last.raw() + 1);
  }
  return m_last;
}

Status HlcClock::observe(Hlc remote) {
  std::lock_guard lock(m_mutex);
  std::uint64_t wall = m_wall_clock();
  auto limit = wall + static_cast<std::uint64_t>(m_max_drift.count());
  if (remote.millis() > limit) {
    return Error(ErrorCode::clock_skew,
                 fmt::format("clock {} is {} ms ahead of the server's clock (at most {} ms "
                             "allowed): check the device's time",
                             remote.to_string(), remote.millis() - wall, m_max_drift.count()));
  }
  m_last = std::max(m_last, remote);
  return ok_status();
}

void HlcClock::advance_to(Hlc floor) {
  std::lock_guard lock(m_mutex);
  m_last = std::max(m_last, floor);
}

}  // namespace tandem::sync
