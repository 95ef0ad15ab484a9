// A JSON syntax check that accepts what PostgreSQL's json input accepts (RFC 8259), including
// numbers no double can hold (1e400, 40-digit decimals), which nlohmann's parser refuses.
// Internal to the PostgreSQL codecs.
#pragma once

#include <string_view>

namespace tandem::storage::postgres {

// True if `text` is exactly one JSON value, optionally surrounded by whitespace, with strings
// in well-formed UTF-8. Nesting deeper than 1000 levels is refused.
bool is_json_text(std::string_view text);

}  // namespace tandem::storage::postgres
