#include "compat/esink/event_id.h"

#include <cstdint>
#include <random>

namespace tandem::compat::esink {

std::string new_uuid() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uint64_t high = generator();
  std::uint64_t low = generator();
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  auto put = [&](std::uint64_t word, int from_nibble, int to_nibble) {
    for (int nibble = from_nibble; nibble > to_nibble; --nibble)
      text += kDigits[(word >> (4 * (nibble - 1))) & 0xf];
  };
  put(high, 16, 8);
  text += '-';
  put(high, 8, 4);
  text += '-';
  put(high, 4, 0);
  text += '-';
  put(low, 16, 12);
  text += '-';
  put(low, 12, 0);
  return text;
}

}  // namespace tandem::compat::esink
