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

namespace tandem {

// Stable codes. Their names are part of the wire protocol (docs/protocol.md): never rename
// one; add new codes at the end.
enum class ErrorCode {
  ok = 0,
  bad_request,           // a well-formed message with invalid content
  malformed_message,     // not decodable (bad JSON, wrong field types)
  unknown_message_type,  // a message type this protocol version does not define
  frame_too_large,       // a frame above the configured limit
  protocol_version,      // the client speaks a protocol version the server does not
  unauthenticated,       // missing, forged or unverifiable token
  token_expired,         // a valid signature but `exp` has passed or `nbf` not reached
  forbidden,             // authenticated, but the rules refuse the operation
  not_found,             // no such row/table/route (for rows: also hides rows of others)
  unknown_table,         // a table that is not tracked or not visible to the user
  invalid_mutation,      // a mutation with missing/extra columns or wrong primary key
  clock_skew,            // a hybrid logical clock too far ahead of the server's clock
  checkpoint_expired,    // a checkpoint older than the change log's retention horizon
  no_primary_key,        // a table without a primary key cannot be tracked
  invalid_identifier,    // a table or column name that fails validation
  config_invalid,        // a configuration value that cannot be used
  unavailable,           // the datasource cannot be reached
  shutting_down,         // the server is stopping
  internal,              // a bug or an unexpected failure
  rate_limited,          // the peer sent more than the server accepts
};

// Protocol name of a code, e.g. "unauthenticated".
std::string_view error_code_name(ErrorCode code) noexcept;

// The code of a protocol name (the inverse of error_code_name); none for an unknown name.
std::optional<ErrorCode> parse_error_code(std::string_view name) noexcept;

// HTTP status for a code, e.g. 401 for unauthenticated.
int http_status(ErrorCode code) noexcept;

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
