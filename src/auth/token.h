// JSON Web Tokens: verification of client tokens and minting of development tokens.
//
// The key configured decides the one algorithm accepted (never the token's header):
//   hs256_secret       -> HS256 only
//   public_key_file    -> RS256 for an RSA key, ES256 for a P-256 EC key (PEM)
//   jwks_file          -> the JWK whose "kid" matches the token's (RSA -> RS256, EC P-256 ->
//                         ES256); a token without "kid" is accepted only if the set has one key
// `alg: none`, any other algorithm and algorithm confusion (an RSA public key used as an HMAC
// secret) are refused.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwt_options.h"
#include "common/result.h"

namespace tandem::auth {

enum class Role { user, admin };
std::string_view role_name(Role role) noexcept;

// What a verified token says about its bearer.
struct Claims {
  std::string subject;                     // `sub`: the user id; never empty
  Role role = Role::user;                  // from the role claim; absent -> user
  std::optional<std::string> tenant;       // from the tenant claim, if present
  std::optional<std::int64_t> expires_at;  // `exp`, seconds since the epoch
};

// Verifies tokens. Immutable after creation: `verify` is thread-safe.
class TokenVerifier {
 public:
  // Loads the key material; config_invalid when no key or an unreadable/unsupported key is
  // configured (the message names the file and the problem).
  static Result<std::shared_ptr<const TokenVerifier>> create(const JwtOptions& options);

  virtual ~TokenVerifier() = default;

  // unauthenticated (malformed, bad signature, wrong algorithm, wrong iss/aud, no sub, no exp
  // when required) or
  // token_expired (exp passed / nbf not reached, beyond the leeway). Messages say which.
  virtual Result<Claims> verify(std::string_view token,
                                std::chrono::system_clock::time_point now) const = 0;
  // When a token that expires at `expires_at` (seconds since the epoch) stops being accepted:
  // exp plus the leeway. A session on the token ends then.
  virtual std::chrono::system_clock::time_point valid_until(std::int64_t expires_at) const = 0;
  Result<Claims> verify(std::string_view token) const {
    return verify(token, std::chrono::system_clock::now());
  }
};

struct MintRequest {
  std::string subject;
  Role role = Role::user;
  std::optional<std::string> tenant;
  std::chrono::seconds ttl{std::chrono::hours(24)};
};

// Mints tokens with the configured HS256 secret or PEM private key (RS256/ES256 by key type),
// including iss/aud when configured, so that a verifier built from the same options accepts
// them. Thread-safe.
class TokenMinter {
 public:
  static Result<std::shared_ptr<const TokenMinter>> create(const JwtOptions& options);
  virtual ~TokenMinter() = default;
  virtual Result<std::string> mint(const MintRequest& request,
                                   std::chrono::system_clock::time_point now) const = 0;
  Result<std::string> mint(const MintRequest& request) const {
    return mint(request, std::chrono::system_clock::now());
  }
};

}  // namespace tandem::auth
