#include "common/error.h"

namespace tandem {

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok:
      return "ok";
    case ErrorCode::bad_request:
      return "bad_request";
    case ErrorCode::malformed_message:
      return "malformed_message";
    case ErrorCode::unknown_message_type:
      return "unknown_message_type";
    case ErrorCode::frame_too_large:
      return "frame_too_large";
    case ErrorCode::protocol_version:
      return "protocol_version";
    case ErrorCode::unauthenticated:
      return "unauthenticated";
    case ErrorCode::token_expired:
      return "token_expired";
    case ErrorCode::forbidden:
      return "forbidden";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::unknown_table:
      return "unknown_table";
    case ErrorCode::invalid_mutation:
      return "invalid_mutation";
    case ErrorCode::clock_skew:
      return "clock_skew";
    case ErrorCode::checkpoint_expired:
      return "checkpoint_expired";
    case ErrorCode::no_primary_key:
      return "no_primary_key";
    case ErrorCode::invalid_identifier:
      return "invalid_identifier";
    case ErrorCode::config_invalid:
      return "config_invalid";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::shutting_down:
      return "shutting_down";
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::rate_limited:
      return "rate_limited";
  }
  return "internal";
}

std::optional<ErrorCode> parse_error_code(std::string_view name) noexcept {
  for (int i = 0; i <= static_cast<int>(ErrorCode::rate_limited); ++i) {
    auto code = static_cast<ErrorCode>(i);
    if (error_code_name(code) == name) return code;
  }
  return std::nullopt;
}

int http_status(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok:
      return 200;
    case ErrorCode::bad_request:
    case ErrorCode::malformed_message:
    case ErrorCode::unknown_message_type:
    case ErrorCode::protocol_version:
    case ErrorCode::invalid_mutation:
    case ErrorCode::clock_skew:
    case ErrorCode::no_primary_key:
    case ErrorCode::invalid_identifier:
    case ErrorCode::config_invalid:
      return 400;
    case ErrorCode::unauthenticated:
    case ErrorCode::token_expired:
      return 401;
    case ErrorCode::forbidden:
      return 403;
    case ErrorCode::not_found:
    case ErrorCode::unknown_table:
      return 404;
    case ErrorCode::checkpoint_expired:
      return 410;
    case ErrorCode::frame_too_large:
      return 413;
    case ErrorCode::rate_limited:
      return 429;
    case ErrorCode::unavailable:
    case ErrorCode::shutting_down:
      return 503;
    case ErrorCode::internal:
      return 500;
  }
  return 500;
}

}  // namespace tandem
