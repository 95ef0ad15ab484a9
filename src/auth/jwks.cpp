#include "auth/jwks.h"

#include <fmt/format.h>
#include <openssl/core_names.h>

#include <array>
#include <set>

#include <nlohmann/json.hpp>

#include "auth/describe.h"
#include "auth/openssl_util.h"
#include "common/base64.h"

namespace tandem::auth::detail {
namespace {

using nlohmann::json;

constexpr std::size_t kP256CoordinateBytes = 32;
// Members that only a private or symmetric JWK has (RFC 7518 section 6).
constexpr std::array<const char*, 8> kPrivateMembers = {"d",  "p",  "q",   "dp",
                                                        "dq", "qi", "oth", "k"};

Error config_error(const std::string& message) {
  return Error(ErrorCode::config_invalid, message);
}

std::string describe_key(std::string_view source, std::size_t index, const json& jwk) {
  auto kid = jwk.is_object() ? jwk.find("kid") : jwk.end();
  if (kid == jwk.end() || !kid->is_string()) return fmt::format("{}: keys[{}]", source, index);
  return fmt::format("{}: keys[{}] (kid {})", source, index,
                     quote_text(kid->get_ref<const std::string&>()));
}

Result<std::string> base64url_member(const json& jwk, const char* name, std::string_view where) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return config_error(fmt::format("{} has no \"{}\" string", where, name));
  }
  auto bytes = base64url_decode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) {
    return config_error(fmt::format("{}: \"{}\" is not base64url", where, name));
  }
  return std::move(*bytes);
}

Result<PkeyPtr> public_key_from_params(const char* type, const OSSL_PARAM* params,
                                       std::string_view where) {
  PkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY,
                        const_cast<OSSL_PARAM*>(params)) != 1) {
    discard_openssl_errors();
    return config_error(
        fmt::format("{}: the parameters do not form an {} public key", where, type));
  }
  return PkeyPtr(key);
}

BignumPtr to_bignum(const std::string& big_endian) {
  return BignumPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
                             static_cast<int>(big_endian.size()), nullptr));
}

Result<PkeyPtr> rsa_public_key(const json& jwk, std::string_view where) {
  auto n = base64url_member(jwk, "n", where);
  if (!n) return n.error();
  auto e = base64url_member(jwk, "e", where);
  if (!e) return e.error();
  BignumPtr modulus = to_bignum(*n);
  BignumPtr exponent = to_bignum(*e);
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!modulus || !exponent || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    discard_openssl_errors();
    return config_error(fmt::format("{}: out of memory building the RSA key", where));
  }
  ParamsPtr params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) return config_error(fmt::format("{}: out of memory building the RSA key", where));
  return public_key_from_params("RSA", params.get(), where);
}

Result<std::string> p256_coordinate(const json& jwk, const char* name, std::string_view where) {
  auto coordinate = base64url_member(jwk, name, where);
  if (!coordinate) return coordinate.error();
  // RFC 7518 section 6.2.1.2: coordinates are encoded at the full size of the field.
  if (coordinate->size() != kP256CoordinateBytes) {
    return config_error(fmt::format("{}: \"{}\" is {} bytes; P-256 coordinates are {}", where, name,
                                    coordinate->size(), kP256CoordinateBytes));
  }
  return coordinate;
}

Result<PkeyPtr> ec_public_key(const json& jwk, std::string_view where) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string()) {
    return config_error(fmt::format("{} has no \"crv\" string", where));
  }
  if (*crv != "P-256") {
    return config_error(fmt::format("{}: curve {} is not supported; only P-256 (ES256) is", where,
                                    quote_text(crv->get_ref<const std::string&>())));
  }
  auto x = p256_coordinate(jwk, "x", where);
  if (!x) return x.error();
  auto y = p256_coordinate(jwk, "y", where);
  if (!y) return y.error();
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
  std::string group = "prime256v1";
  const std::array<OSSL_PARAM, 3> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  return public_key_from_params("EC", params.data(), where);
}

Status check_key_metadata(const json& jwk, std::string_view where) {
  auto kid = jwk.find("kid");
  if (kid != jwk.end() && !kid->is_string()) {
    return config_error(fmt::format("{}: \"kid\" must be a string", where));
  }
  auto use = jwk.find("use");
  if (use != jwk.end() && *use != "sig") {
    return config_error(fmt::format("{}: \"use\" is {}; only signature keys (\"sig\") are accepted",
                                    where, quote_json(*use)));
  }
  for (const char* member : kPrivateMembers) {
    if (jwk.contains(member)) {
      return config_error(fmt::format(
          "{} holds private or symmetric key material (\"{}\"); a key set must only hold "
          "public keys",
          where, member));
    }
  }
  return ok_status();
}

Result<PkeyPtr> public_key_for_kty(const json& jwk, std::string_view where) {
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) {
    return config_error(fmt::format("{} has no \"kty\" string", where));
  }
  if (*kty == "RSA") return rsa_public_key(jwk, where);
  if (*kty == "EC") return ec_public_key(jwk, where);
  return config_error(fmt::format("{}: key type {} is not supported; expected RSA or EC", where,
                                  quote_text(kty->get_ref<const std::string&>())));
}

Status check_declared_algorithm(const json& jwk, Algorithm algorithm, std::string_view where) {
  auto alg = jwk.find("alg");
  if (alg == jwk.end() || *alg == algorithm_name(algorithm)) return ok_status();
  return config_error(fmt::format("{}: \"alg\" is {}, but the key is for {}", where,
                                  quote_json(*alg), algorithm_name(algorithm)));
}

Result<KeyMaterial> parse_jwk(const json& jwk, std::string_view where) {
  if (!jwk.is_object()) return config_error(fmt::format("{} is not a JSON object", where));
  if (auto status = check_key_metadata(jwk, where); !status) return status.error();
  auto key = public_key_for_kty(jwk, where);
  if (!key) return key.error();
  auto algorithm = algorithm_for_key(key->get(), where);
  if (!algorithm) return algorithm.error();
  if (auto status = check_declared_algorithm(jwk, *algorithm, where); !status) {
    return status.error();
  }
  auto pem = checked_public_key_pem(key->get(), where);
  if (!pem) return pem.error();
  std::optional<std::string> kid;
  if (jwk.contains("kid")) kid = jwk["kid"].get<std::string>();
  return verification_key(*algorithm, std::move(kid), std::move(*pem), std::move(*key));
}

Result<const json*> key_array(const json& document, std::string_view source) {
  if (document.is_discarded()) return config_error(fmt::format("{} is not valid JSON", source));
  auto keys = document.is_object() ? document.find("keys") : document.end();
  if (keys == document.end() || !keys->is_array()) {
    return config_error(
        fmt::format("{} is not a JSON Web Key Set (an object with a \"keys\" array)", source));
  }
  if (keys->empty()) return config_error(fmt::format("{} has no keys", source));
  return &*keys;
}

}  // namespace

Result<std::vector<KeyMaterial>> parse_jwks(std::string_view text, std::string_view source) {
  const json document = json::parse(text, nullptr, false);
  auto keys = key_array(document, source);
  if (!keys) return keys.error();
  std::vector<KeyMaterial> result;
  std::set<std::string, std::less<>> kids;
  for (std::size_t i = 0; i < (*keys)->size(); ++i) {
    const json& jwk = (**keys)[i];
    const std::string where = describe_key(source, i, jwk);
    auto key = parse_jwk(jwk, where);
    if (!key) return key.error();
    if (key->kid && !kids.insert(*key->kid).second) {
      return config_error(fmt::format("{}: another key has the same kid", where));
    }
    result.push_back(std::move(*key));
  }
  return result;
}

}  // namespace tandem::auth::detail
