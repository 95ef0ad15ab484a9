#include "auth/token.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/claims.h"
#include "auth/describe.h"
#include "auth/jws.h"
#include "auth/keys.h"
#include "auth/signature.h"

namespace tandem::auth {
namespace {

using detail::ClaimRules;
using detail::KeyMaterial;
using nlohmann::json;

Error unauthenticated(const std::string& message) {
  return Error(ErrorCode::unauthenticated, message);
}

Error bad_request(const std::string& message) {
  return Error(ErrorCode::bad_request, message);
}

class JwtVerifier final : public TokenVerifier {
 public:
  JwtVerifier(std::vector<KeyMaterial> keys, bool from_key_set, ClaimRules rules)
      : m_keys(std::move(keys)), m_from_key_set(from_key_set), m_rules(std::move(rules)) {}

  using TokenVerifier::verify;
  Result<Claims> verify(std::string_view token,
                        std::chrono::system_clock::time_point now) const override {
    auto decoded = detail::decode_token(token);
    if (!decoded) return decoded.error();
    auto alg = detail::checked_header_algorithm(decoded->header);
    if (!alg) return alg.error();
    auto key = select_key(decoded->header);
    if (!key) return key.error();
    // The key decides the algorithm: trusting the header is what lets an attacker present an
    // RSA public key as an HMAC secret.
    if (*alg != detail::algorithm_name((*key)->algorithm)) {
      return unauthenticated(fmt::format("token algorithm {} not accepted: the server expects {}",
                                         detail::name_as_sent(*alg),
                                         detail::algorithm_name((*key)->algorithm)));
    }
    if (auto status = detail::verify_signature(*decoded, **key); !status) {
      return status.error();
    }
    return detail::check_claims(decoded->payload, m_rules, now);
  }

  Result<Claims> claims_of(std::string_view payload_json) const override {
    auto payload = json::parse(payload_json, nullptr, false);
    if (payload.is_discarded() || !payload.is_object()) {
      return unauthenticated("the claims must be a JSON object");
    }
    for (const auto* time : {"exp", "nbf", "iat", "iss", "aud"})
      payload.erase(time);
    auto rules = m_rules;
    rules.issuer.clear();
    rules.audience.clear();
    rules.require_exp = false;
    return detail::check_claims(payload, rules, std::chrono::system_clock::now());
  }

  std::chrono::system_clock::time_point valid_until(std::int64_t expires_at) const override {
    // check_claims refuses a token at exp + leeway and later.
    return std::chrono::system_clock::time_point(std::chrono::seconds(expires_at)) + m_rules.leeway;
  }

 private:
  Result<const KeyMaterial*> select_key(const json& header) const {
    if (!m_from_key_set) return &m_keys.front();
    const auto kid = detail::header_kid(header);
    if (!kid) {
      if (m_keys.size() == 1) return &m_keys.front();
      return unauthenticated(fmt::format(
          "token has no kid, and the key set has {} keys to choose from", m_keys.size()));
    }
    auto match = std::find_if(m_keys.begin(), m_keys.end(),
                              [&](const KeyMaterial& key) { return key.kid == kid; });
    if (match == m_keys.end()) {
      return unauthenticated(
          fmt::format("token kid {} matches no key in the key set", detail::quote_text(*kid)));
    }
    return &*match;
  }

  std::vector<KeyMaterial> m_keys;  // never empty
  bool m_from_key_set;
  ClaimRules m_rules;
};

bool has_nul(std::string_view text) {
  return text.find('\0') != std::string_view::npos;
}

Status check_request(const MintRequest& request) {
  if (request.subject.empty()) return bad_request("cannot mint a token without a subject");
  if (request.tenant && request.tenant->empty()) {
    return bad_request("cannot mint a token with an empty tenant");
  }
  if (request.ttl.count() <= 0) return bad_request("cannot mint a token with a ttl of 0 or less");
  // jansson, which libjwt parses the claims with, refuses NUL characters.
  if (has_nul(request.subject) || (request.tenant && has_nul(*request.tenant))) {
    return bad_request("cannot mint a token whose subject or tenant contains a NUL character");
  }
  return ok_status();
}

class JwtMinter final : public TokenMinter {
 public:
  JwtMinter(KeyMaterial key, ClaimRules rules) : m_key(std::move(key)), m_rules(std::move(rules)) {}

  using TokenMinter::mint;
  Result<std::string> mint(const MintRequest& request,
                           std::chrono::system_clock::time_point now) const override {
    if (auto status = check_request(request); !status) return status.error();
    auto payload = claims_for(request, now);
    if (!payload) return payload.error();
    return detail::sign(*payload, m_key);
  }

 private:
  Result<json> claims_for(const MintRequest& request,
                          std::chrono::system_clock::time_point now) const {
    const auto issued_at = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch());
    json payload = {{"sub", request.subject},
                    {m_rules.role_claim, role_name(request.role)},
                    {"iat", issued_at.count()},
                    {"exp", (issued_at + request.ttl).count()}};
    if (request.tenant) payload[m_rules.tenant_claim] = *request.tenant;
    if (!m_rules.issuer.empty()) payload["iss"] = m_rules.issuer;
    if (!m_rules.audience.empty()) payload["aud"] = m_rules.audience;
    // Serializing checks the strings are UTF-8 here, where the message can say so.
    try {
      (void)payload.dump();
    } catch (const json::type_error&) {
      return bad_request("cannot mint a token whose subject or tenant is not valid UTF-8");
    }
    return payload;
  }

  KeyMaterial m_key;
  ClaimRules m_rules;
};

}  // namespace

bool is_valid_role_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63 || name.front() < 'a' || name.front() > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string_view role_name(Role role) noexcept {
  switch (role) {
    case Role::user:
      return "user";
    case Role::admin:
      return "admin";
  }
  return "user";
}

Result<std::shared_ptr<const TokenVerifier>> TokenVerifier::create(const JwtOptions& options) {
  auto rules = detail::claim_rules(options);
  if (!rules) return rules.error();
  auto keys = detail::load_verification_keys(options);
  if (!keys) return keys.error();
  const bool from_key_set = !options.jwks_file.empty();
  return std::shared_ptr<const TokenVerifier>(
      std::make_shared<const JwtVerifier>(std::move(*keys), from_key_set, std::move(*rules)));
}

Result<std::shared_ptr<const TokenMinter>> TokenMinter::create(const JwtOptions& options) {
  auto rules = detail::claim_rules(options);
  if (!rules) return rules.error();
  auto key = detail::load_signing_key(options);
  if (!key) return key.error();
  return std::shared_ptr<const TokenMinter>(
      std::make_shared<const JwtMinter>(std::move(*key), std::move(*rules)));
}

}  // namespace tandem::auth
