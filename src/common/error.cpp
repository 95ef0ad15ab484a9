#include "common/error.h"

#include <iterator>

namespace tandem {

namespace {

struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  int http_status;
  int exit_status;
  std::string_view meaning;
};

// Generated from the one list (error_codes.h), in value order.
constexpr CodeInfo kCodes[] = {
#define TANDEM_ERROR_CODE_INFO(name, NAME, value, http, exit, meaning) \
  {ErrorCode::name, #name, (http), (exit), (meaning)},
    TANDEM_ERROR_CODES(TANDEM_ERROR_CODE_INFO)
#undef TANDEM_ERROR_CODE_INFO
};

constexpr bool values_are_positions() {
  for (std::size_t i = 0; i < std::size(kCodes); ++i) {
    if (static_cast<std::size_t>(kCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(values_are_positions(), "error_codes.h: values must be 0, 1, 2, ... in order");

const CodeInfo& info(ErrorCode code) noexcept {
  auto index = static_cast<std::size_t>(code);
  return index < std::size(kCodes) ? kCodes[index]
                                   : kCodes[static_cast<std::size_t>(ErrorCode::internal)];
}

}  // namespace

std::string_view error_code_name(ErrorCode code) noexcept {
  return info(code).name;
}

int http_status(ErrorCode code) noexcept {
  return info(code).http_status;
}

int exit_status(ErrorCode code) noexcept {
  return info(code).exit_status;
}

std::string_view error_code_meaning(ErrorCode code) noexcept {
  return info(code).meaning;
}

std::optional<ErrorCode> parse_error_code(std::string_view name) noexcept {
  for (const auto& entry : kCodes) {
    if (entry.name == name) return entry.code;
  }
  return std::nullopt;
}

}  // namespace tandem
