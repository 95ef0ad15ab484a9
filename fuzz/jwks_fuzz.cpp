// A JSON Web Key Set as an identity provider publishes it (the server reads it from
// auth.jwks_file): every key must come out as a usable verification key or the set refused
// with config_invalid.
#include "auth/jwks.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tandem::fuzz::as_text(data, size);
  auto keys = tandem::auth::detail::parse_jwks(text, "fuzz.jwks");
  if (!keys) {
    FUZZ_CHECK(keys.error().code() == tandem::ErrorCode::config_invalid, keys.error().message());
    return 0;
  }
  FUZZ_CHECK(!keys->empty(), text);
  for (const auto& key : *keys) {
    FUZZ_CHECK(key.public_key != nullptr && !key.bytes.empty(), text);
  }
  return 0;
}
