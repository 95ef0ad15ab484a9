// Ownership of OpenSSL objects, so that every early return of the key loaders frees them.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <string>

namespace tandem::auth::detail {

template <auto Free>
struct OpensslDeleter {
  template <typename T>
  void operator()(T* object) const noexcept {
    Free(object);
  }
};

using BioPtr = std::unique_ptr<BIO, OpensslDeleter<&BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpensslDeleter<&BN_free>>;
using DecoderCtxPtr = std::unique_ptr<OSSL_DECODER_CTX, OpensslDeleter<&OSSL_DECODER_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<&EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslDeleter<&EVP_PKEY_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpensslDeleter<&OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, OpensslDeleter<&OSSL_PARAM_free>>;

// The bytes written to a memory BIO.
std::string bio_contents(BIO* bio);

// OpenSSL reports failures on a per-thread queue that other code on the same thread (TLS in
// the network layer) reads later; a failure we have already handled must not linger there.
void discard_openssl_errors() noexcept;

}  // namespace tandem::auth::detail
