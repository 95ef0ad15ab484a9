// Base64 (RFC 4648 section 4) and base64url without padding (section 5, as JWT uses it).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/value.h"

namespace tandem {

std::string base64_encode(const std::uint8_t* data, std::size_t size);
inline std::string base64_encode(const Blob& blob) {
  return base64_encode(blob.data(), blob.size());
}
std::optional<Blob> base64_decode(std::string_view text);

std::string base64url_encode(std::string_view data);
std::optional<std::string> base64url_decode(std::string_view text);

std::string hex_encode(const std::uint8_t* data, std::size_t size);
std::optional<Blob> hex_decode(std::string_view text);

}  // namespace tandem
