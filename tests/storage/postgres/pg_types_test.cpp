#include "storage/postgres/pg_types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/value_json.h"

namespace tandem::storage::postgres {
namespace {

PgType type_of(std::uint32_t oid) {
  auto type = builtin_pg_type(oid);
  if (!type) throw std::runtime_error("not a builtin oid");
  return *type;
}

// The Value as a client receives it: serialized to JSON text and parsed back.
Value through_wire(const Value& value) {
  auto text = to_json(value).dump();
  return value_from_json(nlohmann::json::parse(text)).value();
}

// One row of a type's table: PostgreSQL's text output, the Value it maps to, and the text
// parameter the Value maps back to.
struct Case {
  std::string pg_output;
  Value value;
  std::string pg_param;
};

bool same_value(const Value& a, const Value& b) {
  if (a.kind() == Value::Kind::real && b.kind() == Value::Kind::real)
    return std::signbit(a.as_real()) == std::signbit(b.as_real()) && a == b;
  return a.kind() == b.kind() && a == b;
}

void expect_round_trips(std::uint32_t oid, const std::vector<Case>& cases) {
  auto type = type_of(oid);
  for (const auto& c : cases) {
    SCOPED_TRACE(type.name + " " + c.pg_output);
    auto value = value_from_pg_text(type, c.pg_output);
    ASSERT_TRUE(value.ok()) << value.error().message();
    EXPECT_TRUE(same_value(*value, c.value)) << to_json(*value).dump();
    auto received = through_wire(*value);
    EXPECT_TRUE(same_value(received, *value)) << to_json(received).dump();
    auto param = value_to_pg_text(type, received);
    ASSERT_TRUE(param.ok()) << param.error().message();
    ASSERT_TRUE(param->has_value());
    EXPECT_EQ(**param, c.pg_param);
  }
}

void expect_refused(std::uint32_t oid, const Value& value, std::string_view message_part) {
  auto type = type_of(oid);
  auto result = value_to_pg_text(type, value);
  ASSERT_FALSE(result.ok()) << type.name << ": " << to_json(value).dump() << " was accepted";
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_mutation);
  EXPECT_NE(result.error().message().find(message_part), std::string_view::npos)
      << result.error().message();
}

void expect_param(std::uint32_t oid, const Value& value, std::string_view expected) {
  auto result = value_to_pg_text(type_of(oid), value);
  ASSERT_TRUE(result.ok()) << result.error().message();
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ(**result, expected);
}

void expect_unreadable(std::uint32_t oid, std::string_view pg_output, std::string_view part = {}) {
  auto result = value_from_pg_text(type_of(oid), pg_output);
  ASSERT_FALSE(result.ok()) << pg_output << " was read";
  EXPECT_EQ(result.error().code(), ErrorCode::internal);
  EXPECT_NE(result.error().message().find(part), std::string_view::npos)
      << result.error().message();
}

Value blob(std::initializer_list<std::uint8_t> bytes) {
  return Value{Blob(bytes)};
}

// ---- one table per type ----------------------------------------------------------------

TEST(PgTypesRoundTrip, Integers) {
  expect_round_trips(pg_oid::int8, {{"-9223372036854775808", INT64_MIN, "-9223372036854775808"},
                                    {"9223372036854775807", INT64_MAX, "9223372036854775807"},
                                    {"0", 0, "0"},
                                    {"-1", -1, "-1"}});
  expect_round_trips(pg_oid::int4, {{"2147483647", 2147483647, "2147483647"},
                                    {"-2147483648", std::int64_t{-2147483648}, "-2147483648"}});
  expect_round_trips(pg_oid::int2, {{"32767", 32767, "32767"}, {"-32768", -32768, "-32768"}});
}

TEST(PgTypesRoundTrip, FloatsAreRealsExceptNanAndInfinityWhichAreText) {
  expect_round_trips(
      pg_oid::float8,
      {{"3.141592653589793", 3.141592653589793, "3.141592653589793"},
       {"0.1", 0.1, "0.1"},
       {"-0", -0.0, "-0"},
       {"1e+308", 1e308, "1e+308"},
       {"5e-324", 5e-324, "5e-324"},
       {"1.7976931348623157e+308", 1.7976931348623157e308, "1.7976931348623157e+308"},
       {"1.2345678901234568e+17", 1.2345678901234568e17, "1.2345678901234568e+17"},
       {"NaN", "NaN", "NaN"},
       {"Infinity", "Infinity", "Infinity"},
       {"-Infinity", "-Infinity", "-Infinity"}});
  expect_round_trips(pg_oid::float4, {{"3.4028235e+38", 3.4028235e38, "3.4028235e+38"},
                                      {"1.1", 1.1, "1.1"},
                                      {"-1.5e-07", -1.5e-07, "-1.5e-07"},
                                      {"NaN", "NaN", "NaN"}});
}

TEST(PgTypesRoundTrip, NumericKeepsEveryDigitAsText) {
  std::string forty = "1234567890123456789012345678901234567890.0123456789";
  expect_round_trips(pg_oid::numeric, {{"1.500", "1.500", "1.500"},
                                       {forty, Value{forty}, forty},
                                       {"-0.000001", "-0.000001", "-0.000001"},
                                       {"0", "0", "0"},
                                       {"NaN", "NaN", "NaN"},
                                       {"Infinity", "Infinity", "Infinity"},
                                       {"-Infinity", "-Infinity", "-Infinity"}});
}

TEST(PgTypesRoundTrip, BooleansAreOneAndZero) {
  expect_round_trips(pg_oid::boolean, {{"t", 1, "true"}, {"f", 0, "false"}});
}

TEST(PgTypesRoundTrip, TextIsVerbatim) {
  std::vector<Case> cases{{"", "", ""},
                          {"NULL", "NULL", "NULL"},
                          {R"(it's "quoted" \ back\slash)", R"(it's "quoted" \ back\slash)",
                           R"(it's "quoted" \ back\slash)"},
                          {"emoji 😀 é 漢字", "emoji 😀 é 漢字", "emoji 😀 é 漢字"},
                          {"line\nbreak\ttab", "line\nbreak\ttab", "line\nbreak\ttab"}};
  expect_round_trips(pg_oid::text, cases);
  expect_round_trips(pg_oid::varchar, cases);
  expect_round_trips(pg_oid::bpchar, {{"ab   ", "ab   ", "ab   "}});
  expect_round_trips(pg_oid::name, {{"pg_class", "pg_class", "pg_class"}});
}

TEST(PgTypesRoundTrip, TimestamptzIsUtcWithZAndTrimmedFraction) {
  expect_round_trips(
      pg_oid::timestamptz,
      {{"2024-01-02 03:04:05.123456+00", "2024-01-02T03:04:05.123456Z",
        "2024-01-02 03:04:05.123456+00"},
       {"2024-01-02 03:04:05.5+05:30", "2024-01-01T21:34:05.5Z", "2024-01-01 21:34:05.500000+00"},
       {"2024-01-02 03:04:05.12-08", "2024-01-02T11:04:05.12Z", "2024-01-02 11:04:05.120000+00"},
       {"2024-01-01 00:30:00+01", "2023-12-31T23:30:00Z", "2023-12-31 23:30:00.000000+00"},
       {"1900-01-01 00:00:00+00:09:21", "1899-12-31T23:50:39Z", "1899-12-31 23:50:39.000000+00"},
       {"2000-02-29 23:59:59.000001+00", "2000-02-29T23:59:59.000001Z",
        "2000-02-29 23:59:59.000001+00"},
       {"0044-03-15 12:00:00+00 BC", "-000043-03-15T12:00:00Z", "0044-03-15 12:00:00.000000+00 BC"},
       {"0001-01-01 00:30:00+01", "0000-12-31T23:30:00Z", "0001-12-31 23:30:00.000000+00 BC"},
       {"4714-11-24 00:00:00+00 BC", "-004713-11-24T00:00:00Z", "4714-11-24 00:00:00.000000+00 BC"},
       {"294276-12-31 23:59:59.999999+00", "+294276-12-31T23:59:59.999999Z",
        "294276-12-31 23:59:59.999999+00"},
       {"10000-01-01 00:00:00+00", "+010000-01-01T00:00:00Z", "10000-01-01 00:00:00.000000+00"},
       {"infinity", "infinity", "infinity"},
       {"-infinity", "-infinity", "-infinity"}});
}

TEST(PgTypesRoundTrip, TimestampHasNoZone) {
  expect_round_trips(
      pg_oid::timestamp,
      {{"2024-01-02 03:04:05.1", "2024-01-02T03:04:05.1", "2024-01-02 03:04:05.100000"},
       {"2024-01-02 00:00:00", "2024-01-02T00:00:00", "2024-01-02 00:00:00.000000"},
       {"0001-01-01 00:00:00 BC", "0000-01-01T00:00:00", "0001-01-01 00:00:00.000000 BC"},
       {"infinity", "infinity", "infinity"}});
}

TEST(PgTypesRoundTrip, Dates) {
  expect_round_trips(pg_oid::date, {{"2024-02-29", "2024-02-29", "2024-02-29"},
                                    {"0044-03-15 BC", "-000043-03-15", "0044-03-15 BC"},
                                    {"5874897-12-31", "+5874897-12-31", "5874897-12-31"},
                                    {"9999-12-31", "9999-12-31", "9999-12-31"},
                                    {"infinity", "infinity", "infinity"},
                                    {"-infinity", "-infinity", "-infinity"}});
}

TEST(PgTypesRoundTrip, UuidAndJsonAreVerbatimText) {
  expect_round_trips(pg_oid::uuid, {{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                                     "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                                     "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}});
  std::string json = R"({"a": [1, 2.50, "é😀\u00e9"],  "b": {"c": null}, "a": 1e400})";
  expect_round_trips(pg_oid::json, {{json, Value{json}, json}, {"\"s\"", "\"s\"", "\"s\""}});
  std::string jsonb = R"({"a": 1, "b": [true, null, 12345678901234567890123.5]})";
  expect_round_trips(pg_oid::jsonb, {{jsonb, Value{jsonb}, jsonb}, {"null", "null", "null"}});
}

TEST(PgTypesRoundTrip, ByteaIsABlob) {
  expect_round_trips(pg_oid::bytea, {{"\\x00ff41", blob({0x00, 0xff, 0x41}), "\\x00ff41"},
                                     {"\\x", blob({}), "\\x"}});
}

TEST(PgTypesRoundTrip, ArraysAreJson) {
  expect_round_trips(1007,
                     {{"{1,2,NULL}", "[1,2,null]", "{1,2,NULL}"},
                      {"{}", "[]", "{}"},
                      {"{{1,2},{3,4}}", "[[1,2],[3,4]]", "{{1,2},{3,4}}"},
                      {"{{{1},{2}},{{3},{4}}}", "[[[1],[2]],[[3],[4]]]", "{{{1},{2}},{{3},{4}}}"},
                      {"{-2147483648}", "[-2147483648]", "{-2147483648}"}});
  expect_round_trips(1009, {{R"({"a,b","c\"d","e\\f","{}",NULL,"NULL"," x ","",plain,é😀})",
                             R"(["a,b","c\"d","e\\f","{}",null,"NULL"," x ","","plain","é😀"])",
                             R"({"a,b","c\"d","e\\f","{}",NULL,"NULL"," x ","","plain","é😀"})"},
                            {R"({{a,"b}"},{NULL,"c d"}})", R"([["a","b}"],[null,"c d"]])",
                             R"({{"a","b}"},{NULL,"c d"}})"}});
  expect_round_trips(1000, {{"{t,f,NULL}", "[true,false,null]", "{t,f,NULL}"}});
  expect_round_trips(
      1231, {{"{1.500,NaN,12345678901234567890123456789012345678901.5,-Infinity}",
              R"([1.500,"NaN",12345678901234567890123456789012345678901.5,"-Infinity"])",
              R"({1.500,"NaN",12345678901234567890123456789012345678901.5,"-Infinity"})"}});
  expect_round_trips(1022, {{"{-0,1e+100,Infinity,0.1}", R"([-0,1e+100,"Infinity",0.1])",
                             R"({-0,1e+100,"Infinity",0.1})"}});
  expect_round_trips(1185, {{R"({"2024-01-02 03:04:05+05:30",NULL,infinity})",
                             R"(["2024-01-01T21:34:05Z",null,"infinity"])",
                             R"({"2024-01-01 21:34:05.000000+00",NULL,"infinity"})"}});
  expect_round_trips(1182, {{R"({2024-01-02,"0044-03-15 BC"})", R"(["2024-01-02","-000043-03-15"])",
                             R"({"2024-01-02","0044-03-15 BC"})"}});
  expect_round_trips(1115, {{R"({"2024-01-02 03:04:05.5"})", R"(["2024-01-02T03:04:05.5"])",
                             R"({"2024-01-02 03:04:05.500000"})"}});
  expect_round_trips(3807, {{R"({"{\"a\": 1}","[1, 2]"})", R"(["{\"a\": 1}","[1, 2]"])",
                             R"({"{\"a\": 1}","[1, 2]"})"}});
}

// ---- reading -------------------------------------------------------------------------

TEST(PgTypesReading, ByteaEscapeFormatIsAlsoRead) {
  auto value = value_from_pg_text(type_of(pg_oid::bytea), R"(a\000\\\377)");
  ASSERT_TRUE(value.ok()) << value.error().message();
  EXPECT_EQ(*value, blob({'a', 0x00, '\\', 0xff}));
  expect_unreadable(pg_oid::bytea, R"(\9)", "bad escape");
  expect_unreadable(pg_oid::bytea, R"(\x0)", "hex");
}

TEST(PgTypesReading, UnexpectedOutputIsAnInternalError) {
  expect_unreadable(pg_oid::int4, "12a");
  expect_unreadable(pg_oid::int8, "99999999999999999999");
  expect_unreadable(pg_oid::float8, "1,5");
  expect_unreadable(pg_oid::boolean, "yes");
  expect_unreadable(pg_oid::timestamptz, "Tue Jan 02 03:04:05 2024 UTC", "DateStyle ISO");
  expect_unreadable(pg_oid::timestamptz, "2024-01-02 03:04:05");  // no offset
  expect_unreadable(pg_oid::timestamp, "2024-01-02 03:04:05+00");
  expect_unreadable(pg_oid::date, "2024-02-30");
  expect_unreadable(pg_oid::date, "01/02/2024");
  expect_unreadable(1007, "[0:1]={1,2}", "explicit bounds");
  expect_unreadable(1007, "{1,2", "expected");
  expect_unreadable(1007, "{1,abc}", "not a number");
  expect_unreadable(1000, "{t,x}", "not a boolean");
  expect_unreadable(1009, R"({"a)", "unterminated");
  expect_unreadable(1007, "{{{{{{{1}}}}}}}", "6 dimensions");
  expect_unreadable(1185, "{\"2024-01-02 03:04:05\"}", "DateStyle ISO");
}

TEST(PgTypesReading, ArrayElementsMayBeSpacedOrEscapedOnInput) {
  auto value = value_from_pg_text(type_of(1009), R"({ a b , c\,d ,"e" , null })");
  ASSERT_TRUE(value.ok()) << value.error().message();
  EXPECT_EQ(*value, Value(R"(["a b","c,d","e",null])"));
  auto escaped_null = value_from_pg_text(type_of(1009), R"({\NULL})");
  EXPECT_EQ(escaped_null.value(), Value(R"(["NULL"])"));
}

TEST(PgTypesReading, BoxArraysUseTheirOwnDelimiter) {
  PgType boxes{1020, "box[]", 'A', 603, "box", 'G', ';'};
  auto value = value_from_pg_text(boxes, "{(1,1),(0,0);(2,2),(1,1)}");
  ASSERT_TRUE(value.ok()) << value.error().message();
  EXPECT_EQ(*value, Value(R"j(["(1,1),(0,0)","(2,2),(1,1)"])j"));
  auto param = value_to_pg_text(boxes, *value);
  EXPECT_EQ(param.value(), std::optional<std::string>(R"j({"(1,1),(0,0)";"(2,2),(1,1)"})j"));
}

TEST(PgTypesReading, OtherTypesAreTheirTextForm) {
  PgType interval{1186, "interval", 'T', 0, {}, 0, ','};
  EXPECT_EQ(value_from_pg_text(interval, "1 day 02:00:00").value(), Value("1 day 02:00:00"));
  PgType mood{16400, "mood", 'E', 0, {}, 0, ','};
  EXPECT_EQ(value_from_pg_text(mood, "happy").value(), Value("happy"));
  EXPECT_EQ(value_to_pg_text(mood, Value("sad")).value(), std::optional<std::string>("sad"));
}

// ---- writing -------------------------------------------------------------------------

TEST(PgTypesWriting, NullIsNoParameter) {
  for (std::uint32_t oid : {pg_oid::int4, pg_oid::text, pg_oid::bytea, 1007u}) {
    auto result = value_to_pg_text(type_of(oid), Value{});
    ASSERT_TRUE(result.ok());
    EXPECT_FALSE(result->has_value());
  }
}

TEST(PgTypesWriting, IntegersAcceptIntegralRealsAndDecimalText) {
  expect_param(pg_oid::int4, 5.0, "5");
  expect_param(pg_oid::int8, "-42", "-42");
  expect_param(pg_oid::int8, "+42", "42");
  expect_refused(pg_oid::int4, blob({1}), "a blob cannot be stored in a column of type integer");
  expect_refused(pg_oid::int2, 70000, "70000 is out of range");
  expect_refused(pg_oid::int4, std::int64_t{1} << 40, "out of range");
  expect_refused(pg_oid::int8, 1.5, "1.5 is not an integer");
  expect_refused(pg_oid::int8, 1e19, "not an integer");
  expect_refused(pg_oid::int8, "12abc", "'12abc' is not a 64-bit integer");
  expect_refused(pg_oid::int8, "", "not a 64-bit integer");
  expect_refused(pg_oid::int8, "99999999999999999999", "not a 64-bit integer");
}

TEST(PgTypesWriting, NumbersAcceptIntegersRealsAndNumberText) {
  expect_param(pg_oid::numeric, 7, "7");
  expect_param(pg_oid::numeric, 0.25, "0.25");
  expect_param(pg_oid::numeric, ".5e3", ".5e3");
  expect_param(pg_oid::numeric, "-inf", "-inf");
  expect_param(pg_oid::float8, std::nan(""), "NaN");
  expect_param(pg_oid::float8, -INFINITY, "-Infinity");
  expect_param(pg_oid::float4, "1e10", "1e10");
  expect_refused(pg_oid::numeric, "12abc", "'12abc' is not a number");
  expect_refused(pg_oid::numeric, "1e", "not a number");
  expect_refused(pg_oid::numeric, ".", "not a number");
  expect_refused(pg_oid::numeric, " 1", "not a number");
  expect_refused(pg_oid::float8, blob({}), "a blob cannot be stored");
}

TEST(PgTypesWriting, BooleansAcceptZeroOneAndWords) {
  expect_param(pg_oid::boolean, 1, "true");
  expect_param(pg_oid::boolean, 0.0, "false");
  expect_param(pg_oid::boolean, "TRUE", "true");
  expect_param(pg_oid::boolean, "f", "false");
  expect_refused(pg_oid::boolean, 2, "a boolean is 0, 1, true or false");
  expect_refused(pg_oid::boolean, "yes!", "a boolean is");
  expect_refused(pg_oid::boolean, blob({1}), "a boolean is");
}

TEST(PgTypesWriting, TextAcceptsNumbersButNotBlobsOrNul) {
  expect_param(pg_oid::text, 7, "7");
  expect_param(pg_oid::varchar, 2.5, "2.5");
  expect_refused(pg_oid::text, blob({'a'}), "a blob cannot be stored in a column of type text");
  expect_refused(pg_oid::text, Value(std::string("a\0b", 3)), "NUL");
}

TEST(PgTypesWriting, TimestampsAcceptIsoVariantsAndNormalizeToUtc) {
  expect_param(pg_oid::timestamptz, "2024-01-02T03:04:05+05:30", "2024-01-01 21:34:05.000000+00");
  expect_param(pg_oid::timestamptz, "2024-01-02T03:04:05-0800", "2024-01-02 11:04:05.000000+00");
  expect_param(pg_oid::timestamptz, "2024-01-02 03:04", "2024-01-02 03:04:00.000000+00");
  expect_param(pg_oid::timestamptz, "2024-01-02", "2024-01-02 00:00:00.000000+00");
  expect_param(pg_oid::timestamptz, "2024-01-02t03:04:05.123z", "2024-01-02 03:04:05.123000+00");
  expect_param(pg_oid::timestamptz, "+010000-01-01T00:00:00Z", "10000-01-01 00:00:00.000000+00");
  expect_param(pg_oid::timestamptz, "-000001-12-31T23:00:00-02",
               "0001-01-01 01:00:00.000000+00 BC");  // 2 BC + 2 h = 1 BC
  expect_param(pg_oid::timestamp, "2024-01-02T03:04:05.5", "2024-01-02 03:04:05.500000");
  expect_param(pg_oid::date, "0000-01-01", "0001-01-01 BC");
  expect_param(pg_oid::date, "+010000-01-01", "10000-01-01");
  expect_refused(pg_oid::date, "2024-13-01", "a valid calendar date");
  expect_refused(pg_oid::date, "2023-02-29", "a valid calendar date");
  expect_refused(pg_oid::date, "2024-1-1", "expected YYYY-MM-DD");
  expect_refused(pg_oid::date, "2024-01-01T00:00:00", "expected YYYY-MM-DD");
  expect_refused(pg_oid::timestamp, "2024-01-02T03:04:05Z", "is not a timestamp");
  expect_refused(pg_oid::timestamptz, "2024-01-02T03:04:05.1234567Z", "not a timestamptz");
  expect_refused(pg_oid::timestamptz, "2024-01-02T24:00:00Z", "valid calendar date and time");
  expect_refused(pg_oid::timestamptz, "2024-01-02T03:04:05+16", "not a timestamptz");
  expect_refused(pg_oid::timestamptz, "yesterday", "not a timestamptz");
  expect_refused(pg_oid::timestamptz, 1700000000, "an integer cannot be stored");
}

TEST(PgTypesWriting, UuidsAreValidated) {
  expect_param(pg_oid::uuid, "{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}",
               "{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}");
  expect_param(pg_oid::uuid, "a0eebc999c0b4ef8bb6d6bb9bd380a11",
               "a0eebc999c0b4ef8bb6d6bb9bd380a11");
  expect_refused(pg_oid::uuid, "not-a-uuid", "'not-a-uuid' is not a UUID");
  expect_refused(pg_oid::uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "not a UUID");
  expect_refused(pg_oid::uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-", "not a UUID");
  expect_refused(pg_oid::uuid, "a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11", "not a UUID");
  expect_refused(pg_oid::uuid, 5, "an integer cannot be stored");
}

TEST(PgTypesWriting, JsonMustBeJson) {
  expect_param(pg_oid::jsonb, 5, "5");
  expect_param(pg_oid::json, R"({"a":1})", R"({"a":1})");
  expect_refused(pg_oid::jsonb, "{bad json", "'{bad json' is not JSON");
  expect_refused(pg_oid::json, std::nan(""), "JSON has no NaN");
  expect_refused(pg_oid::json, blob({'{', '}'}), "a blob cannot be stored");
}

TEST(PgTypesWriting, JsonSyntaxIsCheckedAsPostgreSqlDoes) {
  for (std::string ok :
       {"1e400", " [1, -0.5E+3, \"\\u00e9\\n\"] ", "{}", "[]", "\"\"", "true",
        "{\"a\": {\"b\": [null, false]}}", "123456789012345678901234567890", "\"é😀\""})
    expect_param(pg_oid::json, Value(ok), ok);
  for (std::string bad : {"",
                          " ",
                          "{\"a\":1,}",
                          "[1,]",
                          "01",
                          "1.",
                          ".5",
                          "-",
                          "1e",
                          "+1",
                          "[1] x",
                          "\"\\u12\"",
                          "\"\\x\"",
                          "\"tab\there\"",
                          "'s'",
                          "NaN",
                          "{1: 2}",
                          "[\"\xff\"]",
                          "[\"\xc3\"]",
                          "[\"\xed\xa0\x80\"]",
                          "[\"\xc0\xaf\"]",
                          "tru",
                          "nul"})
    expect_refused(pg_oid::json, Value(bad), "is not JSON");
  expect_refused(pg_oid::jsonb, Value(std::string(1001, '[') + std::string(1001, ']')), "not JSON");
  expect_param(pg_oid::jsonb, Value(std::string(1000, '[') + std::string(1000, ']')),
               std::string(1000, '[') + std::string(1000, ']'));
}

TEST(PgTypesWriting, ByteaAcceptsBlobsAndTheBytesOfText) {
  expect_param(pg_oid::bytea, "hi", "\\x6869");
  expect_refused(pg_oid::bytea, 5, "an integer cannot be stored in a column of type bytea");
}

TEST(PgTypesWriting, ArraysAreRectangularJsonArraysOfTheRightElements) {
  expect_param(1007, " [ 1 , 2 ] ", "{1,2}");
  expect_param(1007, "[[],[]]", "{{},{}}");
  expect_param(1000, R"([1,0,"true","F",null])", "{t,f,t,f,NULL}");
  expect_param(1009, R"([1.50,true,"NULL",null])", R"({"1.50","true","NULL",NULL})");
  expect_param(1009, R"(["\u00e9\ud83d\ude00","tab\t"])", "{\"é😀\",\"tab\t\"}");
  expect_param(3807, R"([{"a":[1,{"b":"}"}]},"x",2])", R"({"{\"a\":[1,{\"b\":\"}\"}]}","x","2"})");
  expect_param(1231, R"([1e400,"NaN"])", R"({1e400,"NaN"})");
  expect_refused(1007, "[1,2", "not JSON");
  expect_refused(1007, R"({"a":1})", "must be a JSON array");
  expect_refused(1007, 5, "an integer cannot be stored in a column of type integer[]");
  expect_refused(1007, "[[1],2]", "mixed");
  expect_refused(1007, "[[1,2],[3]]", "differ in length");
  expect_refused(1007, "[[[1]],[[2,3]]]", "differ in length");
  expect_refused(1007, R"(["x"])", "element 0 is a string, not a number");
  expect_refused(1007, "[1,true]", "element 1 is a boolean");
  expect_refused(1000, "[2]", "element 0 (2) is not a boolean");
  expect_refused(1009, R"([{"a":1}])", "element 0 is an object");
  expect_refused(1009, R"(["a\u0000b"])", "NUL");
  expect_refused(1007, "[[[[[[[1]]]]]]]", "more than 6");
  expect_refused(1182, R"(["2024-02-30"])", "element 0: '2024-02-30' is not a date");
  expect_refused(1185, "[1]", "element 0 is a number, not a date/time");
  expect_refused(1185, "[true]", "element 0 is a boolean, not a date/time");
}

// ---- classification ------------------------------------------------------------------

TEST(PgTypesMapping, PortableTypes) {
  struct Row {
    PgType type;
    ColumnType expected;
  };
  std::vector<Row> rows{
      {type_of(pg_oid::int2), ColumnType::integer},
      {type_of(pg_oid::int4), ColumnType::integer},
      {type_of(pg_oid::int8), ColumnType::integer},
      {type_of(pg_oid::float4), ColumnType::real},
      {type_of(pg_oid::float8), ColumnType::real},
      {type_of(pg_oid::numeric), ColumnType::numeric},
      {type_of(pg_oid::boolean), ColumnType::boolean},
      {type_of(pg_oid::text), ColumnType::text},
      {type_of(pg_oid::varchar), ColumnType::text},
      {type_of(pg_oid::bpchar), ColumnType::text},
      {type_of(pg_oid::name), ColumnType::text},
      {type_of(pg_oid::timestamptz), ColumnType::timestamp},
      {type_of(pg_oid::timestamp), ColumnType::timestamp},
      {type_of(pg_oid::date), ColumnType::date},
      {type_of(pg_oid::uuid), ColumnType::uuid},
      {type_of(pg_oid::json), ColumnType::json},
      {type_of(pg_oid::jsonb), ColumnType::json},
      {type_of(pg_oid::bytea), ColumnType::blob},
      {type_of(1007), ColumnType::json},
      {PgType{16500, "citext", 'S', 0, {}, 0, ','}, ColumnType::text},
      {PgType{16400, "mood", 'E', 0, {}, 0, ','}, ColumnType::text},
      {PgType{16401, "mood[]", 'A', 16400, "mood", 'E', ','}, ColumnType::json},
      {PgType{1186, "interval", 'T', 0, {}, 0, ','}, ColumnType::text},
      {PgType{869, "inet", 'I', 0, {}, 0, ','}, ColumnType::text},
      {PgType{pg_oid::int4, "positive_int", 'N', 0, {}, 0, ','}, ColumnType::integer},  // domain
  };
  for (const auto& row : rows)
    EXPECT_EQ(portable_type(row.type), row.expected) << row.type.name;
}

TEST(PgTypesMapping, BuiltinTypesAndTheirArrays) {
  auto integer = builtin_pg_type(pg_oid::int4);
  ASSERT_TRUE(integer);
  EXPECT_EQ(*integer, (PgType{23, "integer", 'N', 0, {}, 0, ','}));
  auto integers = builtin_pg_type(1007);
  ASSERT_TRUE(integers);
  EXPECT_EQ(*integers, (PgType{1007, "integer[]", 'A', 23, "integer", 'N', ','}));
  EXPECT_TRUE(integers->is_array());
  EXPECT_FALSE(builtin_pg_type(1186).has_value());
}

}  // namespace
}  // namespace tandem::storage::postgres
