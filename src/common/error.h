// Error vocabulary shared by every layer.
//
// Error-handling style (chosen once, see docs/architecture.md):
//  - A failure that is a normal outcome of outside input (a bad token, a malformed frame, a
//    mutation the rules refuse, a bad configuration value) is returned as a value:
//    `Result<T>` or an `Error` inside a result struct.
//  - An unexpected failure (a database I/O error, a broken invariant) throws `tandem::Error`.
//    Exceptions never cross an async handler, the HTTP/WebSocket boundary, the C API or
//    `main`: each of those catches once and maps the code with the functions below.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/error_codes.h"

namespace tandem {

// Stable codes (error_codes.h). Their names are part of the wire protocol
// (docs/protocol.md): never rename one; add new codes at the end.
enum class ErrorCode {
#define TANDEM_ERROR_CODE_ENUMERATOR(name, NAME, value, http, exit, meaning) name = (value),
  TANDEM_ERROR_CODES(TANDEM_ERROR_CODE_ENUMERATOR)
#undef TANDEM_ERROR_CODE_ENUMERATOR
};

// Every code, in value order.
inline constexpr ErrorCode kErrorCodes[] = {
#define TANDEM_ERROR_CODE_ITEM(name, NAME, value, http, exit, meaning) ErrorCode::name,
    TANDEM_ERROR_CODES(TANDEM_ERROR_CODE_ITEM)
#undef TANDEM_ERROR_CODE_ITEM
};

// Protocol name of a code, e.g. "unauthenticated".
std::string_view error_code_name(ErrorCode code) noexcept;

// The code of a protocol name (the inverse of error_code_name); none for an unknown name.
std::optional<ErrorCode> parse_error_code(std::string_view name) noexcept;

// HTTP status for a code, e.g. 401 for unauthenticated.
int http_status(ErrorCode code) noexcept;

// What the `tandem` command exits with when it fails with the code.
int exit_status(ErrorCode code) noexcept;

// The documented meaning of a code (the table of docs/protocol.md).
std::string_view error_code_meaning(ErrorCode code) noexcept;

// An error with a stable code and a message a person can act on.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}

  ErrorCode code() const noexcept { return m_code; }
  std::string_view message() const noexcept { return what(); }

 private:
  ErrorCode m_code;
};

}  // namespace tandem
