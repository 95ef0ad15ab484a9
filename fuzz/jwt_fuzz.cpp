// Tokens as a client presents them, through the HS256 verifier the server builds from its
// configuration. The input is verified as it is, and, when it has the form "header.payload",
// also signed with the verifier's secret first, so that what follows a good signature (libjwt,
// the claim checks) is reached too.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <chrono>
#include <string>

#include "auth/claims.h"
#include "auth/jws.h"
#include "auth/token.h"
#include "common/base64.h"
#include "fuzz_check.h"

namespace {

using namespace tandem;
using namespace tandem::auth;

constexpr std::string_view kSecret = "fuzz-secret-fuzz-secret-fuzz-secret";

JwtOptions options() {
  JwtOptions options;
  options.hs256_secret = std::string(kSecret);
  options.issuer = "https://issuer.example";
  options.audience = "tandem";
  return options;
}

std::string signed_token(std::string_view signing_input) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
       mac.data(), &mac_size);
  return std::string(signing_input) + "." +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_size));
}

void check_result(const Result<Claims>& claims, std::string_view token) {
  if (claims) {
    FUZZ_CHECK(!claims->subject.empty(), token);
  } else {
    const auto code = claims.error().code();
    FUZZ_CHECK(code == ErrorCode::unauthenticated || code == ErrorCode::token_expired,
               claims.error().message());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto verifier = *TokenVerifier::create(options());
  static const auto rules = *detail::claim_rules(options());
  // 2024-06-01T00:00:00Z: a fixed clock keeps runs repeatable.
  const std::chrono::system_clock::time_point now{std::chrono::seconds(1717200000)};
  const std::string_view input = fuzz::as_text(data, size);

  check_result(verifier->verify(input, now), input);

  if (input.find('.') != std::string_view::npos && input.find('.') == input.rfind('.')) {
    const std::string token = signed_token(input);
    check_result(verifier->verify(token, now), token);
    if (auto decoded = detail::decode_token(token)) {
      (void)detail::checked_header_algorithm(decoded->header);
      (void)detail::header_kid(decoded->header);
      // The claims checked whatever the header says, as if the signature had been right.
      auto claims = detail::check_claims(decoded->payload, rules, now);
      check_result(claims, token);
    }
  }
  return 0;
}
