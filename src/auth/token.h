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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_options.h"
#include "common/result.h"
#include "common/value.h"

namespace tandem::auth {

enum class Role { user, admin };
std::string_view role_name(Role role) noexcept;
// A role a token may carry: 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter.
bool is_valid_role_name(std::string_view name) noexcept;

// A claim permission rules may read: a string, a number or a boolean (as an integer 0/1), or
// a list of those.
struct ClaimValue {
  std::vector<Value> items;  // one item unless is_list
  bool is_list = false;
  friend bool operator==(const ClaimValue&, const ClaimValue&) = default;
};

// What a verified token says about its bearer.
struct Claims {
  std::string subject;                     // `sub`: the user id; never empty
  Role role = Role::user;                  // admin: the role claim says "admin"; else user
  std::optional<std::string> tenant;       // from the tenant claim, if present
  std::optional<std::int64_t> expires_at;  // `exp`, seconds since the epoch
  // The role claim as written: "user" when absent, "admin", or a custom role (a rules file
  // gives it permissions; without one it is a user).
  std::string role_name = "user";
  // Every claim of the token that is a string, number, boolean or list of those, by name
  // (sub, the role and tenant claims included): what permission rules compare columns with.
  std::map<std::string, ClaimValue, std::less<>> values;
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
  // The claims a valid token with this payload (a JSON object, as text) would give its bearer,
  // read by the same rules as verify() (the role and tenant claims as configured), without a
  // signature and whatever its times, issuer and audience: what an admin's "view as user"
  // impersonates. unauthenticated when the payload has no usable `sub` or role.
  virtual Result<Claims> claims_of(std::string_view payload_json) const = 0;
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
