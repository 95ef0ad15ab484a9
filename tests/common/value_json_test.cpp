#include "common/value_json.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(ValueJson, EveryKindRoundTrips) {
  Row row{{"n", nullptr},
          {"i", std::int64_t{-9007199254740993}},
          {"r", 1.5},
          {"t", "héllo"},
          {"b", Blob{0, 1, 255}}};
  auto back = row_from_json(to_json(row));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, row);
}

TEST(ValueJson, BlobIsATaggedBase64Object) {
  EXPECT_EQ(to_json(Value(Blob{1, 2, 3})).dump(), R"({"$b64":"AQID"})");
}

TEST(ValueJson, BooleansBecomeIntegersAndOtherObjectsAreRefused) {
  EXPECT_EQ(*value_from_json(nlohmann::json(true)), Value(1));
  EXPECT_EQ(value_from_json(nlohmann::json::parse(R"({"x":1})")).error().code(),
            ErrorCode::malformed_message);
  EXPECT_FALSE(value_from_json(nlohmann::json::parse("[1]")).ok());
  EXPECT_FALSE(value_from_json(nlohmann::json(18446744073709551615ull)).ok());
}

}  // namespace
}  // namespace tandem
