// Invariant checks inside fuzz targets: a violated one aborts, which libFuzzer (and the corpus
// replay test) reports as a crash with the message.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace tandem::fuzz {

[[noreturn]] inline void fail(const char* condition, const char* file, int line,
                              std::string_view detail) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n  %.*s\n", file, line, condition,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace tandem::fuzz

#define FUZZ_CHECK(condition, detail) \
  ((condition) ? (void)0 : ::tandem::fuzz::fail(#condition, __FILE__, __LINE__, (detail)))
