#include "config/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <utility>
#include <vector>

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

TEST_F(ConfigTest, ConnectionLimitsAndTokenExpiryAreOnByDefault) {
  auto config = load(sources_with({}));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->hello_timeout, std::chrono::seconds(10));
  EXPECT_EQ(config->max_connections, 10000u);
  EXPECT_EQ(config->max_connections_per_address, 256u);
  EXPECT_TRUE(config->jwt.require_exp);
  EXPECT_EQ(config->jwt.leeway, std::chrono::seconds(30));

  auto relaxed = load(sources_with({{"TANDEM_HELLO_TIMEOUT_SECONDS", "3"},
                                    {"TANDEM_MAX_CONNECTIONS", "0"},
                                    {"TANDEM_MAX_CONNECTIONS_PER_ADDRESS", "0"},
                                    {"TANDEM_JWT_REQUIRE_EXP", "false"},
                                    {"TANDEM_JWT_LEEWAY_SECONDS", "0"}}));
  ASSERT_TRUE(relaxed.ok()) << relaxed.error().message();
  EXPECT_EQ(relaxed->hello_timeout, std::chrono::seconds(3));
  EXPECT_EQ(relaxed->max_connections, 0u);
  EXPECT_EQ(relaxed->max_connections_per_address, 0u);
  EXPECT_FALSE(relaxed->jwt.require_exp);
  EXPECT_EQ(relaxed->jwt.leeway, std::chrono::seconds(0));
  EXPECT_FALSE(load(sources_with({{"TANDEM_HELLO_TIMEOUT_SECONDS", "0"}})).ok());
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

TEST_F(ConfigTest, EsinkVariablesMeanWhatTheyMeanInEsinkWithItsDefaults) {
  auto sources = sources_with(
      {{"SECURITY_TOKEN", "s3cret"},
       {"TABLE_NAMES", "users, games ,"},
       {"FILTERS", "users.password,users.reset_token,"},
       {"TABLE_AUTH_COLUMN_ROUTING", R"({"users": "id", "games": ["host", "guest"], "news": "*"})"},
       {"ALLOW_REPUBLISHING", "true"},
       {"MYSQL_DATABASE", "shop"},
       {"MYSQL_PORT", "3307"}});
  sources.defaults = esink_defaults();
  auto config = load(sources);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->port, 80);
  EXPECT_TRUE(config->esink.enabled);
  EXPECT_EQ(config->esink.security_token, "s3cret");
  EXPECT_EQ(config->track_tables, (std::vector<std::string>{"users", "games"}));
  EXPECT_EQ(config->esink.filters.at("users"),
            (std::vector<std::string>{"password", "reset_token"}));
  EXPECT_EQ(config->esink.routing.at("users").columns, std::vector<std::string>{"id"});
  EXPECT_EQ(config->esink.routing.at("games").columns, (std::vector<std::string>{"host", "guest"}));
  EXPECT_TRUE(config->esink.routing.at("news").everyone);
  EXPECT_TRUE(config->esink.allow_republishing);
  EXPECT_EQ(config->esink.auth_table, "auth");
  EXPECT_EQ(config->esink.auth_column, "token");
  EXPECT_EQ(config->esink.default_source, "API");
  EXPECT_EQ(config->mysql.database, "shop");
  EXPECT_EQ(config->mysql.port, 3307);
  EXPECT_EQ(config->mysql.events_table, "pub_events");
  EXPECT_LE(config->mysql.poll_interval.count(), 50);
}

TEST_F(ConfigTest, EsinkMistakesAreConfigurationErrorsNotCrashes) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"FILTERS", "users"},
           {"FILTERS", "users.pass word"},
           {"TABLE_AUTH_COLUMN_ROUTING", "{not json"},
           {"TABLE_AUTH_COLUMN_ROUTING", R"({"users": 5})"},
           {"TABLE_AUTH_COLUMN_ROUTING", R"({"users": ["id", 7]})"},
           {"TABLE_AUTH_COLUMN_ROUTING", R"(["users"])"},
           {"AUTH_TABLE", "auth; drop table x"},
           {"USE_SSL", "true"}}) {
    auto config = load(sources_with({{name, value}}));
    ASSERT_FALSE(config.ok()) << name << "=" << value;
    EXPECT_EQ(config.error().code(), ErrorCode::config_invalid);
    EXPECT_NE(config.error().message().find(name), std::string::npos) << config.error().message();
  }
}

TEST_F(ConfigTest, UseSslIsOffForFalseLikeWordsAndOnForAnythingElse) {
  for (const auto& [value, on] : std::vector<std::pair<std::string, bool>>{
           {"false", false}, {"", false}, {"0", false}, {"true", true}, {"yes please", true}}) {
    auto config = load(sources_with({{"USE_SSL", value},
                                     {"TANDEM_TLS_CERTIFICATE_FILE", "cert.pem"},
                                     {"TANDEM_TLS_PRIVATE_KEY_FILE", "key.pem"}}));
    ASSERT_TRUE(config.ok()) << value;
    EXPECT_EQ(config->esink.use_ssl, on) << value;
  }
}

}  // namespace
}  // namespace tandem::config
