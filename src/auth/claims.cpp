#include "auth/claims.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "auth/describe.h"

namespace tandem::auth::detail {
namespace {

using nlohmann::json;

// RFC 7519 section 4.1: names whose meaning is fixed, so neither the role nor the tenant may
// live there.
constexpr std::array<std::string_view, 7> kRegisteredClaims = {"iss", "sub", "aud", "exp",
                                                               "nbf", "iat", "jti"};
// 9999-12-31T23:59:59Z: later dates are not plausible and would not print as RFC 3339.
constexpr double kMaxNumericDate = 253402300799.0;

Error unauthenticated(const std::string& message) {
  return Error(ErrorCode::unauthenticated, message);
}

Error token_expired(const std::string& message) {
  return Error(ErrorCode::token_expired, message);
}

Error config_error(const std::string& message) {
  return Error(ErrorCode::config_invalid, message);
}

Status check_claim_name(const std::string& name, std::string_view option) {
  if (name.empty()) return config_error(fmt::format("{} must name a claim", option));
  if (std::find(kRegisteredClaims.begin(), kRegisteredClaims.end(), name) !=
      kRegisteredClaims.end()) {
    return config_error(
        fmt::format("{} \"{}\" is a registered JWT claim; choose another name", option, name));
  }
  return ok_status();
}

// A NumericDate claim (RFC 7519 section 2), in seconds; nullopt when absent.
Result<std::optional<double>> numeric_date(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::optional<double>();
  if (!it->is_number()) {
    return unauthenticated(
        fmt::format("token {} claim must be a number (seconds since the epoch)", name));
  }
  const double seconds = it->get<double>();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxNumericDate) {
    return unauthenticated(fmt::format("token {} claim {} is out of range", name, quote_json(*it)));
  }
  return std::optional<double>(seconds);
}

std::string date_text(double seconds) {
  return utc_time(static_cast<std::int64_t>(std::floor(seconds)));
}

// exp, nbf and iat; returns exp (floored), which Claims reports.
Result<std::optional<std::int64_t>> check_times(const json& payload, const ClaimRules& rules,
                                                std::chrono::system_clock::time_point now) {
  const double now_seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  const auto leeway = static_cast<double>(rules.leeway.count());
  auto exp = numeric_date(payload, "exp");
  if (!exp) return exp.error();
  auto nbf = numeric_date(payload, "nbf");
  if (!nbf) return nbf.error();
  auto iat = numeric_date(payload, "iat");
  if (!iat) return iat.error();
  // RFC 7519 section 4.1.4: the token must not be accepted on or after exp.
  if (*exp && now_seconds >= **exp + leeway) {
    return token_expired(fmt::format("token expired at {}", date_text(**exp)));
  }
  if (*nbf && now_seconds + leeway < **nbf) {
    return token_expired(fmt::format("token not valid before {}", date_text(**nbf)));
  }
  // A token from the future means a wrong issuer clock or a token minted for later use.
  if (*iat && now_seconds + leeway < **iat) {
    return unauthenticated(fmt::format("token issued in the future (iat {})", date_text(**iat)));
  }
  if (!*exp) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(static_cast<std::int64_t>(std::floor(**exp)));
}

Status check_issuer(const json& payload, const std::string& issuer) {
  if (issuer.empty()) return ok_status();
  auto iss = payload.find("iss");
  if (iss == payload.end()) {
    return unauthenticated(
        fmt::format("token has no iss claim; the server expects issuer {}", quote_text(issuer)));
  }
  if (!iss->is_string()) return unauthenticated("token iss claim must be a string");
  if (*iss != issuer) {
    return unauthenticated(fmt::format("token issuer {} not accepted: the server expects {}",
                                       quote_json(*iss), quote_text(issuer)));
  }
  return ok_status();
}

bool audience_contains(const json& aud, const std::string& audience) {
  if (aud.is_string()) return aud == audience;
  return std::any_of(aud.begin(), aud.end(), [&](const json& item) { return item == audience; });
}

Status check_audience(const json& payload, const std::string& audience) {
  if (audience.empty()) return ok_status();
  auto aud = payload.find("aud");
  if (aud == payload.end()) {
    return unauthenticated(fmt::format("token has no aud claim; the server expects audience {}",
                                       quote_text(audience)));
  }
  const bool strings_only =
      aud->is_string() ||
      (aud->is_array() &&
       std::all_of(aud->begin(), aud->end(), [](const json& item) { return item.is_string(); }));
  if (!strings_only) {
    return unauthenticated("token aud claim must be a string or an array of strings");
  }
  if (!audience_contains(*aud, audience)) {
    return unauthenticated(fmt::format("token audience {} does not include {}", quote_json(*aud),
                                       quote_text(audience)));
  }
  return ok_status();
}

Result<std::string> subject(const json& payload) {
  auto sub = payload.find("sub");
  if (sub == payload.end()) return unauthenticated("token has no sub claim");
  if (!sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    return unauthenticated("token sub claim must be a non-empty string");
  }
  return sub->get<std::string>();
}

// "user" when absent; "admin"; or a custom role: a lower-case name a rules file may give
// permissions to. A name that differs from "admin" only in case is refused rather than
// taken for another role: it is a mistake, and no one should learn of it from a denial.
Result<std::string> role(const json& payload, const std::string& role_claim) {
  auto value = payload.find(role_claim);
  if (value == payload.end()) return std::string("user");
  if (value->is_string()) {
    const auto& name = value->get_ref<const std::string&>();
    if (is_valid_role_name(name)) return name;
  }
  return unauthenticated(
      fmt::format("token {} claim {} is not a role (expected \"user\", \"admin\" or a custom role: "
                  "lower-case letters, digits, '_' and '-')",
                  role_claim, quote_json(*value)));
}

// The claims rules may read: strings, numbers, booleans (as 0/1) and lists of those.
std::optional<ClaimValue> claim_value(const json& value) {
  auto scalar = [](const json& item) -> std::optional<Value> {
    if (item.is_string()) return Value(item.get<std::string>());
    if (item.is_boolean()) return Value(std::int64_t{item.get<bool>() ? 1 : 0});
    if (item.is_number_integer()) return Value(item.get<std::int64_t>());
    if (item.is_number_float()) return Value(item.get<double>());
    return std::nullopt;
  };
  if (!value.is_array()) {
    auto item = scalar(value);
    if (!item) return std::nullopt;
    return ClaimValue{{std::move(*item)}, false};
  }
  ClaimValue list{{}, true};
  for (const auto& element : value) {
    auto item = scalar(element);
    if (!item) return std::nullopt;
    list.items.push_back(std::move(*item));
  }
  return list;
}

std::map<std::string, ClaimValue, std::less<>> claim_values(const json& payload) {
  std::map<std::string, ClaimValue, std::less<>> values;
  for (const auto& [name, value] : payload.items()) {
    if (auto claim = claim_value(value)) values.emplace(name, std::move(*claim));
  }
  return values;
}

Result<std::optional<std::string>> tenant(const json& payload, const std::string& tenant_claim) {
  auto value = payload.find(tenant_claim);
  if (value == payload.end()) return std::optional<std::string>();
  if (!value->is_string() || value->get_ref<const std::string&>().empty()) {
    return unauthenticated(fmt::format("token {} claim must be a non-empty string", tenant_claim));
  }
  return std::optional<std::string>(value->get<std::string>());
}

}  // namespace

Result<ClaimRules> claim_rules(const JwtOptions& options) {
  if (auto status = check_claim_name(options.role_claim, "role_claim"); !status) {
    return status.error();
  }
  if (auto status = check_claim_name(options.tenant_claim, "tenant_claim"); !status) {
    return status.error();
  }
  if (options.role_claim == options.tenant_claim) {
    return config_error(fmt::format("role_claim and tenant_claim are both \"{}\"; they must differ",
                                    options.role_claim));
  }
  if (options.leeway.count() < 0) return config_error("leeway must not be negative");
  return ClaimRules{options.issuer,       options.audience, options.role_claim,
                    options.tenant_claim, options.leeway,   options.require_exp};
}

Result<Claims> check_claims(const json& payload, const ClaimRules& rules,
                            std::chrono::system_clock::time_point now) {
  // A token meant for another service is refused as such, even when it has also expired:
  // token_expired tells a client to fetch a fresh token, which would not help.
  if (auto status = check_issuer(payload, rules.issuer); !status) return status.error();
  if (auto status = check_audience(payload, rules.audience); !status) return status.error();
  auto expires_at = check_times(payload, rules, now);
  if (!expires_at) return expires_at.error();
  auto sub = subject(payload);
  if (!sub) return sub.error();
  auto bearer_role = role(payload, rules.role_claim);
  if (!bearer_role) return bearer_role.error();
  auto bearer_tenant = tenant(payload, rules.tenant_claim);
  if (!bearer_tenant) return bearer_tenant.error();
  // Last, so that a token with other defects is refused for those: a fresh token from the
  // same issuer would lack exp as well, hence unauthenticated and not token_expired.
  if (!*expires_at && rules.require_exp) {
    return unauthenticated(
        "token has no exp claim; the server requires tokens that expire (auth.require_exp)");
  }
  Claims claims;
  claims.subject = std::move(*sub);
  claims.role = *bearer_role == "admin" ? Role::admin : Role::user;
  claims.role_name = std::move(*bearer_role);
  claims.tenant = std::move(*bearer_tenant);
  claims.expires_at = *expires_at;
  claims.values = claim_values(payload);
  return claims;
}

}  // namespace tandem::auth::detail
