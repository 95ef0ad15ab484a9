#include "auth/signature.h"

#include <jwt.h>
#include <openssl/crypto.h>
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

}  // namespace

Status verify_signature(std::string_view token, const DecodedToken& decoded,
                        const KeyMaterial& key) {
  if (decoded.signature.empty()) {
    return Error(ErrorCode::unauthenticated, "token has no signature");
  }
  // With no key, jwt_decode accepts alg "none" and HMACs with an empty key.
  if (key.bytes.empty()) return bad_signature();
  if (key.algorithm == Algorithm::hs256 &&
      !hmac_matches(decoded.signing_input, decoded.signature, key.bytes)) {
    return bad_signature();
  }
  const std::string text(token);  // libjwt wants a NUL-terminated string
  jwt_t* raw = nullptr;
  const int rc =
      jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key.bytes.data()),
                 static_cast<int>(key.bytes.size()));
  JwtPtr jwt(raw);
  discard_openssl_errors();
  // libjwt picks the algorithm from the header; insist it verified with the key's own.
  if (rc != 0 || !jwt || jwt_get_alg(jwt.get()) != libjwt_algorithm(key.algorithm)) {
    return bad_signature();
  }
  return ok_status();
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
