// The pure parts of Esink compatibility: /publish validation, routing, filters, value rendering.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <utility>
#include <vector>

#include "compat/esink/esink_json.h"
#include "compat/esink/esink_rules.h"
#include "compat/esink/event_id.h"
#include "compat/esink/publish_request.h"

namespace tandem::compat::esink {
namespace {

using nlohmann::json;

json valid_body() {
  return {{"data", {{"id", 1}}},
          {"table", "users"},
          {"type", "insert"},
          {"userId", "7"},
          {"securityToken", "s3cret"}};
}

ValidationFailure failure_of(const json& body, PublishBody kind = PublishBody::api) {
  auto result = validate_publish(body, kind);
  EXPECT_TRUE(std::holds_alternative<ValidationFailure>(result)) << body.dump();
  return std::holds_alternative<ValidationFailure>(result) ? std::get<ValidationFailure>(result)
                                                           : ValidationFailure{};
}

TEST(PublishValidation, AValidBodyKeepsItsFieldsAndLeavesDefaultsToTheCaller) {
  auto result = validate_publish(valid_body(), PublishBody::api);
  ASSERT_TRUE(std::holds_alternative<PublishRequest>(result));
  const auto& request = std::get<PublishRequest>(result);
  EXPECT_EQ(request.table, "users");
  EXPECT_EQ(request.user_id, "7");
  EXPECT_FALSE(request.source.has_value());
  EXPECT_FALSE(request.version.has_value());
}

TEST(PublishValidation, EachMissingFieldIsNamedWithEsinksMessage) {
  for (const std::string key : {"data", "table", "type", "userId", "securityToken"}) {
    auto body = valid_body();
    body.erase(key);
    auto failure = failure_of(body);
    EXPECT_EQ(failure.key, key);
    EXPECT_EQ(failure.type, "required");
    EXPECT_EQ(failure.message, "body." + key + " attribute is required");
  }
}

TEST(PublishValidation, WrongTypesAndLongNamesAreRefusedButNumbersCastLikeYup) {
  auto body = valid_body();
  body["data"] = json::array({1});
  EXPECT_EQ(failure_of(body).message, "body.data attribute must be an object");
  body = valid_body();
  body["table"] = json::object();
  EXPECT_EQ(failure_of(body).message, "body.table attribute must be a string");
  body = valid_body();
  body["type"] = std::string(65, 't');
  EXPECT_EQ(failure_of(body).type, "max");
  body = valid_body();
  body["version"] = "two";
  EXPECT_EQ(failure_of(body).key, "version");

  body = valid_body();
  body["userId"] = 7;        // yup casts numbers to strings
  body["timestamp"] = "12";  // and numeric strings to numbers
  auto result = validate_publish(body, PublishBody::api);
  ASSERT_TRUE(std::holds_alternative<PublishRequest>(result));
  EXPECT_EQ(std::get<PublishRequest>(result).user_id, "7");
  EXPECT_EQ(std::get<PublishRequest>(result).timestamp, 12.0);
}

TEST(PublishValidation, ASocketPublishNeedsNeitherUserNorSecurityToken) {
  json body = {{"data", json::object()}, {"table", "notes"}, {"type", "insert"}};
  EXPECT_TRUE(std::holds_alternative<PublishRequest>(validate_publish(body, PublishBody::socket)));
  EXPECT_EQ(failure_of(body, PublishBody::api).key, "userId");
  EXPECT_EQ(failure_of(json("not an object"), PublishBody::socket).key, "data");
}

TEST(PublishValidation, TheErrorObjectLooksLikeYupsValidationError) {
  auto error = failure_of(json::object()).error_json();
  EXPECT_EQ(error["name"], "ValidationError");
  EXPECT_EQ(error["path"], "data");
  EXPECT_EQ(error["errors"], json::array({"body.data attribute is required"}));
}

EsinkRules rules() {
  std::map<std::string, config::EsinkRoute> routing;
  routing["orders"] = config::EsinkRoute{false, {"user_id"}};
  routing["messages"] = config::EsinkRoute{false, {"sender_id", "recipient_id"}};
  routing["news"] = config::EsinkRoute{true, {}};
  return EsinkRules(routing, {{"users", {"password"}}, {"messages", {"sender_id"}}});
}

TEST(EsinkRouting, AColumnRouteNamesTheUserWhoseIdMatchesAsText) {
  auto recipients = rules().recipients("orders", {{"user_id", 7}, {"item", "tea"}});
  EXPECT_FALSE(recipients.everyone);
  EXPECT_EQ(recipients.users, std::vector<std::string>{"7"});
  EXPECT_EQ(rules().recipients("orders", {{"user_id", "7"}}).users, std::vector<std::string>{"7"});
  EXPECT_TRUE(rules().recipients("orders", {{"user_id", nullptr}}).empty());
  EXPECT_TRUE(rules().recipients("orders", {{"item", "tea"}}).empty());
}

TEST(EsinkRouting, AnArrayRouteNamesAUserOncePerMatchingColumn) {
  auto recipients = rules().recipients("messages", {{"sender_id", 1}, {"recipient_id", 1}});
  EXPECT_EQ(recipients.users, (std::vector<std::string>{"1", "1"}));
}

TEST(EsinkRouting, StarReachesEveryoneAndAnUnroutedTableNobody) {
  EXPECT_TRUE(rules().recipients("news", {{"id", 1}}).everyone);
  EXPECT_FALSE(rules().routed("secrets"));
  EXPECT_TRUE(rules().recipients("secrets", {{"id", 1}}).empty());
}

TEST(EsinkFilters, ListedColumnsAreRemovedOthersKept) {
  json data = {{"id", 1}, {"password", "x"}, {"name", "Al"}};
  rules().filter("users", data);
  EXPECT_EQ(data, (json{{"id", 1}, {"name", "Al"}}));
  json other = {{"password", "kept: another table"}};
  rules().filter("orders", other);
  EXPECT_TRUE(other.contains("password"));
}

TEST(EsinkJson, ValuesRenderAsRowToJsonWouldByColumnType) {
  TableSchema table;
  table.name = "orders";
  for (const auto& [name, type] :
       std::vector<std::pair<std::string, ColumnType>>{{"paid", ColumnType::boolean},
                                                       {"meta", ColumnType::json},
                                                       {"price", ColumnType::numeric},
                                                       {"photo", ColumnType::blob},
                                                       {"note", ColumnType::text}}) {
    ColumnSchema column;
    column.name = name;
    column.type = type;
    table.columns.push_back(column);
  }
  Row row = {{"paid", Value(1)},
             {"meta", Value(R"({"a": [1]})")},
             {"price", Value("12.50")},
             {"photo", Value(Blob{0x01, 0xab})},
             {"note", Value("{not json}")},
             {"ratio", Value(0.5)}};
  auto data = esink_row(&table, row);
  EXPECT_EQ(data["paid"], true);
  EXPECT_EQ(data["meta"], (json{{"a", {1}}}));
  EXPECT_EQ(data["price"], 12.5);
  EXPECT_EQ(data["photo"], "\\x01ab");
  EXPECT_EQ(data["note"], "{not json}");
  EXPECT_EQ(data["ratio"], 0.5);
}

TEST(EsinkIds, EventIdsAreDistinctVersion4Uuids) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_uuid();
    EXPECT_TRUE(std::regex_match(id, uuid)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(PublishBody, OnlyAJsonContentTypeIsParsedLikeExpressJson) {
  EXPECT_EQ(parse_publish_body("text/plain", R"({"table":"t"})"), json::object());
  EXPECT_EQ(parse_publish_body("application/json", ""), json::object());
  EXPECT_EQ(parse_publish_body("application/json; charset=utf-8", R"({"table":"t"})"),
            json({{"table", "t"}}));
  EXPECT_EQ(parse_publish_body("application/json", R"({"table":)"), std::nullopt);
}

// A POST /publish body is read before the security token is checked, and validation copies
// `data`: a body of 170,000 nested objects (1 MB, under the server's body limit) overflowed the
// stack of an I/O thread, copying recursively once per level.
TEST(PublishBody, ADeeplyNestedBodyIsRefusedBeforeItIsParsed) {
  auto nested = [](std::size_t depth) {
    std::string body = R"({"table":"t","type":"x","data":)";
    for (std::size_t i = 0; i < depth; ++i)
      body += R"({"a":)";
    body += "{}";
    body.append(depth, '}');
    return body + "}";
  };
  EXPECT_EQ(parse_publish_body("application/json", nested(170'000)), std::nullopt);

  auto shallow = parse_publish_body("application/json", nested(kMaxPublishJsonDepth - 2));
  ASSERT_TRUE(shallow.has_value());
  EXPECT_TRUE(
      std::holds_alternative<ValidationFailure>(validate_publish(*shallow, PublishBody::api)));
}

}  // namespace
}  // namespace tandem::compat::esink
