#include "auth/openssl_util.h"

#include <openssl/err.h>

namespace tandem::auth::detail {

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(size));
}

void discard_openssl_errors() noexcept {
  ERR_clear_error();
}

}  // namespace tandem::auth::detail
