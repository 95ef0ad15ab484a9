// Key material for JWT verification and minting, loaded and checked once at startup.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/openssl_util.h"
#include "auth/token.h"
#include "common/result.h"

namespace tandem::auth::detail {

// The algorithms Tandem supports. A key allows exactly one of them.
enum class Algorithm { hs256, rs256, es256 };

// "HS256", "RS256" or "ES256": the JOSE name.
std::string_view algorithm_name(Algorithm algorithm) noexcept;

// A key, as bytes (what libjwt takes to sign) and, for verification with a public key, parsed
// once: parsing a PEM costs far more than checking an RSA signature. A fully built EVP_PKEY is
// safe to use from several threads at once (OpenSSL 3), so one key serves concurrent
// verifications.
struct KeyMaterial {
  Algorithm algorithm = Algorithm::hs256;
  std::optional<std::string> kid;  // from a JWKS; tokens select their key by it
  std::string bytes;               // the HMAC secret, a SubjectPublicKeyInfo PEM or a PKCS#8 PEM
  std::shared_ptr<EVP_PKEY> public_key;  // RS256 and ES256 verification keys

  KeyMaterial() = default;
  KeyMaterial(Algorithm alg, std::optional<std::string> key_id, std::string key_bytes,
              std::shared_ptr<EVP_PKEY> verification_key = nullptr)
      : algorithm(alg),
        kid(std::move(key_id)),
        bytes(std::move(key_bytes)),
        public_key(std::move(verification_key)) {}
  KeyMaterial(const KeyMaterial&) = default;
  KeyMaterial(KeyMaterial&&) = default;
  KeyMaterial& operator=(const KeyMaterial&) = default;
  KeyMaterial& operator=(KeyMaterial&&) = default;
  // Secrets and private keys should not outlive their use in freed heap memory.
  ~KeyMaterial();
};

// The keys a verifier accepts, from the one key source the options configure.
Result<std::vector<KeyMaterial>> load_verification_keys(const JwtOptions& options);

// The key a minter signs with: the HS256 secret or the PEM private key.
Result<KeyMaterial> load_signing_key(const JwtOptions& options);

// The algorithm a public or private key is used with, or config_invalid (naming `source`)
// for key types and sizes Tandem does not accept.
Result<Algorithm> algorithm_for_key(const EVP_PKEY* key, std::string_view source);

// Checks the public part of `key` (point on the curve, sane RSA modulus and exponent) and
// returns it as a SubjectPublicKeyInfo PEM, the only public key format libjwt reads.
Result<std::string> checked_public_key_pem(EVP_PKEY* key, std::string_view source);

// A verification key for a public key that passed algorithm_for_key and checked_public_key_pem.
KeyMaterial verification_key(Algorithm algorithm, std::optional<std::string> kid, std::string pem,
                             PkeyPtr key);

}  // namespace tandem::auth::detail
