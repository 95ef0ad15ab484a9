#include "common/url.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(Url, TakesHostPortAndPathWithDefaultPortsPerScheme) {
  auto plain = parse_url("ws://example.org/sync", "ws", "wss");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host, "example.org");
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->path, "/sync");
  auto secure = parse_url("https://admin.example.org:8443", "http", "https");
  ASSERT_TRUE(secure.ok());
  EXPECT_TRUE(secure->tls);
  EXPECT_EQ(secure->port, 8443);
  EXPECT_EQ(secure->path, "");
  EXPECT_EQ(parse_url("wss://h", "ws", "wss")->port, 443);
}

TEST(Url, TakesBracketedIpv6Addresses) {
  auto url = parse_url("ws://[::1]:7000/sync", "ws", "wss");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 7000);
  EXPECT_EQ(parse_url("ws://[::1]/", "ws", "wss")->port, 80);
}

TEST(Url, RefusesOtherSchemesBadPortsAndMissingHostsSayingWhich) {
  for (const char* text : {"http://h/sync", "h:80", "ws:/h", ""}) {
    auto url = parse_url(text, "ws", "wss");
    ASSERT_FALSE(url.ok()) << text;
    EXPECT_EQ(url.error().code(), ErrorCode::bad_request);
    EXPECT_NE(url.error().message().find("must start with ws:// or wss://"), std::string::npos);
  }
  for (const char* text : {"ws://h:0", "ws://h:65536", "ws://h:80x", "ws://h:"}) {
    auto url = parse_url(text, "ws", "wss");
    ASSERT_FALSE(url.ok()) << text;
    EXPECT_NE(url.error().message().find("bad port"), std::string::npos) << text;
  }
  EXPECT_NE(parse_url("ws://:80/sync", "ws", "wss").error().message().find("no host"),
            std::string::npos);
  EXPECT_FALSE(parse_url("ws://[::1/sync", "ws", "wss").ok());
}

}  // namespace
}  // namespace tandem
