// Signing (delegated to libjwt, the only file that calls it; each call builds and frees its own
// jwt_t) and signature verification (OpenSSL, with keys parsed once: see KeyMaterial).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "auth/jws.h"
#include "auth/keys.h"
#include "common/result.h"

namespace tandem::auth::detail {

// unauthenticated unless `decoded` is signed by `key`, checked with the key's algorithm. The
// caller has already refused tokens whose alg is not the key's algorithm.
Status verify_signature(const DecodedToken& decoded, const KeyMaterial& key);

// A compact JWS of `payload`, with header {"alg": <the key's>, "typ": "JWT"}.
Result<std::string> sign(const nlohmann::json& payload, const KeyMaterial& key);

}  // namespace tandem::auth::detail
