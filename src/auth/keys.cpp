#include "auth/keys.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "auth/jwks.h"
#include "auth/openssl_util.h"

namespace tandem::auth::detail {
namespace {

// RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
constexpr std::size_t kMinHs256SecretBytes = 32;
constexpr int kMinRsaBits = 2048;
// Key files are a few kilobytes; a bigger file is a configuration mistake, not a key.
constexpr std::uintmax_t kMaxKeyFileBytes = std::uintmax_t{1024} * 1024;

Error config_error(const std::string& message) {
  return Error(ErrorCode::config_invalid, message);
}

Result<std::string> read_key_file(const std::string& path, std::string_view option) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return config_error(fmt::format("cannot read {} {}: {}", option, path, ec.message()));
  if (!std::filesystem::is_regular_file(status)) {
    return config_error(fmt::format("cannot read {} {}: not a regular file", option, path));
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxKeyFileBytes) {
    return config_error(
        fmt::format("{} {} is {} bytes, too large for a key file", option, path, size));
  }
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.good() && !in.eof()) {
    return config_error(fmt::format("cannot read {} {}: read error", option, path));
  }
  return text;
}

bool holds_private_key(std::string_view pem) {
  return pem.find("PRIVATE KEY-----") != std::string_view::npos;
}

PkeyPtr decode_public_key_pem(std::string_view pem) {
  EVP_PKEY* key = nullptr;
  DecoderCtxPtr decoder(OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", nullptr, nullptr,
                                                      EVP_PKEY_PUBLIC_KEY, nullptr, nullptr));
  auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  std::size_t size = pem.size();
  if (!decoder || OSSL_DECODER_from_data(decoder.get(), &data, &size) != 1) {
    discard_openssl_errors();
    return nullptr;
  }
  return PkeyPtr(key);
}

// Without this callback OpenSSL would prompt on the terminal for an encrypted key's
// passphrase; a server must fail instead.
int refuse_passphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) {
  return -1;
}

PkeyPtr decode_private_key_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, &refuse_passphrase, nullptr)
                  : nullptr);
  if (!key) discard_openssl_errors();
  return key;
}

Result<std::string> private_key_pem(EVP_PKEY* key, std::string_view source) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    discard_openssl_errors();
    return config_error(fmt::format("{}: the private key cannot be re-encoded", source));
  }
  return bio_contents(bio.get());
}

std::string ec_group_name(const EVP_PKEY* key) {
  std::array<char, 80> name{};
  std::size_t size = 0;
  if (EVP_PKEY_get_group_name(key, name.data(), name.size(), &size) != 1) {
    discard_openssl_errors();
    return "explicit parameters";
  }
  return std::string(name.data(), size);
}

Result<KeyMaterial> hs256_key(const std::string& secret) {
  if (secret.size() < kMinHs256SecretBytes) {
    return config_error(fmt::format(
        "hs256_secret is {} bytes; HS256 needs a secret of at least {} bytes (256 bits)",
        secret.size(), kMinHs256SecretBytes));
  }
  return KeyMaterial(Algorithm::hs256, std::nullopt, secret);
}

Result<KeyMaterial> load_public_key_file(const std::string& path) {
  const std::string source = "public_key_file " + path;
  auto text = read_key_file(path, "public_key_file");
  if (!text) return text.error();
  if (holds_private_key(*text)) {
    return config_error(fmt::format(
        "{} holds a private key; configure its public key (openssl pkey -pubout) instead", source));
  }
  PkeyPtr key = decode_public_key_pem(*text);
  if (!key) {
    return config_error(
        fmt::format("{} is not a PEM public key (expected -----BEGIN PUBLIC KEY-----)", source));
  }
  auto algorithm = algorithm_for_key(key.get(), source);
  if (!algorithm) return algorithm.error();
  auto pem = checked_public_key_pem(key.get(), source);
  if (!pem) return pem.error();
  return verification_key(*algorithm, std::nullopt, std::move(*pem), std::move(key));
}

Result<std::vector<KeyMaterial>> load_jwks_file(const std::string& path) {
  auto text = read_key_file(path, "jwks_file");
  if (!text) return text.error();
  return parse_jwks(*text, "jwks_file " + path);
}

Result<KeyMaterial> load_private_key_file(const std::string& path) {
  const std::string source = "private_key_file " + path;
  auto text = read_key_file(path, "private_key_file");
  if (!text) return text.error();
  PkeyPtr key = decode_private_key_pem(*text);
  OPENSSL_cleanse(text->data(), text->size());
  if (!key) {
    return config_error(fmt::format(
        "{} is not an unencrypted PEM private key (encrypted keys are not supported)", source));
  }
  auto algorithm = algorithm_for_key(key.get(), source);
  if (!algorithm) return algorithm.error();
  auto pem = private_key_pem(key.get(), source);
  if (!pem) return pem.error();
  return KeyMaterial(*algorithm, std::nullopt, std::move(*pem));
}

std::vector<std::string_view> configured_key_sources(const JwtOptions& options) {
  std::vector<std::string_view> sources;
  if (!options.hs256_secret.empty()) sources.emplace_back("hs256_secret");
  if (!options.public_key_file.empty()) sources.emplace_back("public_key_file");
  if (!options.jwks_file.empty()) sources.emplace_back("jwks_file");
  return sources;
}

Result<std::vector<KeyMaterial>> single_key(Result<KeyMaterial> key) {
  if (!key) return key.error();
  return std::vector<KeyMaterial>{std::move(*key)};
}

}  // namespace

KeyMaterial::~KeyMaterial() {
  OPENSSL_cleanse(bytes.data(), bytes.size());
}

KeyMaterial verification_key(Algorithm algorithm, std::optional<std::string> kid, std::string pem,
                             PkeyPtr key) {
  return KeyMaterial(algorithm, std::move(kid), std::move(pem),
                     std::shared_ptr<EVP_PKEY>(key.release(), &EVP_PKEY_free));
}

std::string_view algorithm_name(Algorithm algorithm) noexcept {
  switch (algorithm) {
    case Algorithm::hs256:
      return "HS256";
    case Algorithm::rs256:
      return "RS256";
    case Algorithm::es256:
      return "ES256";
  }
  return "HS256";
}

Result<std::vector<KeyMaterial>> load_verification_keys(const JwtOptions& options) {
  const auto sources = configured_key_sources(options);
  if (sources.empty()) {
    return config_error(
        "no JWT key is configured; set one of hs256_secret, public_key_file or jwks_file");
  }
  if (sources.size() > 1) {
    return config_error(fmt::format("several JWT key sources are configured ({}); set exactly one",
                                    fmt::join(sources, ", ")));
  }
  if (!options.hs256_secret.empty()) return single_key(hs256_key(options.hs256_secret));
  if (!options.public_key_file.empty()) {
    return single_key(load_public_key_file(options.public_key_file));
  }
  return load_jwks_file(options.jwks_file);
}

Result<KeyMaterial> load_signing_key(const JwtOptions& options) {
  const bool has_secret = !options.hs256_secret.empty();
  const bool has_private_key = !options.private_key_file.empty();
  if (has_secret && has_private_key) {
    return config_error(
        "both hs256_secret and private_key_file are configured; tokens are minted with one key");
  }
  if (has_secret) return hs256_key(options.hs256_secret);
  if (has_private_key) return load_private_key_file(options.private_key_file);
  return config_error("no key to mint tokens with; set hs256_secret or private_key_file");
}

Result<Algorithm> algorithm_for_key(const EVP_PKEY* key, std::string_view source) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < kMinRsaBits) {
      return config_error(fmt::format("{}: the RSA key has {} bits; at least {} are required",
                                      source, bits, kMinRsaBits));
    }
    return Algorithm::rs256;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    const std::string group = ec_group_name(key);
    if (group != "prime256v1" && group != "P-256") {
      return config_error(fmt::format(
          "{}: EC keys on curve {} are not supported; only P-256 (ES256) is", source, group));
    }
    return Algorithm::es256;
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  return config_error(
      fmt::format("{}: {} keys are not supported; use RSA (2048 bits or more) or EC P-256", source,
                  type != nullptr ? type : "unknown"));
}

Result<std::string> checked_public_key_pem(EVP_PKEY* key, std::string_view source) {
  PkeyCtxPtr context(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!context || EVP_PKEY_public_check(context.get()) != 1) {
    discard_openssl_errors();
    return config_error(fmt::format("{}: the public key fails OpenSSL's validity check", source));
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    discard_openssl_errors();
    return config_error(fmt::format("{}: the public key cannot be re-encoded", source));
  }
  return bio_contents(bio.get());
}

}  // namespace tandem::auth::detail
