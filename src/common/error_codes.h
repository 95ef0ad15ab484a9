// The one list of error codes. Everything that names or maps a code is generated from it:
// the ErrorCode enum, the wire names, the HTTP statuses (error.h), the C API's TANDEM_<NAME>
// constants (include/tandem/tandem.h, checked entry by entry in c_api.cpp), the CLI's exit
// statuses and the table of docs/protocol.md (checked by tests/common/error_codes_test.cpp).
//
// X(name, NAME, value, http_status, exit_status, meaning)
//   name: the wire name; never renamed. value: stable; new codes go at the end.
//   exit_status: what `tandem` exits with when a command fails with the code.
//   meaning: the row of the protocol.md table.
#pragma once

// clang-format off
#define TANDEM_ERROR_CODES(X)                                                                  \
  X(ok, OK, 0, 200, 0, "no error")                                                             \
  X(bad_request, BAD_REQUEST, 1, 400, 1,                                                       \
    "valid message, invalid content (second hello, too many mutations, bad client id)")        \
  X(malformed_message, MALFORMED_MESSAGE, 2, 400, 1,                                           \
    "not JSON, not an object, a missing or mistyped field (named in the message)")             \
  X(unknown_message_type, UNKNOWN_MESSAGE_TYPE, 3, 400, 1, "a `type` v1 does not define")      \
  X(frame_too_large, FRAME_TOO_LARGE, 4, 413, 1, "a message above the server's limit")         \
  X(protocol_version, PROTOCOL_VERSION, 5, 400, 1, "the client speaks another protocol version") \
  X(unauthenticated, UNAUTHENTICATED, 6, 401, 1,                                               \
    "missing, malformed, forged token, wrong algorithm, issuer or audience")                   \
  X(token_expired, TOKEN_EXPIRED, 7, 401, 1,                                                   \
    "`exp` passed or `nbf` not reached; also sent, fatal, when a session's token expires")     \
  X(forbidden, FORBIDDEN, 8, 403, 1,                                                           \
    "the rules refuse the write (public table, other owner); a client id of another user")     \
  X(not_found, NOT_FOUND, 9, 404, 1,                                                           \
    "no such row among those the user may write; no such table, column or route")              \
  X(unknown_table, UNKNOWN_TABLE, 10, 404, 1, "the table is not tracked")                      \
  X(invalid_mutation, INVALID_MUTATION, 11, 400, 1,                                            \
    "columns that do not exist, a changed key, a database constraint")                         \
  X(clock_skew, CLOCK_SKEW, 12, 400, 1, "an hlc too far in the future")                        \
  X(checkpoint_expired, CHECKPOINT_EXPIRED, 13, 410, 1,                                        \
    "(reserved: the server answers an expired checkpoint with a new snapshot)")                \
  X(no_primary_key, NO_PRIMARY_KEY, 14, 400, 1, "a table without a primary key cannot be tracked") \
  X(invalid_identifier, INVALID_IDENTIFIER, 15, 400, 1,                                        \
    "a table or column name that fails validation")                                            \
  X(config_invalid, CONFIG_INVALID, 16, 400, 2, "a configuration value that cannot be used")   \
  X(unavailable, UNAVAILABLE, 17, 503, 1,                                                      \
    "the database cannot be reached, or the server is at its connection limit")                \
  X(shutting_down, SHUTTING_DOWN, 18, 503, 1, "the server is stopping; reconnect and push again") \
  X(internal, INTERNAL, 19, 500, 1, "a server fault")                                          \
  X(rate_limited, RATE_LIMITED, 20, 429, 1,                                                    \
    "the peer sent more than the server accepts (pushes in flight, connections per address)")
// clang-format on
