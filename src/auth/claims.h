// The claims a verified token must satisfy, and what they say about its bearer.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "auth/token.h"
#include "common/result.h"

namespace tandem::auth::detail {

// The claim-related part of JwtOptions, kept apart from the key material.
struct ClaimRules {
  std::string issuer;
  std::string audience;
  std::string role_claim;
  std::string tenant_claim;
  std::chrono::seconds leeway{0};
  bool require_exp = true;
};

// config_invalid for claim names a token cannot carry (empty, equal, or a registered claim
// such as "sub") and for a negative leeway.
Result<ClaimRules> claim_rules(const JwtOptions& options);

// The bearer's claims from a token whose signature is verified: token_expired when `exp` has
// passed or `nbf` is not reached beyond the leeway, unauthenticated for any other failure
// (`exp` missing while required included).
Result<Claims> check_claims(const nlohmann::json& payload, const ClaimRules& rules,
                            std::chrono::system_clock::time_point now);

}  // namespace tandem::auth::detail
