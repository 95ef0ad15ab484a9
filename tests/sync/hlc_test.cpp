#include "sync/hlc.h"

#include <gtest/gtest.h>

namespace tandem::sync {
namespace {

TEST(Hlc, WireFormIsSixteenHexDigitsAndRoundTrips) {
  Hlc clock = Hlc::from_parts(1'700'000'000'000, 7);
  EXPECT_EQ(clock.to_string().size(), 16u);
  EXPECT_EQ(Hlc::parse(clock.to_string()), clock);
}

TEST(Hlc, ParseRefusesAnythingButSixteenLowerCaseHexDigits) {
  EXPECT_FALSE(Hlc::parse(""));
  EXPECT_FALSE(Hlc::parse("0123"));
  EXPECT_FALSE(Hlc::parse("0123456789ABCDEF"));
  EXPECT_FALSE(Hlc::parse("0123456789abcdeg"));
  EXPECT_FALSE(Hlc::parse("0123456789abcdef0"));
}

TEST(HlcClock, NeverGoesBackwardsWhenTheWallClockDoes) {
  std::uint64_t wall = 1000;
  HlcClock clock(std::chrono::seconds(60), [&] { return wall; });
  Hlc a = clock.now();
  wall = 900;
  Hlc b = clock.now();
  EXPECT_GT(b, a);
  EXPECT_EQ(b.millis(), 1000u);
}

TEST(HlcClock, LocalClocksExceedAnObservedRemoteClock) {
  std::uint64_t wall = 1000;
  HlcClock clock(std::chrono::seconds(60), [&] { return wall; });
  Hlc remote = Hlc::from_parts(5000, 3);
  ASSERT_TRUE(clock.observe(remote).ok());
  EXPECT_GT(clock.now(), remote);
}

TEST(HlcClock, RefusesAClockTooFarInTheFuture) {
  std::uint64_t wall = 1'000'000;
  HlcClock clock(std::chrono::seconds(60), [&] { return wall; });
  auto status = clock.observe(Hlc::from_parts(wall + 61'000, 0));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::clock_skew);
  EXPECT_LT(clock.now().millis(), wall + 61'000) << "a refused clock is not taken into account";
}

}  // namespace
}  // namespace tandem::sync
