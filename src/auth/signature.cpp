#include "auth/signature.h"

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdlib>
#include <memory>

#include "auth/openssl_util.h"

namespace tandem::auth::detail {
namespace {

struct JwtDeleter {
  void operator()(jwt_t* jwt) const noexcept { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

struct MallocDeleter {
  void operator()(char* text) const noexcept { std::free(text); }
};
using MallocString = std::unique_ptr<char, MallocDeleter>;

Error bad_signature() {
  return Error(ErrorCode::unauthenticated, "token signature does not verify");
}

jwt_alg_t libjwt_algorithm(Algorithm algorithm) noexcept {
  switch (algorithm) {
    case Algorithm::hs256:
      return JWT_ALG_HS256;
    case Algorithm::rs256:
      return JWT_ALG_RS256;
    case Algorithm::es256:
      return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

// Upstream libjwt up to 1.15.3 compares HMACs with strcmp (CVE-2024-25189), which leaks by
// timing how much of a forged signature is right. Debian patches its 1.10.2, but checking in
// constant time first means that libjwt only ever compares a signature that is already right.
bool hmac_matches(std::string_view signing_input, const std::string& signature,
                  const std::string& secret) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
           mac.data(), &mac_size) == nullptr) {
    discard_openssl_errors();
    return false;
  }
  return signature.size() == mac_size && CRYPTO_memcmp(mac.data(), signature.data(), mac_size) == 0;
}

using DigestCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslDeleter<&EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpensslDeleter<&ECDSA_SIG_free>>;

constexpr std::size_t kEs256CoordinateBytes = 32;

// JWS carries an ES256 signature as R || S, 32 bytes each (RFC 7518 section 3.4); OpenSSL
// verifies the DER form. Empty when the size is wrong.
std::string es256_der_signature(const std::string& jose) {
  if (jose.size() != 2 * kEs256CoordinateBytes) return {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(jose.data());
  EcdsaSigPtr signature(ECDSA_SIG_new());
  BignumPtr r(BN_bin2bn(bytes, kEs256CoordinateBytes, nullptr));
  BignumPtr s(BN_bin2bn(bytes + kEs256CoordinateBytes, kEs256CoordinateBytes, nullptr));
  if (!signature || !r || !s || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) return {};
  static_cast<void>(r.release());  // owned by the signature now
  static_cast<void>(s.release());
  const int size = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (size <= 0) return {};
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(signature.get(), &out) != size) return {};
  return der;
}

// SHA-256 with the key's own scheme: RSASSA-PKCS1-v1_5 for an RSA key, ECDSA for P-256.
bool public_key_verifies(EVP_PKEY* key, std::string_view signing_input,
                         const std::string& signature) {
  DigestCtxPtr context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return false;
  }
  return EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

}  // namespace

Status verify_signature(const DecodedToken& decoded, const KeyMaterial& key) {
  if (decoded.signature.empty()) {
    return Error(ErrorCode::unauthenticated, "token has no signature");
  }
  // The key's algorithm decides how to verify, never the token's header.
  bool verified = false;
  switch (key.algorithm) {
    case Algorithm::hs256:
      verified =
          !key.bytes.empty() && hmac_matches(decoded.signing_input, decoded.signature, key.bytes);
      break;
    case Algorithm::rs256:
      verified = key.public_key && public_key_verifies(key.public_key.get(), decoded.signing_input,
                                                       decoded.signature);
      break;
    case Algorithm::es256: {
      const auto der = es256_der_signature(decoded.signature);
      verified = key.public_key && !der.empty() &&
                 public_key_verifies(key.public_key.get(), decoded.signing_input, der);
      break;
    }
  }
  discard_openssl_errors();
  return verified ? ok_status() : bad_signature();
}

Result<std::string> sign(const nlohmann::json& payload, const KeyMaterial& key) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Error(ErrorCode::internal, "libjwt cannot allocate a token");
  JwtPtr jwt(raw);
  const std::string grants = payload.dump();
  if (jwt_set_alg(jwt.get(), libjwt_algorithm(key.algorithm),
                  reinterpret_cast<const unsigned char*>(key.bytes.data()),
                  static_cast<int>(key.bytes.size())) != 0 ||
      jwt_add_grants_json(jwt.get(), grants.c_str()) != 0) {
    return Error(ErrorCode::internal, "libjwt refused the key or the claims of a token to mint");
  }
  MallocString token(jwt_encode_str(jwt.get()));
  discard_openssl_errors();
  if (!token) return Error(ErrorCode::internal, "libjwt could not sign a token");
  return std::string(token.get());
}

}  // namespace tandem::auth::detail
