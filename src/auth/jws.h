// The JWS compact serialization (RFC 7515 section 7.1) of a token, decoded and checked
// strictly before any of it reaches libjwt.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace tandem::auth::detail {

struct DecodedToken {
  nlohmann::json header;           // a JSON object
  nlohmann::json payload;          // a JSON object
  std::string_view signing_input;  // "header.payload" as sent: what the signature covers
  std::string signature;  // raw bytes; empty for an unsigned token, refused once alg is known
};

// Splits and decodes `token` (which must outlive the result); unauthenticated unless it has
// exactly three parts of canonical base64url and the first two are JSON objects without
// duplicate members.
Result<DecodedToken> decode_token(std::string_view token);

// The header's "alg" as sent, once the header passed the checks that do not depend on the
// key: an alg is present, it is not "none", no "crit", a "typ" (if any) of JWT, a string kid.
Result<std::string> checked_header_algorithm(const nlohmann::json& header);

// The header's "kid", if any (checked_header_algorithm has checked that it is a string).
std::optional<std::string> header_kid(const nlohmann::json& header);

}  // namespace tandem::auth::detail
