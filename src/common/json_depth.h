// A guard for JSON from peers: nlohmann parses without recursion, but copies and prints
// values recursively, once per level of nesting, so a deeply nested document must be refused
// before it is parsed.
#pragma once

#include <cstddef>
#include <string_view>

namespace tandem {

// The nesting depth of a JSON text (0 for a scalar), counted without parsing it: brackets
// inside strings are skipped. Meaningful for any text, valid JSON or not.
std::size_t json_depth(std::string_view text);

}  // namespace tandem
