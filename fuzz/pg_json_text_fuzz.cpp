// The JSON syntax check of json/jsonb values (a client's pushed JSON is checked with it before
// it reaches PostgreSQL), against nlohmann's parser: every document nlohmann accepts must be
// accepted too (the check is more lenient only about numbers no double holds).
#include <nlohmann/json.hpp>

#include "common/json_depth.h"
#include "fuzz_check.h"
#include "storage/postgres/json_text.h"

namespace {

// Deeper documents are refused by design (json_text.h).
constexpr std::size_t kMaxDepth = 1000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tandem::fuzz::as_text(data, size);
  const bool ours = tandem::storage::postgres::is_json_text(text);
  // nlohmann skips a UTF-8 byte order mark and stops at a NUL byte; PostgreSQL's json input
  // does neither (and its text cannot hold a NUL).
  if (text.starts_with("\xEF\xBB\xBF") || text.find('\0') != std::string_view::npos) return 0;
  if (nlohmann::json::accept(text) && tandem::json_depth(text) <= kMaxDepth) FUZZ_CHECK(ours, text);
  return 0;
}
