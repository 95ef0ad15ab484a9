// The strict base64, base64url and hex decoders (tokens, JWKs, blob values, Engine.IO binary
// packets): whatever they accept is canonical, so encoding the result gives back the input.
#include <algorithm>
#include <cctype>

#include "common/base64.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tandem::fuzz::as_text(data, size);
  if (auto blob = tandem::base64_decode(text)) {
    FUZZ_CHECK(tandem::base64_encode(*blob) == text, text);
  }
  if (auto bytes = tandem::base64url_decode(text)) {
    FUZZ_CHECK(tandem::base64url_encode(*bytes) == text, text);
  }
  if (auto blob = tandem::hex_decode(text)) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    FUZZ_CHECK(tandem::hex_encode(blob->data(), blob->size()) == lower, text);
  }
  return 0;
}
