#include "compat/socketio/random_id.h"

#include <openssl/rand.h>

#include "common/base64.h"
#include "common/error.h"

namespace tandem::compat::socketio {

std::string random_id() {
  unsigned char bytes[15];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw Error(ErrorCode::internal, "the random generator failed");
  }
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace tandem::compat::socketio
