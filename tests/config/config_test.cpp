#include "config/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace tandem::config {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string write_file(const std::string& text) {
    auto path = dir.file("tandem.toml");
    std::ofstream(path) << text;
    return path;
  }
  Sources sources_with(std::map<std::string, std::string> env) {
    Sources sources;
    sources.getenv = [env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    return sources;
  }
  testing::TempDir dir;
};

TEST_F(ConfigTest, DefaultsNeedNoConfiguration) {
  auto config = load(sources_with({}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->port, 8080);
  EXPECT_EQ(config->effective_database_path(), "./tandem-data/tandem.db");
  EXPECT_EQ(config->rules.owner_column, "owner_id");
}

TEST_F(ConfigTest, FlagsOverrideEnvironmentWhichOverridesTheFile) {
  auto sources = sources_with({{"TANDEM_PORT", "9001"}, {"TANDEM_LOG_LEVEL", "debug"}});
  sources.config_file = write_file("[server]\nport = 9000\nthreads = 3\n[log]\nlevel = \"warn\"\n");
  sources.flags = {{"log-level", "error"}};
  auto config = load(sources);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->threads, 3) << "from the file";
  EXPECT_EQ(config->port, 9001) << "environment beats the file";
  EXPECT_EQ(config->log_level, log::Level::error) << "a flag beats the environment";
}

TEST_F(ConfigTest, EsinkPortVariableWorksButTandemsOwnNameWins) {
  EXPECT_EQ(load(sources_with({{"PORT", "80"}}))->port, 80);
  EXPECT_EQ(load(sources_with({{"PORT", "80"}, {"TANDEM_PORT", "81"}}))->port, 81);
}

TEST_F(ConfigTest, BadValuesNameTheirSource) {
  auto env = load(sources_with({{"TANDEM_PORT", "http"}}));
  ASSERT_FALSE(env.ok());
  EXPECT_NE(std::string(env.error().message()).find("TANDEM_PORT"), std::string::npos);
  auto sources = sources_with({});
  sources.flags = {{"owner-column", "owner; drop"}};
  EXPECT_EQ(load(sources).error().code(), ErrorCode::config_invalid);
}

TEST_F(ConfigTest, UnknownFileKeysAndSyntaxErrorsAreRefused) {
  auto sources = sources_with({});
  sources.config_file = write_file("[server]\nprot = 1\n");
  auto typo = load(sources);
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(std::string(typo.error().message()).find("server.prot"), std::string::npos);
  sources.config_file = write_file("[server\n");
  EXPECT_FALSE(load(sources).ok());
}

TEST_F(ConfigTest, TrackListAcceptsATomlArrayOrACommaList) {
  auto sources = sources_with({});
  sources.config_file = write_file("[storage]\ntrack = [\"products\", \"past_orders\"]\n");
  EXPECT_EQ(load(sources)->track_tables, (std::vector<std::string>{"products", "past_orders"}));
  EXPECT_EQ(load(sources_with({{"TANDEM_TRACK_TABLES", "a, b"}}))->track_tables,
            (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace tandem::config
