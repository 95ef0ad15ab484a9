// Hybrid logical clocks (Kulkarni et al., 2014): 48 bits of wall-clock milliseconds and a
// 16-bit logical counter in one 64-bit number, so that clocks compare as integers, stay close
// to real time and never go backwards on a node even when its wall clock does.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tandem::sync {

class Hlc {
 public:
  constexpr Hlc() = default;
  constexpr explicit Hlc(std::uint64_t raw) : m_raw(raw) {}
  static constexpr Hlc from_parts(std::uint64_t millis, std::uint16_t counter) {
    return Hlc((millis << 16) | counter);
  }

  constexpr std::uint64_t raw() const { return m_raw; }
  constexpr std::uint64_t millis() const { return m_raw >> 16; }
  constexpr std::uint16_t counter() const { return static_cast<std::uint16_t>(m_raw & 0xffff); }
  constexpr bool is_zero() const { return m_raw == 0; }

  // Wire form: exactly 16 lower-case hex digits, so that string order is clock order.
  std::string to_string() const;
  static std::optional<Hlc> parse(std::string_view text);

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  friend constexpr auto operator<=>(Hlc, Hlc) = default;

 private:
  std::uint64_t m_raw = 0;
};

// A node's clock. Thread-safe.
class HlcClock {
 public:
  using WallClock = std::function<std::uint64_t()>;  // milliseconds since the epoch

  explicit HlcClock(std::chrono::milliseconds max_drift = std::chrono::seconds(60),
                    WallClock wall_clock = system_millis);

  // A clock for a local event, greater than every clock this node produced or observed.
  Hlc now();

  // Takes a remote clock into account so that later local clocks exceed it. A remote clock
  // more than max_drift ahead of this node's wall clock is refused (clock_skew) and ignored:
  // accepting it would let one client's broken clock win every future conflict.
  Status observe(Hlc remote);

  // Raises the clock to at least `floor` without the drift check; used at start-up with the
  // largest clock found in durable state so that a restarted node never goes backwards.
  void advance_to(Hlc floor);

  static std::uint64_t system_millis();

 private:
  std::mutex m_mutex;
  Hlc m_last;
  std::chrono::milliseconds m_max_drift;
  WallClock m_wall_clock;
};

}  // namespace tandem::sync
