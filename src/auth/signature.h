// Signing and signature verification, delegated to libjwt. This is the only file that calls
// libjwt; each call builds and frees its own jwt_t, so nothing mutable is shared.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "auth/jws.h"
#include "auth/keys.h"
#include "common/result.h"

namespace tandem::auth::detail {

// unauthenticated unless `decoded` (decoded from `token`) is signed by `key`. The caller has
// already checked that the token's alg is the key's algorithm.
Status verify_signature(std::string_view token, const DecodedToken& decoded,
                        const KeyMaterial& key);

// A compact JWS of `payload`, with header {"alg": <the key's>, "typ": "JWT"}.
Result<std::string> sign(const nlohmann::json& payload, const KeyMaterial& key);

}  // namespace tandem::auth::detail
