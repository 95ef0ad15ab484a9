#include "common/base64.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(Base64, EncodesAndDecodesRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    Blob bytes(plain.begin(), plain.end());
    EXPECT_EQ(base64_encode(bytes), encoded);
    EXPECT_EQ(base64_decode(encoded), bytes);
  }
}

TEST(Base64, RefusesBadPaddingCharactersAndTrailingBits) {
  EXPECT_FALSE(base64_decode("Zg="));
  EXPECT_FALSE(base64_decode("Z!=="));
  EXPECT_FALSE(base64_decode("Zh=="));
}

TEST(Base64Url, HasNoPaddingAndUsesTheUrlAlphabet) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  EXPECT_FALSE(base64url_decode("+/8"));
}

TEST(Hex, RoundTripsAndRefusesOddLengths) {
  Blob bytes{0x00, 0xab, 0xff};
  EXPECT_EQ(hex_encode(bytes.data(), bytes.size()), "00abff");
  EXPECT_EQ(hex_decode("00ABff"), bytes);
  EXPECT_FALSE(hex_decode("abc"));
}

}  // namespace
}  // namespace tandem
