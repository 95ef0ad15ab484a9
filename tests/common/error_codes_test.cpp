// The one list of error codes (common/error_codes.h) and what is generated from it.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"
#include "support/source_tree.h"

namespace tandem {
namespace {

TEST(ErrorCodes, NamesAreUniqueAndParseBackToTheirCode) {
  std::set<std::string_view> names;
  for (auto code : kErrorCodes) {
    EXPECT_TRUE(names.insert(error_code_name(code)).second) << error_code_name(code);
    EXPECT_EQ(parse_error_code(error_code_name(code)), code);
  }
  EXPECT_FALSE(parse_error_code("no_such_code"));
}

TEST(ErrorCodes, ValuesAreDenseSoTheCApiCanIndexThem) {
  for (std::size_t i = 0; i < std::size(kErrorCodes); ++i)
    EXPECT_EQ(static_cast<std::size_t>(kErrorCodes[i]), i);
}

TEST(ErrorCodes, EveryCodeMapsToAnHttpStatusAndAnExitStatus) {
  for (auto code : kErrorCodes) {
    EXPECT_GE(http_status(code), 200) << error_code_name(code);
    EXPECT_LT(http_status(code), 600) << error_code_name(code);
    EXPECT_EQ(exit_status(code) == 0, code == ErrorCode::ok) << error_code_name(code);
    EXPECT_FALSE(error_code_meaning(code).empty()) << error_code_name(code);
  }
  EXPECT_EQ(http_status(ErrorCode::unauthenticated), 401);
  EXPECT_EQ(http_status(ErrorCode::rate_limited), 429);
  EXPECT_EQ(exit_status(ErrorCode::config_invalid), 2);
}

// docs/protocol.md's table is the list as generated here: a code added to the list without
// its row (or a row edited by hand) fails, and the message holds the table to paste.
TEST(ErrorCodes, ProtocolDocumentListsEveryCodeAsTheListHasIt) {
  std::ostringstream table;
  table << "| code | HTTP | meaning |\n|---|---|---|\n";
  for (auto code : kErrorCodes) {
    if (code == ErrorCode::ok) continue;
    table << "| `" << error_code_name(code) << "` | " << http_status(code) << " | "
          << error_code_meaning(code) << " |\n";
  }
  std::ifstream file(testing::source_tree() / "docs" / "protocol.md");
  ASSERT_TRUE(file) << "docs/protocol.md is missing";
  std::stringstream document;
  document << file.rdbuf();
  EXPECT_NE(document.str().find(table.str()), std::string::npos)
      << "docs/protocol.md's error table differs from common/error_codes.h; it should read:\n"
      << table.str();
}

}  // namespace
}  // namespace tandem
