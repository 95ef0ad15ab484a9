// How tokens are verified: plain settings, read by config without linking auth.
#pragma once

#include <chrono>
#include <string>

namespace tandem::auth {

struct JwtOptions {
  std::string hs256_secret;      // shared secret (HS256)
  std::string public_key_file;   // PEM public key (RS256 or ES256)
  std::string jwks_file;         // JSON Web Key Set file (RS256/ES256 keys)
  std::string private_key_file;  // PEM private key, only to mint tokens (`tandem token`)
  std::string issuer;            // when set, `iss` must equal it
  std::string audience;          // when set, `aud` (string or array) must contain it
  std::string role_claim = "role";
  std::string tenant_claim = "tenant";
  std::chrono::seconds leeway{30};  // clock tolerance for exp/nbf/iat
  // A token without `exp` would be valid forever (and a session on it would never end):
  // refused unless this is turned off.
  bool require_exp = true;
};

}  // namespace tandem::auth
