// Specification of JWT verification and minting (src/auth/token.h).
//
// Keys are generated at test time with OpenSSL; attack tokens are built by hand (base64url of
// a crafted header and payload, signed with OpenSSL directly) so that no test depends on the
// code under test to produce its own counterexamples.
#include "auth/token.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace tandem::auth {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = std::chrono::system_clock;

// 2027-01-15T08:00:00Z: a fixed "now", so that every time claim below is exact.
constexpr std::int64_t kNowSeconds = 1'800'000'000;
const Clock::time_point kNow{seconds(kNowSeconds)};
const std::string kSecret = "an-hs256-secret-of-at-least-32-bytes!";

// --- OpenSSL test fixtures -------------------------------------------------------------------

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct BioDeleter {
  void operator()(BIO* bio) const noexcept { BIO_free_all(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

PkeyPtr generate_rsa(unsigned int bits) {
  return PkeyPtr(EVP_RSA_gen(bits));
}
PkeyPtr generate_ec(const char* curve) {
  return PkeyPtr(EVP_EC_gen(curve));
}
PkeyPtr generate_ed25519() {
  return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string public_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
  return bio_text(bio.get());
}

std::string private_pem(EVP_PKEY* key, const char* passphrase = nullptr) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  const EVP_CIPHER* cipher = passphrase != nullptr ? EVP_aes_256_cbc() : nullptr;
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), key, cipher, nullptr, 0, nullptr,
                                     const_cast<char*>(passphrase)),
            1);
  return bio_text(bio.get());
}

// A directory of its own under the system temp directory, removed when the tests end.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    m_path = std::filesystem::temp_directory_path() /
             ("tandem-auth-test-" + std::to_string(random()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(m_path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }

  std::string write(const std::string& name, const std::string& content) const {
    const auto path = m_path / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  std::string path_of(const std::string& name) const { return (m_path / name).string(); }

 private:
  std::filesystem::path m_path;
};

TempDir& temp_dir() {
  static TempDir dir;
  return dir;
}

// A key pair with its PEM files.
struct KeyPair {
  PkeyPtr key;
  std::string public_file;
  std::string private_file;
};

KeyPair make_key_pair(PkeyPtr key, const std::string& name) {
  EXPECT_NE(key, nullptr);
  KeyPair pair;
  pair.public_file = temp_dir().write(name + ".pub.pem", public_pem(key.get()));
  pair.private_file = temp_dir().write(name + ".key.pem", private_pem(key.get()));
  pair.key = std::move(key);
  return pair;
}

// Generated once: RSA key generation is slow, above all under the sanitizers.
const KeyPair& rsa_keys() {
  static const KeyPair keys = make_key_pair(generate_rsa(2048), "rsa");
  return keys;
}
const KeyPair& other_rsa_keys() {
  static const KeyPair keys = make_key_pair(generate_rsa(2048), "rsa-other");
  return keys;
}
const KeyPair& ec_keys() {
  static const KeyPair keys = make_key_pair(generate_ec("P-256"), "ec");
  return keys;
}
const KeyPair& other_ec_keys() {
  static const KeyPair keys = make_key_pair(generate_ec("P-256"), "ec-other");
  return keys;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// --- Signing by hand ---------------------------------------------------------------------------

using Signer = std::function<std::string(const std::string& signing_input)>;

std::string digest_sign(EVP_PKEY* key, const std::string& input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  std::size_t size = 0;
  EXPECT_EQ(EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  EXPECT_EQ(EVP_DigestSign(context.get(), nullptr, &size,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  std::string signature(size, '\0');
  EXPECT_EQ(EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  signature.resize(size);
  return signature;
}

Signer hs256_signer(std::string secret) {
  return [secret = std::move(secret)](const std::string& input) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
    return std::string(reinterpret_cast<const char*>(mac), size);
  };
}

Signer rs256_signer(EVP_PKEY* key) {
  return [key](const std::string& input) { return digest_sign(key, input); };
}

// JWS wants ECDSA signatures as the raw 32-byte r and s, not OpenSSL's DER.
Signer es256_signer(EVP_PKEY* key) {
  return [key](const std::string& input) {
    const std::string der = digest_sign(key, input);
    const auto* data = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* signature = d2i_ECDSA_SIG(nullptr, &data, static_cast<long>(der.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(signature), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(signature), reinterpret_cast<unsigned char*>(raw.data() + 32),
                 32);
    ECDSA_SIG_free(signature);
    return raw;
  };
}

std::string encoded_token(const std::string& header_text, const std::string& payload_text,
                          const Signer& signer) {
  const std::string input = base64url_encode(header_text) + "." + base64url_encode(payload_text);
  return input + "." + base64url_encode(signer(input));
}

std::string make_token(const json& header, const json& payload, const Signer& signer) {
  return encoded_token(header.dump(), payload.dump(), signer);
}

json header_for(const std::string& alg) {
  return {{"alg", alg}, {"typ", "JWT"}};
}

json valid_claims() {
  return {{"sub", "alice"}, {"exp", kNowSeconds + 3600}};
}

// --- Verifiers ---------------------------------------------------------------------------------

JwtOptions hs256_options() {
  JwtOptions options;
  options.hs256_secret = kSecret;
  return options;
}

JwtOptions rsa_options() {
  JwtOptions options;
  options.public_key_file = rsa_keys().public_file;
  return options;
}

JwtOptions ec_options() {
  JwtOptions options;
  options.public_key_file = ec_keys().public_file;
  return options;
}

std::shared_ptr<const TokenVerifier> verifier_for(const JwtOptions& options) {
  auto verifier = TokenVerifier::create(options);
  EXPECT_TRUE(verifier.ok()) << (verifier.ok() ? "" : verifier.error().message());
  return verifier.ok() ? *verifier : nullptr;
}

std::string bn_base64url(EVP_PKEY* key, const char* param, int pad_to = 0) {
  BIGNUM* number = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, param, &number), 1);
  std::string bytes(pad_to > 0 ? pad_to : BN_num_bytes(number), '\0');
  BN_bn2binpad(number, reinterpret_cast<unsigned char*>(bytes.data()),
               static_cast<int>(bytes.size()));
  BN_free(number);
  return base64url_encode(bytes);
}

json rsa_jwk(EVP_PKEY* key, const std::string& kid) {
  return {{"kty", "RSA"},
          {"kid", kid},
          {"use", "sig"},
          {"alg", "RS256"},
          {"n", bn_base64url(key, OSSL_PKEY_PARAM_RSA_N)},
          {"e", bn_base64url(key, OSSL_PKEY_PARAM_RSA_E)}};
}

json ec_jwk(EVP_PKEY* key, const std::string& kid) {
  return {{"kty", "EC"},
          {"kid", kid},
          {"crv", "P-256"},
          {"x", bn_base64url(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)},
          {"y", bn_base64url(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
}

JwtOptions jwks_options(const json& keys, const std::string& name = "jwks.json") {
  JwtOptions options;
  options.jwks_file = temp_dir().write(name, json{{"keys", keys}}.dump());
  return options;
}

json with(json base, const json& changes) {
  base.update(changes);
  return base;
}

// The default key set: an RSA key "r1" and an EC key "e1".
JwtOptions two_key_jwks_options() {
  return jwks_options(
      json::array({rsa_jwk(rsa_keys().key.get(), "r1"), ec_jwk(ec_keys().key.get(), "e1")}));
}

// --- Assertions --------------------------------------------------------------------------------

::testing::AssertionResult fails_with(const Result<Claims>& result, ErrorCode code,
                                      const std::string& message_part) {
  if (result.ok()) return ::testing::AssertionFailure() << "verified, subject " << result->subject;
  const std::string message(result.error().message());
  if (result.error().code() != code) {
    return ::testing::AssertionFailure()
           << "code " << error_code_name(result.error().code()) << ": " << message;
  }
  if (message.find(message_part) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "message \"" << message << "\" lacks \"" << message_part << "\"";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult unauthenticated(const Result<Claims>& result,
                                           const std::string& message_part) {
  return fails_with(result, ErrorCode::unauthenticated, message_part);
}

template <typename T>
::testing::AssertionResult config_invalid(const Result<T>& result,
                                          const std::string& message_part) {
  if (result.ok()) return ::testing::AssertionFailure() << "created";
  const std::string message(result.error().message());
  if (result.error().code() != ErrorCode::config_invalid) {
    return ::testing::AssertionFailure()
           << "code " << error_code_name(result.error().code()) << ": " << message;
  }
  if (message.find(message_part) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "message \"" << message << "\" lacks \"" << message_part << "\"";
  }
  return ::testing::AssertionSuccess();
}

Result<Claims> verify_hs256(const json& payload, const JwtOptions& options = hs256_options()) {
  return verifier_for(options)->verify(
      make_token(header_for("HS256"), payload, hs256_signer(kSecret)), kNow);
}

// --- Accepting valid tokens --------------------------------------------------------------------

TEST(TokenVerifier, AcceptsHs256TokenSignedWithSharedSecret) {
  auto claims = verify_hs256(valid_claims());
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_EQ(claims->role, Role::user);
  EXPECT_EQ(claims->tenant, std::nullopt);
  EXPECT_EQ(claims->expires_at, kNowSeconds + 3600);
}

TEST(TokenVerifier, AcceptsRs256TokenWithPemPublicKey) {
  const auto token =
      make_token(header_for("RS256"), valid_claims(), rs256_signer(rsa_keys().key.get()));
  auto claims = verifier_for(rsa_options())->verify(token, kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->subject, "alice");
}

TEST(TokenVerifier, AcceptsEs256TokenWithPemPublicKey) {
  const auto token =
      make_token(header_for("ES256"), valid_claims(), es256_signer(ec_keys().key.get()));
  auto claims = verifier_for(ec_options())->verify(token, kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->subject, "alice");
}

TEST(TokenVerifier, AcceptsPkcs1RsaPublicKeyPem) {
  // "-----BEGIN RSA PUBLIC KEY-----", as older tools write it.
  OSSL_ENCODER_CTX* encoder = OSSL_ENCODER_CTX_new_for_pkey(
      rsa_keys().key.get(), EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", nullptr);
  unsigned char* data = nullptr;
  std::size_t size = 0;
  ASSERT_EQ(OSSL_ENCODER_to_data(encoder, &data, &size), 1);
  OSSL_ENCODER_CTX_free(encoder);
  const std::string pem(reinterpret_cast<const char*>(data), size);
  OPENSSL_free(data);
  ASSERT_EQ(pem.rfind("-----BEGIN RSA PUBLIC KEY-----", 0), 0U);
  JwtOptions options;
  options.public_key_file = temp_dir().write("rsa-pkcs1.pub.pem", pem);
  const auto token =
      make_token(header_for("RS256"), valid_claims(), rs256_signer(rsa_keys().key.get()));
  auto claims = verifier_for(options)->verify(token, kNow);
  EXPECT_TRUE(claims.ok()) << claims.error().message();
}

TEST(TokenVerifier, AcceptsTokenWithoutTyp) {
  auto claims =
      verifier_for(hs256_options())
          ->verify(make_token({{"alg", "HS256"}}, valid_claims(), hs256_signer(kSecret)), kNow);
  EXPECT_TRUE(claims.ok()) << claims.error().message();
}

TEST(TokenVerifier, UsesTheCurrentTimeByDefault) {
  const auto now = std::chrono::duration_cast<seconds>(Clock::now().time_since_epoch()).count();
  const auto token = make_token(header_for("HS256"), {{"sub", "alice"}, {"exp", now + 600}},
                                hs256_signer(kSecret));
  EXPECT_TRUE(verifier_for(hs256_options())->verify(token).ok());
}

// --- Refusing unsigned tokens and the wrong algorithm -------------------------------------------

TEST(TokenVerifier, RefusesAlgNone) {
  for (const JwtOptions& options : {hs256_options(), rsa_options(), ec_options()}) {
    auto verifier = verifier_for(options);
    for (const std::string alg : {"none", "None", "NONE", "nOnE"}) {
      SCOPED_TRACE(alg);
      const std::string unsigned_token =
          base64url_encode(json{{"alg", alg}}.dump()) + "." +
          base64url_encode(json{{"sub", "admin"}, {"role", "admin"}}.dump()) + ".";
      EXPECT_TRUE(unauthenticated(verifier->verify(unsigned_token, kNow),
                                  "token algorithm " + alg + " not accepted"));
      // Nor does a signature part make an unsigned token acceptable.
      EXPECT_TRUE(unauthenticated(verifier->verify(unsigned_token + "c2ln", kNow),
                                  "token algorithm " + alg + " not accepted"));
    }
  }
}

TEST(TokenVerifier, RefusesHs256TokenSignedWithRsaPublicKeyAsSecret) {
  // The classic confusion attack: the public key is public, so an attacker can HMAC with it.
  const std::string pem = read_file(rsa_keys().public_file);
  const auto token =
      make_token(header_for("HS256"), {{"sub", "mallory"}, {"role", "admin"}}, hs256_signer(pem));
  EXPECT_TRUE(unauthenticated(verifier_for(rsa_options())->verify(token, kNow),
                              "token algorithm HS256 not accepted: the server expects RS256"));
}

TEST(TokenVerifier, RefusesHs256TokenSignedWithEcPublicKeyAsSecret) {
  const std::string pem = read_file(ec_keys().public_file);
  const auto token = make_token(header_for("HS256"), valid_claims(), hs256_signer(pem));
  EXPECT_TRUE(unauthenticated(verifier_for(ec_options())->verify(token, kNow),
                              "token algorithm HS256 not accepted: the server expects ES256"));
}

TEST(TokenVerifier, RefusesHs256TokenSignedWithJwksKeyAsSecret) {
  // The PEM libjwt would be handed is OpenSSL's SubjectPublicKeyInfo encoding of the JWK.
  const std::string pem = public_pem(rsa_keys().key.get());
  json header = header_for("HS256");
  header["kid"] = "r1";
  const auto token = make_token(header, valid_claims(), hs256_signer(pem));
  EXPECT_TRUE(unauthenticated(verifier_for(two_key_jwks_options())->verify(token, kNow),
                              "token algorithm HS256 not accepted: the server expects RS256"));
}

TEST(TokenVerifier, RefusesRs256TokenWhenSharedSecretIsConfigured) {
  const auto token =
      make_token(header_for("RS256"), valid_claims(), rs256_signer(rsa_keys().key.get()));
  EXPECT_TRUE(unauthenticated(verifier_for(hs256_options())->verify(token, kNow),
                              "token algorithm RS256 not accepted: the server expects HS256"));
}

TEST(TokenVerifier, RefusesEs256TokenWhenRsaKeyIsConfigured) {
  const auto token =
      make_token(header_for("ES256"), valid_claims(), es256_signer(ec_keys().key.get()));
  EXPECT_TRUE(unauthenticated(verifier_for(rsa_options())->verify(token, kNow),
                              "token algorithm ES256 not accepted: the server expects RS256"));
}

TEST(TokenVerifier, RefusesUnknownAlgorithms) {
  auto verifier = verifier_for(hs256_options());
  for (const std::string alg : {"HS512", "HS384", "PS256", "EdDSA", "hs256", "HS256 "}) {
    SCOPED_TRACE(alg);
    const auto token = make_token(header_for(alg), valid_claims(), hs256_signer(kSecret));
    EXPECT_TRUE(
        unauthenticated(verifier->verify(token, kNow), "not accepted: the server expects HS256"));
  }
}

TEST(TokenVerifier, RefusesLowercaseAlgorithmThatLibjwtWouldAccept) {
  const auto token =
      make_token(header_for("rs256"), valid_claims(), rs256_signer(rsa_keys().key.get()));
  EXPECT_TRUE(unauthenticated(verifier_for(rsa_options())->verify(token, kNow),
                              "token algorithm rs256 not accepted: the server expects RS256"));
}

TEST(TokenVerifier, RefusesHeaderWithoutStringAlg) {
  auto verifier = verifier_for(hs256_options());
  EXPECT_TRUE(unauthenticated(
      verifier->verify(make_token({{"typ", "JWT"}}, valid_claims(), hs256_signer(kSecret)), kNow),
      "token header has no alg"));
  EXPECT_TRUE(unauthenticated(
      verifier->verify(make_token({{"alg", 1}}, valid_claims(), hs256_signer(kSecret)), kNow),
      "token header alg must be a string"));
}

TEST(TokenVerifier, QuotesOddAlgorithmNamesInMessages) {
  const auto token =
      make_token(header_for("HS256\nforged log line"), valid_claims(), hs256_signer(kSecret));
  auto result = verifier_for(hs256_options())->verify(token, kNow);
  EXPECT_TRUE(unauthenticated(result, "token algorithm \"HS256\\nforged log line\" not accepted"));
}

TEST(TokenVerifier, RefusesCritHeader) {
  json header = header_for("HS256");
  header["crit"] = json::array({"b64"});
  header["b64"] = false;
  EXPECT_TRUE(
      unauthenticated(verifier_for(hs256_options())
                          ->verify(make_token(header, valid_claims(), hs256_signer(kSecret)), kNow),
                      "token header has crit"));
}

TEST(TokenVerifier, RefusesTypOtherThanJwt) {
  json header = header_for("HS256");
  header["typ"] = "at+jwt";
  EXPECT_TRUE(
      unauthenticated(verifier_for(hs256_options())
                          ->verify(make_token(header, valid_claims(), hs256_signer(kSecret)), kNow),
                      "token type at+jwt not accepted: expected JWT"));
}

TEST(TokenVerifier, IgnoresKeyEmbeddedInTheHeader) {
  // An attacker signs with their own key and offers it in the header (jwk); only the
  // configured key may ever be used.
  EVP_PKEY* attacker_key = other_ec_keys().key.get();
  json header = header_for("ES256");
  header["jwk"] = ec_jwk(attacker_key, "attacker");
  const auto token = make_token(header, valid_claims(), es256_signer(attacker_key));
  EXPECT_TRUE(unauthenticated(verifier_for(ec_options())->verify(token, kNow),
                              "token signature does not verify"));
}

// --- Refusing forged signatures ----------------------------------------------------------------

TEST(TokenVerifier, RefusesForgedSignature) {
  EXPECT_TRUE(unauthenticated(
      verifier_for(hs256_options())
          ->verify(make_token(header_for("HS256"), valid_claims(),
                              hs256_signer("another-secret-that-is-32-bytes-long!")),
                   kNow),
      "token signature does not verify"));
  EXPECT_TRUE(unauthenticated(verifier_for(rsa_options())
                                  ->verify(make_token(header_for("RS256"), valid_claims(),
                                                      rs256_signer(other_rsa_keys().key.get())),
                                           kNow),
                              "token signature does not verify"));
  EXPECT_TRUE(unauthenticated(verifier_for(ec_options())
                                  ->verify(make_token(header_for("ES256"), valid_claims(),
                                                      es256_signer(other_ec_keys().key.get())),
                                           kNow),
                              "token signature does not verify"));
}

TEST(TokenVerifier, RefusesTamperedPayload) {
  for (const auto& [options, alg, signer] :
       {std::tuple{hs256_options(), "HS256", hs256_signer(kSecret)},
        std::tuple{rsa_options(), "RS256", rs256_signer(rsa_keys().key.get())},
        std::tuple{ec_options(), "ES256", es256_signer(ec_keys().key.get())}}) {
    SCOPED_TRACE(alg);
    const std::string token = make_token(header_for(alg), valid_claims(), signer);
    json elevated = valid_claims();
    elevated["role"] = "admin";
    const std::string header_part = token.substr(0, token.find('.'));
    const std::string signature_part = token.substr(token.rfind('.'));
    const std::string tampered =
        header_part + "." + base64url_encode(elevated.dump()) + signature_part;
    EXPECT_TRUE(unauthenticated(verifier_for(options)->verify(tampered, kNow),
                                "token signature does not verify"));
  }
}

TEST(TokenVerifier, RefusesTruncatedEs256Signature) {
  const auto token = make_token(header_for("ES256"), valid_claims(), [](const std::string& input) {
    return es256_signer(ec_keys().key.get())(input).substr(0, 63);
  });
  EXPECT_TRUE(unauthenticated(verifier_for(ec_options())->verify(token, kNow),
                              "token signature does not verify"));
}

TEST(TokenVerifier, RefusesDerEncodedEs256Signature) {
  // OpenSSL's native ECDSA encoding is not the JWS one; it must not be accepted either.
  const auto token =
      make_token(header_for("ES256"), valid_claims(), rs256_signer(ec_keys().key.get()));
  EXPECT_TRUE(unauthenticated(verifier_for(ec_options())->verify(token, kNow),
                              "token signature does not verify"));
}

TEST(TokenVerifier, RefusesTokenWithoutSignature) {
  const auto token = make_token(header_for("HS256"), valid_claims(),
                                [](const std::string&) { return std::string(); });
  EXPECT_TRUE(unauthenticated(verifier_for(hs256_options())->verify(token, kNow),
                              "token has no signature"));
}

// --- Refusing malformed tokens -----------------------------------------------------------------

TEST(TokenVerifier, RefusesTokenWithoutExactlyThreeParts) {
  auto verifier = verifier_for(hs256_options());
  const std::string valid = make_token(header_for("HS256"), valid_claims(), hs256_signer(kSecret));
  EXPECT_TRUE(unauthenticated(verifier->verify("", kNow), "token is empty"));
  EXPECT_TRUE(unauthenticated(verifier->verify("abc", kNow), "3 dot-separated parts"));
  EXPECT_TRUE(unauthenticated(verifier->verify(valid.substr(0, valid.rfind('.')), kNow),
                              "3 dot-separated parts (header.payload.signature), not 2"));
  EXPECT_TRUE(unauthenticated(verifier->verify(valid + ".extra", kNow),
                              "3 dot-separated parts (header.payload.signature), not 4"));
}

TEST(TokenVerifier, RefusesInvalidBase64url) {
  auto verifier = verifier_for(hs256_options());
  const std::string valid = make_token(header_for("HS256"), valid_claims(), hs256_signer(kSecret));
  const auto first_dot = valid.find('.');
  const auto last_dot = valid.rfind('.');
  // Standard-alphabet characters, padding and whitespace are all refused.
  EXPECT_TRUE(unauthenticated(verifier->verify("+" + valid.substr(1), kNow),
                              "token header is not valid base64url"));
  EXPECT_TRUE(unauthenticated(
      verifier->verify(valid.substr(0, last_dot) + "=" + valid.substr(last_dot), kNow),
      "token payload is not valid base64url"));
  EXPECT_TRUE(unauthenticated(verifier->verify(valid + "=", kNow),
                              "token signature is not valid base64url"));
  EXPECT_TRUE(unauthenticated(
      verifier->verify(valid.substr(0, first_dot + 1) + " " + valid.substr(first_dot + 1), kNow),
      "token payload is not valid base64url"));
}

TEST(TokenVerifier, RefusesHeaderOrPayloadThatIsNotAJsonObject) {
  auto verifier = verifier_for(hs256_options());
  const auto signer = hs256_signer(kSecret);
  const std::string claims = valid_claims().dump();
  const std::string header = header_for("HS256").dump();
  EXPECT_TRUE(unauthenticated(verifier->verify(encoded_token("[\"HS256\"]", claims, signer), kNow),
                              "token header is not a JSON object"));
  EXPECT_TRUE(unauthenticated(verifier->verify(encoded_token("{\"alg\":", claims, signer), kNow),
                              "token header is not valid JSON"));
  EXPECT_TRUE(unauthenticated(verifier->verify(encoded_token(header, "\"alice\"", signer), kNow),
                              "token payload is not a JSON object"));
  EXPECT_TRUE(unauthenticated(verifier->verify(encoded_token(header, "sub=alice", signer), kNow),
                              "token payload is not valid JSON"));
}

// Found replaying fuzz/corpus/jwt: quoting a 5,900-level typ in the refusal overflowed the stack.
TEST(TokenVerifier, RefusesDeeplyNestedHeaderOrPayloadBeforeParsingIt) {
  auto verifier = verifier_for(hs256_options());
  const auto signer = hs256_signer(kSecret);
  const std::string nested = std::string(5900, '[') + std::string(5900, ']');
  const std::string header = R"({"alg":"HS256","typ":)" + nested + "}";
  EXPECT_TRUE(
      unauthenticated(verifier->verify(encoded_token(header, valid_claims().dump(), signer), kNow),
                      "token header is nested more than 32 levels deep"));
  const std::string payload = R"({"sub":"alice","role":)" + nested + "}";
  EXPECT_TRUE(unauthenticated(
      verifier->verify(encoded_token(header_for("HS256").dump(), payload, signer), kNow),
      "token payload is nested more than 32 levels deep"));
}

TEST(TokenVerifier, RefusesDuplicateMembers) {
  // Parsers disagree on which duplicate wins; a signed token must mean one thing.
  auto verifier = verifier_for(hs256_options());
  const auto signer = hs256_signer(kSecret);
  EXPECT_TRUE(unauthenticated(
      verifier->verify(
          encoded_token(R"({"alg":"HS256","alg":"none"})", valid_claims().dump(), signer), kNow),
      "token header has member \"alg\" more than once"));
  EXPECT_TRUE(unauthenticated(
      verifier->verify(encoded_token(header_for("HS256").dump(),
                                     R"({"sub":"alice","role":"user","role":"admin"})", signer),
                       kNow),
      "token payload has member \"role\" more than once"));
}

TEST(TokenVerifier, RefusesOversizedToken) {
  json claims = valid_claims();
  claims["padding"] = std::string(20000, 'x');
  EXPECT_TRUE(unauthenticated(verify_hs256(claims), "the limit is 16384"));
}

// --- Claims: time ------------------------------------------------------------------------------

TEST(TokenVerifier, RefusesExpiredTokenBeyondLeeway) {
  json claims = valid_claims();
  claims["exp"] = 1'795'428'000;  // 2026-11-23T10:00:00Z
  JwtOptions options = hs256_options();
  options.leeway = seconds(30);
  auto verifier = verifier_for(options);
  const auto token = make_token(header_for("HS256"), claims, hs256_signer(kSecret));
  const Clock::time_point expiry{seconds(1'795'428'000)};
  EXPECT_TRUE(fails_with(verifier->verify(token, expiry + seconds(30)), ErrorCode::token_expired,
                         "token expired at 2026-11-23T10:00:00Z"));
  EXPECT_TRUE(verifier->verify(token, expiry + seconds(29)).ok());
}

TEST(TokenVerifier, RefusesTokenAtItsExpiryWithoutLeeway) {
  JwtOptions options = hs256_options();
  options.leeway = seconds(0);
  json claims = valid_claims();
  claims["exp"] = kNowSeconds;
  EXPECT_TRUE(fails_with(verify_hs256(claims, options), ErrorCode::token_expired, "token expired"));
  claims["exp"] = kNowSeconds + 1;
  EXPECT_TRUE(verify_hs256(claims, options).ok());
}

TEST(TokenVerifier, RefusesTokenBeforeNotBeforeBeyondLeeway) {
  json claims = valid_claims();
  claims["nbf"] = kNowSeconds + 31;
  EXPECT_TRUE(fails_with(verify_hs256(claims), ErrorCode::token_expired,
                         "token not valid before 2027-01-15T08:00:31Z"));
  claims["nbf"] = kNowSeconds + 30;
  EXPECT_TRUE(verify_hs256(claims).ok());
}

TEST(TokenVerifier, RefusesTokenIssuedInTheFuture) {
  json claims = valid_claims();
  claims["iat"] = kNowSeconds + 3000;
  EXPECT_TRUE(unauthenticated(verify_hs256(claims), "token issued in the future"));
  claims["iat"] = kNowSeconds + 10;
  EXPECT_TRUE(verify_hs256(claims).ok());
}

TEST(TokenVerifier, AcceptsFractionalNumericDates) {
  json claims = valid_claims();
  claims["exp"] = kNowSeconds + 0.5;
  JwtOptions options = hs256_options();
  options.leeway = seconds(0);
  auto result = verify_hs256(claims, options);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->expires_at, kNowSeconds);
}

TEST(TokenVerifier, RefusesNonNumericOrOutOfRangeTimes) {
  for (const char* claim : {"exp", "nbf", "iat"}) {
    SCOPED_TRACE(claim);
    json claims = valid_claims();
    claims[claim] = "2027-01-15T08:00:00Z";
    EXPECT_TRUE(unauthenticated(verify_hs256(claims),
                                std::string("token ") + claim + " claim must be a number"));
    claims[claim] = 1e300;
    EXPECT_TRUE(unauthenticated(verify_hs256(claims), "out of range"));
    claims[claim] = -1;
    EXPECT_TRUE(unauthenticated(verify_hs256(claims), "out of range"));
  }
}

// A token without exp would be valid forever, and a session on it would never end.
TEST(TokenVerifier, RefusesTokenWithoutExpiryByDefault) {
  EXPECT_TRUE(unauthenticated(verify_hs256({{"sub", "alice"}}),
                              "token has no exp claim; the server requires tokens that expire"));
  EXPECT_TRUE(unauthenticated(verify_hs256({{"sub", "alice"}, {"nbf", kNowSeconds - 60}}),
                              "token has no exp claim"));
}

TEST(TokenVerifier, AcceptsTokenWithoutExpiryWhenExpiryIsNotRequired) {
  JwtOptions options = hs256_options();
  options.require_exp = false;
  auto claims = verify_hs256({{"sub", "alice"}}, options);
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->expires_at, std::nullopt);
}

TEST(TokenVerifier, TokenIsValidUntilExpiryPlusLeeway) {
  JwtOptions options = hs256_options();
  options.leeway = seconds(30);
  const auto verifier = verifier_for(options);
  const auto until = verifier->valid_until(kNowSeconds);
  EXPECT_EQ(until, std::chrono::system_clock::time_point(seconds(kNowSeconds + 30)));
  json claims = valid_claims();
  claims["exp"] = kNowSeconds;
  const auto token = make_token(header_for("HS256"), claims, hs256_signer(kSecret));
  EXPECT_TRUE(verifier->verify(token, until - std::chrono::milliseconds(1)).ok());
  EXPECT_EQ(verifier->verify(token, until).error().code(), ErrorCode::token_expired);
}

// --- Claims: issuer, audience, subject, role, tenant --------------------------------------------

TEST(TokenVerifier, ChecksIssuerWhenConfigured) {
  JwtOptions options = hs256_options();
  options.issuer = "https://auth.example.com";
  json claims = valid_claims();
  EXPECT_TRUE(unauthenticated(verify_hs256(claims, options),
                              "token has no iss claim; the server expects issuer "
                              "\"https://auth.example.com\""));
  claims["iss"] = "https://evil.example.com";
  EXPECT_TRUE(unauthenticated(verify_hs256(claims, options),
                              "token issuer \"https://evil.example.com\" not accepted"));
  claims["iss"] = "https://auth.example.com";
  EXPECT_TRUE(verify_hs256(claims, options).ok());
}

TEST(TokenVerifier, RefusesWrongAudience) {
  JwtOptions options = hs256_options();
  options.audience = "tandem";
  json claims = valid_claims();
  claims["aud"] = "billing";
  EXPECT_TRUE(unauthenticated(verify_hs256(claims, options),
                              "token audience \"billing\" does not include \"tandem\""));
  claims["aud"] = json::array({"billing", "reports"});
  EXPECT_TRUE(unauthenticated(verify_hs256(claims, options),
                              R"(token audience ["billing","reports"] does not include "tandem")"));
  claims.erase("aud");
  EXPECT_TRUE(unauthenticated(verify_hs256(claims, options), "token has no aud claim"));
  claims["aud"] = json::array({"tandem", 7});
  EXPECT_TRUE(unauthenticated(verify_hs256(claims, options),
                              "token aud claim must be a string or an array of strings"));
}

TEST(TokenVerifier, AcceptsAudienceAsStringOrArray) {
  JwtOptions options = hs256_options();
  options.audience = "tandem";
  json claims = valid_claims();
  claims["aud"] = "tandem";
  EXPECT_TRUE(verify_hs256(claims, options).ok());
  claims["aud"] = json::array({"billing", "tandem"});
  EXPECT_TRUE(verify_hs256(claims, options).ok());
}

TEST(TokenVerifier, PrefersWrongAudienceOverExpiry) {
  // A client told "expired" would fetch a new token for the same wrong audience.
  JwtOptions options = hs256_options();
  options.audience = "tandem";
  json claims = {{"sub", "alice"}, {"aud", "billing"}, {"exp", kNowSeconds - 3600}};
  EXPECT_TRUE(unauthenticated(verify_hs256(claims, options), "does not include \"tandem\""));
}

TEST(TokenVerifier, RequiresNonEmptyStringSubject) {
  EXPECT_TRUE(unauthenticated(verify_hs256({{"exp", kNowSeconds + 60}}), "token has no sub claim"));
  EXPECT_TRUE(
      unauthenticated(verify_hs256({{"sub", ""}}), "token sub claim must be a non-empty string"));
  EXPECT_TRUE(
      unauthenticated(verify_hs256({{"sub", 42}}), "token sub claim must be a non-empty string"));
}

TEST(TokenVerifier, ReadsRoleFromRoleClaim) {
  json claims = valid_claims();
  claims["role"] = "admin";
  EXPECT_EQ(verify_hs256(claims)->role, Role::admin);
  claims["role"] = "user";
  EXPECT_EQ(verify_hs256(claims)->role, Role::user);
  claims.erase("role");
  EXPECT_EQ(verify_hs256(claims)->role, Role::user);
}

// A custom role is a user to everything but a rules file that names it; only "admin" is
// an admin. A near miss of a role name is refused, not taken for a custom role.
TEST(TokenVerifier, AcceptsCustomRolesAsUsersAndRefusesMalformedOnes) {
  json claims = valid_claims();
  claims["role"] = "editor";
  auto editor = verify_hs256(claims);
  ASSERT_TRUE(editor.ok()) << editor.error().message();
  EXPECT_EQ(editor->role, Role::user);
  EXPECT_EQ(editor->role_name, "editor");
  claims["role"] = "Admin";
  EXPECT_TRUE(unauthenticated(verify_hs256(claims), "token role claim \"Admin\" is not a role"));
  claims["role"] = "team lead";
  EXPECT_TRUE(unauthenticated(verify_hs256(claims), "is not a role"));
  claims["role"] = true;
  EXPECT_TRUE(unauthenticated(verify_hs256(claims), "token role claim true is not a role"));
}

TEST(TokenVerifier, KeepsEveryScalarOrListClaimForTheRules) {
  json claims = valid_claims();
  claims["groups"] = {"red", "blue"};
  claims["level"] = 3;
  claims["beta"] = true;
  claims["profile"] = {{"nested", "objects are not rule values"}};
  auto result = verify_hs256(claims);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->values.at("groups"), (ClaimValue{{"red", "blue"}, true}));
  EXPECT_EQ(result->values.at("level"), (ClaimValue{{3}, false}));
  EXPECT_EQ(result->values.at("beta"), (ClaimValue{{1}, false}));
  EXPECT_EQ(result->values.at("sub"), (ClaimValue{{result->subject}, false}));
  EXPECT_FALSE(result->values.contains("profile"));
}

TEST(TokenVerifier, ReadsRoleAndTenantFromConfiguredClaims) {
  JwtOptions options = hs256_options();
  options.role_claim = "https://tandem.dev/role";
  options.tenant_claim = "org";
  json claims = valid_claims();
  claims["https://tandem.dev/role"] = "admin";
  claims["org"] = "acme";
  claims["role"] = "superuser";  // not the configured claim: ignored
  auto result = verify_hs256(claims, options);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->role, Role::admin);
  EXPECT_EQ(result->tenant, "acme");
}

TEST(TokenVerifier, ReadsOptionalStringTenant) {
  json claims = valid_claims();
  claims["tenant"] = "acme";
  EXPECT_EQ(verify_hs256(claims)->tenant, "acme");
  claims["tenant"] = 7;
  EXPECT_TRUE(
      unauthenticated(verify_hs256(claims), "token tenant claim must be a non-empty string"));
  claims["tenant"] = "";
  EXPECT_TRUE(
      unauthenticated(verify_hs256(claims), "token tenant claim must be a non-empty string"));
}

// --- JWKS --------------------------------------------------------------------------------------

TEST(TokenVerifier, AcceptsRs256FromJwksByKid) {
  json header = header_for("RS256");
  header["kid"] = "r1";
  const auto token = make_token(header, valid_claims(), rs256_signer(rsa_keys().key.get()));
  auto claims = verifier_for(two_key_jwks_options())->verify(token, kNow);
  EXPECT_TRUE(claims.ok()) << claims.error().message();
}

TEST(TokenVerifier, AcceptsEs256FromJwksByKid) {
  json header = header_for("ES256");
  header["kid"] = "e1";
  const auto token = make_token(header, valid_claims(), es256_signer(ec_keys().key.get()));
  auto claims = verifier_for(two_key_jwks_options())->verify(token, kNow);
  EXPECT_TRUE(claims.ok()) << claims.error().message();
}

TEST(TokenVerifier, RefusesAlgorithmOtherThanTheKidKeys) {
  json header = header_for("ES256");
  header["kid"] = "r1";
  const auto token = make_token(header, valid_claims(), es256_signer(ec_keys().key.get()));
  EXPECT_TRUE(unauthenticated(verifier_for(two_key_jwks_options())->verify(token, kNow),
                              "token algorithm ES256 not accepted: the server expects RS256"));
}

TEST(TokenVerifier, RefusesUnknownKid) {
  json header = header_for("RS256");
  header["kid"] = "r2";
  const auto token = make_token(header, valid_claims(), rs256_signer(rsa_keys().key.get()));
  EXPECT_TRUE(unauthenticated(verifier_for(two_key_jwks_options())->verify(token, kNow),
                              "token kid \"r2\" matches no key in the key set"));
  header["kid"] = 1;
  EXPECT_TRUE(unauthenticated(
      verifier_for(two_key_jwks_options())
          ->verify(make_token(header, valid_claims(), rs256_signer(rsa_keys().key.get())), kNow),
      "token header kid must be a string"));
}

TEST(TokenVerifier, RefusesTokenWithoutKidWhenKeySetHasSeveralKeys) {
  const auto token =
      make_token(header_for("RS256"), valid_claims(), rs256_signer(rsa_keys().key.get()));
  EXPECT_TRUE(unauthenticated(verifier_for(two_key_jwks_options())->verify(token, kNow),
                              "token has no kid, and the key set has 2 keys"));
}

TEST(TokenVerifier, AcceptsTokenWithoutKidWhenKeySetHasOneKey) {
  json jwk = ec_jwk(ec_keys().key.get(), "e1");
  jwk.erase("kid");
  const auto token =
      make_token(header_for("ES256"), valid_claims(), es256_signer(ec_keys().key.get()));
  auto claims = verifier_for(jwks_options(json::array({jwk}), "one-key.json"))->verify(token, kNow);
  EXPECT_TRUE(claims.ok()) << claims.error().message();
}

TEST(TokenVerifier, RefusesForgedSignatureFromJwksKey) {
  json header = header_for("RS256");
  header["kid"] = "r1";
  const auto token = make_token(header, valid_claims(), rs256_signer(other_rsa_keys().key.get()));
  EXPECT_TRUE(unauthenticated(verifier_for(two_key_jwks_options())->verify(token, kNow),
                              "token signature does not verify"));
}

TEST(TokenVerifierConfig, RejectsMalformedKeySets) {
  const std::string file = temp_dir().write("bad.json", "{\"keys\": [");
  JwtOptions options;
  options.jwks_file = file;
  EXPECT_TRUE(
      config_invalid(TokenVerifier::create(options), "jwks_file " + file + " is not valid JSON"));
  options.jwks_file = temp_dir().write("array.json", "[]");
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options), "is not a JSON Web Key Set"));
  EXPECT_TRUE(config_invalid(TokenVerifier::create(jwks_options(json::array(), "empty.json")),
                             "has no keys"));
}

TEST(TokenVerifierConfig, RejectsUnusableJwks) {
  const json rsa = rsa_jwk(rsa_keys().key.get(), "r1");
  const json ec = ec_jwk(ec_keys().key.get(), "e1");
  struct Case {
    json key;
    std::string message;
  };
  std::vector<Case> cases = {
      {with(rsa, {{"alg", "RS512"}}),
       "keys[0] (kid \"r1\"): \"alg\" is \"RS512\", but the key is for RS256"},
      {with(ec, {{"alg", "RS256"}}), "\"alg\" is \"RS256\", but the key is for ES256"},
      {with(rsa, {{"use", "enc"}}), "\"use\" is \"enc\"; only signature keys"},
      {with(ec, {{"d", "c2VjcmV0"}}), "holds private or symmetric key material (\"d\")"},
      {with(ec, {{"crv", "P-384"}}), "curve \"P-384\" is not supported"},
      {with(ec, {{"x", base64url_encode(std::string(31, 'x'))}}), "\"x\" is 31 bytes"},
      {with(ec, {{"y", ec["x"]}}), "the parameters do not form an EC public key"},
      {with(rsa, {{"n", "not base64url!"}}), "\"n\" is not base64url"},
      {with(rsa, {{"kty", "OKP"}}), "key type \"OKP\" is not supported"},
      {with(rsa, {{"kid", 5}}), "\"kid\" must be a string"},
      {rsa_jwk(generate_rsa(1024).get(), "small"), "the RSA key has 1024 bits; at least 2048"},
      {json("not an object"), "keys[0] is not a JSON object"},
  };
  for (const auto& [key, message] : cases) {
    SCOPED_TRACE(message);
    EXPECT_TRUE(config_invalid(TokenVerifier::create(jwks_options(json::array({key}), "case.json")),
                               message));
  }
}

TEST(TokenVerifierConfig, RejectsDuplicateKids) {
  const json keys =
      json::array({rsa_jwk(rsa_keys().key.get(), "same"), ec_jwk(ec_keys().key.get(), "same")});
  EXPECT_TRUE(config_invalid(TokenVerifier::create(jwks_options(keys, "dup.json")),
                             "keys[1] (kid \"same\"): another key has the same kid"));
}

// --- Verifier configuration --------------------------------------------------------------------

TEST(TokenVerifierConfig, RejectsMissingKey) {
  EXPECT_TRUE(config_invalid(TokenVerifier::create(JwtOptions{}), "no JWT key is configured"));
}

TEST(TokenVerifierConfig, RejectsSeveralKeySources) {
  JwtOptions options = rsa_options();
  options.hs256_secret = kSecret;
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options),
                             "several JWT key sources are configured (hs256_secret, "
                             "public_key_file); set exactly one"));
}

TEST(TokenVerifierConfig, RejectsShortHs256Secret) {
  JwtOptions options;
  options.hs256_secret = "short-secret-31-bytes-long-abcd";
  auto result = TokenVerifier::create(options);
  EXPECT_TRUE(config_invalid(
      result, "hs256_secret is 31 bytes; HS256 needs a secret of at least 32 bytes"));
  EXPECT_EQ(std::string(result.error().message()).find(options.hs256_secret), std::string::npos);
}

TEST(TokenVerifierConfig, RejectsUnreadableKeyFileNamingIt) {
  JwtOptions options;
  options.public_key_file = temp_dir().path_of("missing.pem");
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options),
                             "cannot read public_key_file " + options.public_key_file + ": "));
  options.public_key_file.clear();
  options.jwks_file = temp_dir().path_of("missing.json");
  EXPECT_TRUE(
      config_invalid(TokenVerifier::create(options), "cannot read jwks_file " + options.jwks_file));
}

TEST(TokenVerifierConfig, RejectsFileThatIsNotAPemPublicKey) {
  JwtOptions options;
  options.public_key_file = temp_dir().write("garbage.pem", "hello");
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options), "is not a PEM public key"));
}

TEST(TokenVerifierConfig, RejectsPrivateKeyAsPublicKeyFile) {
  JwtOptions options;
  options.public_key_file = rsa_keys().private_file;
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options), "holds a private key"));
}

TEST(TokenVerifierConfig, RejectsUnsupportedPublicKeys) {
  JwtOptions options;
  options.public_key_file = temp_dir().write("rsa1024.pem", public_pem(generate_rsa(1024).get()));
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options),
                             "the RSA key has 1024 bits; at least 2048 are required"));
  options.public_key_file = temp_dir().write("p384.pem", public_pem(generate_ec("P-384").get()));
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options),
                             "EC keys on curve secp384r1 are not supported; only P-256"));
  options.public_key_file = temp_dir().write("ed25519.pem", public_pem(generate_ed25519().get()));
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options), "ED25519 keys are not supported"));
}

TEST(TokenVerifierConfig, RejectsBadClaimSettings) {
  JwtOptions options = hs256_options();
  options.role_claim = "sub";
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options), "role_claim \"sub\" is a registered"));
  options.role_claim = "tenant";
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options), "they must differ"));
  options.role_claim = "";
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options), "role_claim must name a claim"));
  options = hs256_options();
  options.leeway = seconds(-1);
  EXPECT_TRUE(config_invalid(TokenVerifier::create(options), "leeway must not be negative"));
}

// --- Robustness --------------------------------------------------------------------------------

TEST(TokenVerifier, MessagesNeverContainTheSecret) {
  auto verifier = verifier_for(hs256_options());
  const std::vector<std::string> tokens = {
      make_token(header_for("HS256"), valid_claims(), hs256_signer("x")),
      make_token(header_for("HS512"), valid_claims(), hs256_signer(kSecret)),
      make_token(header_for("HS256"), {{"sub", "a"}, {"exp", 1}}, hs256_signer(kSecret)),
  };
  for (const auto& token : tokens) {
    auto result = verifier->verify(token, kNow);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(std::string(result.error().message()).find(kSecret), std::string::npos);
  }
}

TEST(TokenVerifier, LeavesNoOpenSslErrorsOnTheThread) {
  // libjwt leaves errors on OpenSSL's per-thread queue when a signature fails; TLS code on the
  // same thread would later mistake them for its own.
  ERR_clear_error();
  verifier_for(rsa_options())
      ->verify(
          make_token(header_for("RS256"), valid_claims(), rs256_signer(other_rsa_keys().key.get())),
          kNow)
      .ok();
  verifier_for(ec_options())
      ->verify(make_token(header_for("ES256"), valid_claims(), hs256_signer("garbage")), kNow)
      .ok();
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST(TokenVerifier, VerifiesConcurrently) {
  auto hs = verifier_for(hs256_options());
  auto rs = verifier_for(rsa_options());
  auto es = verifier_for(ec_options());
  const auto hs_token = make_token(header_for("HS256"), valid_claims(), hs256_signer(kSecret));
  const auto rs_token =
      make_token(header_for("RS256"), valid_claims(), rs256_signer(rsa_keys().key.get()));
  const auto es_token =
      make_token(header_for("ES256"), valid_claims(), es256_signer(ec_keys().key.get()));
  const auto forged =
      make_token(header_for("RS256"), valid_claims(), rs256_signer(other_rsa_keys().key.get()));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        if (!hs->verify(hs_token, kNow).ok()) ++wrong;
        if (!rs->verify(rs_token, kNow).ok()) ++wrong;
        if (!es->verify(es_token, kNow).ok()) ++wrong;
        if (rs->verify(forged, kNow).ok()) ++wrong;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// --- Minting -----------------------------------------------------------------------------------

// (Designated initializers would trip -Wmissing-field-initializers on MintRequest::tenant.)
MintRequest request_for(std::string subject, Role role = Role::user,
                        std::optional<std::string> tenant = std::nullopt,
                        seconds ttl = std::chrono::hours(24)) {
  MintRequest request;
  request.subject = std::move(subject);
  request.role = role;
  request.tenant = std::move(tenant);
  request.ttl = ttl;
  return request;
}

std::shared_ptr<const TokenMinter> minter_for(const JwtOptions& options) {
  auto minter = TokenMinter::create(options);
  EXPECT_TRUE(minter.ok()) << (minter.ok() ? "" : minter.error().message());
  return minter.ok() ? *minter : nullptr;
}

json decoded_part(const std::string& token, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i)
    start = token.find('.', start) + 1;
  const auto end = token.find('.', start);
  return json::parse(*base64url_decode(token.substr(start, end - start)));
}

void expect_minted_token_verifies(JwtOptions mint_options, const JwtOptions& verify_options,
                                  const std::string& alg) {
  SCOPED_TRACE(alg);
  mint_options.issuer = "https://tandem.example.com";
  mint_options.audience = "tandem";
  JwtOptions checking = verify_options;
  checking.issuer = mint_options.issuer;
  checking.audience = mint_options.audience;
  auto token =
      minter_for(mint_options)->mint(request_for("bob", Role::admin, "acme", seconds(600)), kNow);
  ASSERT_TRUE(token.ok()) << token.error().message();
  EXPECT_EQ(decoded_part(*token, 0), (json{{"alg", alg}, {"typ", "JWT"}}));
  auto claims = verifier_for(checking)->verify(*token, kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->subject, "bob");
  EXPECT_EQ(claims->role, Role::admin);
  EXPECT_EQ(claims->tenant, "acme");
  EXPECT_EQ(claims->expires_at, kNowSeconds + 600);
}

TEST(TokenMinter, MintedHs256TokenVerifies) {
  expect_minted_token_verifies(hs256_options(), hs256_options(), "HS256");
}

TEST(TokenMinter, MintedRs256TokenVerifies) {
  JwtOptions options;
  options.private_key_file = rsa_keys().private_file;
  expect_minted_token_verifies(options, rsa_options(), "RS256");
}

TEST(TokenMinter, MintedEs256TokenVerifies) {
  JwtOptions options;
  options.private_key_file = ec_keys().private_file;
  expect_minted_token_verifies(options, ec_options(), "ES256");
}

TEST(TokenMinter, MintedTokenVerifiesAgainstJwks) {
  JwtOptions options;
  options.private_key_file = ec_keys().private_file;
  auto token = minter_for(options)->mint(request_for("bob"), kNow);
  ASSERT_TRUE(token.ok()) << token.error().message();
  json jwk = ec_jwk(ec_keys().key.get(), "e1");
  auto claims = verifier_for(jwks_options(json::array({jwk}), "mint.json"))->verify(*token, kNow);
  EXPECT_TRUE(claims.ok()) << claims.error().message();
}

TEST(TokenMinter, WritesTheDocumentedClaims) {
  JwtOptions options = hs256_options();
  options.role_claim = "https://tandem.dev/role";
  options.tenant_claim = "org";
  auto token = minter_for(options)->mint(request_for("bob", Role::user, "acme", seconds(60)),
                                         kNow + std::chrono::milliseconds(900));
  ASSERT_TRUE(token.ok()) << token.error().message();
  EXPECT_EQ(decoded_part(*token, 1), (json{{"sub", "bob"},
                                           {"https://tandem.dev/role", "user"},
                                           {"org", "acme"},
                                           {"iat", kNowSeconds},
                                           {"exp", kNowSeconds + 60}}));
}

TEST(TokenMinter, OmitsAbsentTenant) {
  auto token = minter_for(hs256_options())->mint(request_for("bob"), kNow);
  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(decoded_part(*token, 1).contains("tenant"));
  EXPECT_EQ(decoded_part(*token, 1)["exp"], kNowSeconds + 24 * 3600);
}

TEST(TokenMinter, MintedTokenExpiresAfterTtlAndLeeway) {
  auto token = minter_for(hs256_options())
                   ->mint(request_for("bob", Role::user, std::nullopt, seconds(60)), kNow);
  ASSERT_TRUE(token.ok());
  auto verifier = verifier_for(hs256_options());
  EXPECT_TRUE(verifier->verify(*token, kNow + seconds(89)).ok());
  EXPECT_TRUE(fails_with(verifier->verify(*token, kNow + seconds(90)), ErrorCode::token_expired,
                         "token expired at 2027-01-15T08:01:00Z"));
}

TEST(TokenMinter, RefusesInvalidRequests) {
  auto minter = minter_for(hs256_options());
  auto code_of = [&](const MintRequest& request) {
    auto token = minter->mint(request, kNow);
    return token.ok() ? ErrorCode::ok : token.error().code();
  };
  EXPECT_EQ(code_of(request_for("")), ErrorCode::bad_request);
  EXPECT_EQ(code_of(request_for("bob", Role::user, "")), ErrorCode::bad_request);
  EXPECT_EQ(code_of(request_for("bob", Role::user, std::nullopt, seconds(0))),
            ErrorCode::bad_request);
  EXPECT_EQ(code_of(request_for(std::string("bo\0b", 4))), ErrorCode::bad_request);
  EXPECT_EQ(code_of(request_for("\xff\xfe")), ErrorCode::bad_request);
}

TEST(TokenMinter, MintsConcurrently) {
  JwtOptions options;
  options.private_key_file = ec_keys().private_file;
  auto minter = minter_for(options);
  auto verifier = verifier_for(ec_options());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string subject = "user-" + std::to_string(t) + "-" + std::to_string(i);
        auto token = minter->mint(request_for(subject), kNow);
        if (!token.ok()) {
          ++wrong;
          continue;
        }
        auto claims = verifier->verify(*token, kNow);
        if (!claims.ok() || claims->subject != subject) ++wrong;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(TokenMinterConfig, RejectsMissingOrAmbiguousKey) {
  EXPECT_TRUE(config_invalid(TokenMinter::create(JwtOptions{}), "no key to mint tokens with"));
  JwtOptions options = hs256_options();
  options.private_key_file = rsa_keys().private_file;
  EXPECT_TRUE(config_invalid(TokenMinter::create(options),
                             "both hs256_secret and private_key_file are configured"));
}

TEST(TokenMinterConfig, RejectsShortHs256Secret) {
  JwtOptions options;
  options.hs256_secret = "too-short";
  EXPECT_TRUE(config_invalid(TokenMinter::create(options), "hs256_secret is 9 bytes"));
}

TEST(TokenMinterConfig, RejectsEncryptedOrUnsupportedPrivateKey) {
  JwtOptions options;
  options.private_key_file =
      temp_dir().write("encrypted.pem", private_pem(ec_keys().key.get(), "passphrase"));
  EXPECT_TRUE(config_invalid(
      TokenMinter::create(options),
      "private_key_file " + options.private_key_file + " is not an unencrypted PEM private key"));
  options.private_key_file = rsa_keys().public_file;
  EXPECT_TRUE(
      config_invalid(TokenMinter::create(options), "is not an unencrypted PEM private key"));
  options.private_key_file =
      temp_dir().write("p384.key.pem", private_pem(generate_ec("P-384").get()));
  EXPECT_TRUE(config_invalid(TokenMinter::create(options), "EC keys on curve secp384r1"));
  options.private_key_file = temp_dir().path_of("missing.key.pem");
  EXPECT_TRUE(config_invalid(TokenMinter::create(options),
                             "cannot read private_key_file " + options.private_key_file));
}

TEST(Role, HasProtocolNames) {
  EXPECT_EQ(role_name(Role::user), "user");
  EXPECT_EQ(role_name(Role::admin), "admin");
}

}  // namespace
}  // namespace tandem::auth
