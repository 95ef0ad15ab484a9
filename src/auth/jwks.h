// JSON Web Key Sets (RFC 7517): the RSA and EC P-256 signature keys an identity provider
// publishes, converted to the PEM form libjwt verifies with.
#pragma once

#include <string_view>
#include <vector>

#include "auth/keys.h"
#include "common/result.h"

namespace tandem::auth::detail {

// The keys of a JWKS document; config_invalid (naming `source` and the offending key) for
// anything but a set of well-formed public RSA (2048 bits or more) or EC P-256 signature keys
// with distinct kids.
Result<std::vector<KeyMaterial>> parse_jwks(std::string_view text, std::string_view source);

}  // namespace tandem::auth::detail
