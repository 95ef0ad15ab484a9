// The type mapping against a real PostgreSQL 15: values PostgreSQL prints become Values,
// travel through the JSON wire form, become parameters again, and PostgreSQL must read back
// exactly the value it started with (same text output, which is stricter than `=`: it tells
// 1.500 from 1.5 and -0 from 0). concat() prints with the type's output function, as libpq
// and pgoutput see values (`::text` would print a boolean as 'true').
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "common/base64.h"
#include "common/value_json.h"
#include "storage/postgres/pg_types.h"
#include "support/postgres_cluster.h"

namespace tandem::storage::postgres {
namespace {

using tandem::testing::PostgresCluster;

// The settings our connections use.
constexpr const char* kSessionSettings =
    "SET DateStyle=ISO; SET TimeZone='UTC'; SET extra_float_digits=3; SET bytea_output=hex; "
    "SET IntervalStyle=postgres;\n";

// How the datasource describes a column (docs/postgres-types.md, "Describing columns").
constexpr const char* kDescribeColumn = R"(
SELECT b.oid, format_type(a.atttypid, a.atttypmod), b.typcategory,
       coalesce(e.oid, 0), coalesce(format_type(e.oid, NULL), ''), coalesce(e.typcategory, ''),
       coalesce(e.typdelim, ',')
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
WHERE a.attrelid = '%TABLE%'::regclass AND a.attname = 'v')";

// A column type and SQL expressions for the values to try.
struct TypeCases {
  std::string sql_type;
  std::vector<std::string> values;
};

std::vector<TypeCases> type_cases() {
  return {
      {"smallint", {"32767", "-32768", "0"}},
      {"integer", {"2147483647", "-2147483648"}},
      {"bigint", {"9223372036854775807", "-9223372036854775808"}},
      {"real", {"'3.4028235e+38'", "'1.1'", "'-0'", "'NaN'", "'Infinity'", "'1e-45'", "'0.1'"}},
      {"double precision",
       {"'3.141592653589793'", "'-0'", "'1e308'", "'5e-324'", "'NaN'", "'-Infinity'", "'0.1'",
        "'1.2345678901234568e+17'", "'123456789012345678'", "'2.2250738585072014e-308'"}},
      {"numeric",
       {"'1.500'", "'1234567890123456789012345678901234567890.0123456789'", "'NaN'", "'Infinity'",
        "'-Infinity'", "'-0.000001'", "'0.00000000000000000000000000000000000001'", "'1e20'"}},
      {"numeric(10,2)", {"'12.30'", "'-99999999.99'"}},
      {"boolean", {"true", "false"}},
      {"text",
       {"''", "'NULL'", R"($$it's "quoted" \ back\slash$$)", "'emoji 😀 é 漢字'",
        R"(E'line\nbreak\ttab')", "' padded '"}},
      {"varchar(20)", {"'abc'", "''"}},
      {"char(5)", {"'ab'", "''"}},
      {"citext", {"'MiXeD'"}},
      {"timestamptz",
       {"'2024-01-02 03:04:05.123456+00'", "'2024-01-02 03:04:05.5+05:30'",
        "'0044-03-15 12:00:00+00 BC'", "'294276-12-31 23:59:59.999999+00'",
        "'4714-11-24 00:00:00+00 BC'", "'infinity'", "'-infinity'", "'1900-01-01 00:00:00+00'",
        "'2000-01-01 00:00:00.000001+00'", "'0001-01-01 00:00:00+00'",
        "'1970-01-01 00:00:00.1+00'"}},
      {"timestamp",
       {"'2024-01-02 03:04:05.1'", "'0001-01-01 00:00:00 BC'", "'294276-12-31 23:59:59.999999'",
        "'infinity'", "'1999-12-31 23:59:59.999999'"}},
      {"timestamptz(3)", {"'2024-01-02 03:04:05.123+00'"}},
      {"date",
       {"'2024-02-29'", "'0044-03-15 BC'", "'5874897-12-31'", "'4714-11-24 BC'", "'infinity'",
        "'-infinity'", "'0001-01-01'"}},
      {"uuid",
       {"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"}},
      {"json",
       {R"('{"a": [1, 2.50, "é😀\u00e9"],  "b": {"c": null}, "a": 1e400}')", R"('"s"')", "'[]'",
        "' 5 '"}},
      {"jsonb",
       {R"('{"b":1,"a":[true,null,12345678901234567890123.5], "c": {"d": "é😀\u00e9"}}')",
        R"('"\u00e9"')", "'null'", "'[1.50, 1e2]'"}},
      {"bytea", {R"('\x00ff41')", R"('\x')", "decode(repeat('00ff5c22', 100), 'hex')"}},
      {"integer[]", {"'{1,2,NULL}'", "'{}'", "'{{1,2},{3,4}}'", "'{{{1},{2}},{{3},{4}}}'"}},
      {"text[]",
       {R"(ARRAY['a,b', 'c"d', 'e\f', '{}', NULL, 'NULL', ' x ', '', 'plain', 'é😀', 'null', E'tab\t', '}{', 'a;b'])",
        R"('{{a,"b}"},{NULL,"c d"}}')", "'{}'", "ARRAY[NULL]::text[]"}},
      {"boolean[]", {"'{t,f,NULL}'"}},
      {"numeric[]", {"'{1.500,NaN,12345678901234567890123456789012345678901.5,-Infinity}'"}},
      {"double precision[]", {"'{-0,1e+100,Infinity,0.1,NaN}'"}},
      {"smallint[]", {"'{-32768,32767}'"}},
      {"timestamptz[]", {R"('{"2024-01-02 03:04:05+00",NULL}')"}},
      {"date[]", {"'{2024-01-01,infinity,0044-03-15 BC}'"}},
      {"jsonb[]", {R"(ARRAY['{"a": 1}'::jsonb, '[1,2]', '"x"'])"}},
      {"json[]", {R"(ARRAY['{"a" : 1}'::json])"}},
      {"bytea[]", {R"(ARRAY['\x00ff'::bytea, '\x'])"}},
      {"uuid[]", {"ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]"}},
      {"varchar(10)[]", {"'{a,b}'"}},
      {"mood", {"'happy'"}},
      {"mood[]", {"'{happy,sad}'"}},
      {"positive_int", {"5"}},
      {"interval", {"'1 day 02:00:00'", "'-1 mons +3 days'"}},
      {"inet", {"'192.168.0.1/24'"}},
      {"point", {"'(1,2)'"}},
      {"box[]", {"'{(1,1),(0,0);(2,2),(1,1)}'"}},
  };
}

std::string hex_of(std::string_view text) {
  return hex_encode(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

std::string text_of_hex(std::string_view hex) {
  auto bytes = hex_decode(hex);
  if (!bytes) throw std::runtime_error("bad hex from psql: " + std::string(hex));
  return std::string(bytes->begin(), bytes->end());
}

std::vector<std::vector<std::string>> rows_of(const std::string& output) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t bar; (bar = line.find('|', start)) != std::string::npos; start = bar + 1)
      fields.push_back(line.substr(start, bar - start));
    fields.push_back(line.substr(start));
    rows.push_back(std::move(fields));
  }
  return rows;
}

Value through_wire(const Value& value) {
  return value_from_json(nlohmann::json::parse(to_json(value).dump())).value();
}

class PgTypesCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_cluster = std::make_unique<PostgresCluster>();
    std::string sql =
        "CREATE EXTENSION citext; CREATE TYPE mood AS ENUM ('happy', 'sad');\n"
        "CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);\n";
    auto cases = type_cases();
    for (std::size_t t = 0; t < cases.size(); ++t) {
      sql += fmt::format("CREATE TABLE rt_{} (id int PRIMARY KEY, v {});\n", t, cases[t].sql_type);
      for (std::size_t i = 0; i < cases[t].values.size(); ++i)
        sql += fmt::format("INSERT INTO rt_{} VALUES ({}, {});\n", t, i, cases[t].values[i]);
    }
    s_cluster->psql(sql);
  }
  static void TearDownTestSuite() { s_cluster.reset(); }

  static PgType describe(std::size_t table) {
    std::string query = kDescribeColumn;
    query.replace(query.find("%TABLE%"), 7, fmt::format("rt_{}", table));
    auto rows = rows_of(s_cluster->psql(query));
    if (rows.size() != 1 || rows[0].size() != 7) throw std::runtime_error("cannot describe");
    const auto& r = rows[0];
    return PgType{static_cast<std::uint32_t>(std::stoul(r[0])),
                  r[1],
                  r[2].empty() ? '\0' : r[2][0],
                  static_cast<std::uint32_t>(std::stoul(r[3])),
                  r[4],
                  r[5].empty() ? '\0' : r[5][0],
                  r[6].empty() ? ',' : r[6][0]};
  }

  // table -> id -> text output of the stored value, read under `settings`.
  static std::map<std::size_t, std::map<int, std::string>> read_all(const std::string& settings) {
    std::string sql = settings;
    auto cases = type_cases();
    for (std::size_t t = 0; t < cases.size(); ++t) {
      sql += fmt::format(
          "SELECT {0}, id, encode(convert_to(concat(v), 'UTF8'), 'hex') FROM rt_{0} ORDER BY id;\n",
          t);
    }
    std::map<std::size_t, std::map<int, std::string>> out;
    for (const auto& row : rows_of(s_cluster->psql(sql)))
      out[std::stoul(row.at(0))][std::stoi(row.at(1))] = text_of_hex(row.at(2));
    return out;
  }

  static std::unique_ptr<PostgresCluster> s_cluster;
};

std::unique_ptr<PostgresCluster> PgTypesCluster::s_cluster;

TEST_F(PgTypesCluster, EveryValueSurvivesTheRoundTripThroughTandem) {
  auto cases = type_cases();
  auto outputs = read_all(kSessionSettings);
  std::string check = kSessionSettings;
  int expected_rows = 0;
  for (std::size_t t = 0; t < cases.size(); ++t) {
    auto type = describe(t);
    SCOPED_TRACE(cases[t].sql_type);
    ASSERT_EQ(outputs[t].size(), cases[t].values.size());
    for (const auto& [id, output] : outputs[t]) {
      auto value = value_from_pg_text(type, output);
      ASSERT_TRUE(value.ok()) << output << ": " << value.error().message();
      auto param = value_to_pg_text(type, through_wire(*value));
      ASSERT_TRUE(param.ok()) << output << ": " << param.error().message();
      ASSERT_TRUE(param->has_value());
      check += fmt::format(
          "SELECT {0}, {1}, concat(v) = concat(convert_from(decode('{2}', 'hex'), 'UTF8')::{3}), "
          "encode(convert_to(concat(convert_from(decode('{2}', 'hex'), 'UTF8')::{3}), 'UTF8'), "
          "'hex') FROM rt_{0} WHERE id = {1};\n",
          t, id, hex_of(**param), type.name);
      ++expected_rows;
    }
  }
  auto rows = rows_of(s_cluster->psql(check));
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(expected_rows));
  for (const auto& row : rows) {
    auto t = std::stoul(row.at(0));
    int id = std::stoi(row.at(1));
    EXPECT_EQ(row.at(2), "t") << cases[t].sql_type << " value " << cases[t].values[id]
                              << ": PostgreSQL printed '" << outputs[t][id]
                              << "', after the round trip '" << text_of_hex(row.at(3)) << "'";
  }
}

TEST_F(PgTypesCluster, TimestamptzReadsTheSameUnderAnyTimeZone) {
  auto utc = read_all(kSessionSettings);
  auto cases = type_cases();
  for (const char* zone :
       {"Asia/Kolkata", "America/Los_Angeles", "Europe/Paris", "Pacific/Chatham"}) {
    auto local = read_all(fmt::format("SET DateStyle=ISO; SET TimeZone='{}';\n", zone));
    for (std::size_t t = 0; t < cases.size(); ++t) {
      if (cases[t].sql_type.rfind("timestamptz", 0) != 0) continue;
      auto type = describe(t);
      for (const auto& [id, output] : local[t]) {
        auto expected = value_from_pg_text(type, utc[t][id]);
        auto value = value_from_pg_text(type, output);
        ASSERT_TRUE(value.ok()) << zone << " " << output << ": " << value.error().message();
        EXPECT_EQ(*value, *expected) << zone << ": '" << output << "' vs '" << utc[t][id] << "'";
      }
    }
  }
}

TEST_F(PgTypesCluster, ByteaReadsTheSameInEscapeFormat) {
  auto hex = read_all(kSessionSettings);
  auto escape = read_all("SET bytea_output=escape;\n");
  auto cases = type_cases();
  for (std::size_t t = 0; t < cases.size(); ++t) {
    if (cases[t].sql_type != "bytea") continue;
    auto type = describe(t);
    for (const auto& [id, output] : escape[t]) {
      auto value = value_from_pg_text(type, output);
      ASSERT_TRUE(value.ok()) << output << ": " << value.error().message();
      EXPECT_EQ(*value, value_from_pg_text(type, hex[t][id]).value()) << output;
    }
  }
}

TEST_F(PgTypesCluster, BuiltinDescriptionsMatchTheCatalog) {
  std::vector<std::uint32_t> oids{
      pg_oid::boolean, pg_oid::bytea,   pg_oid::name, pg_oid::int8,      pg_oid::int2,
      pg_oid::int4,    pg_oid::text,    pg_oid::json, pg_oid::float4,    pg_oid::float8,
      pg_oid::bpchar,  pg_oid::varchar, pg_oid::date, pg_oid::timestamp, pg_oid::timestamptz,
      pg_oid::numeric, pg_oid::uuid,    pg_oid::jsonb};
  std::string sql;
  for (auto oid : oids) {
    sql += fmt::format(
        "SELECT t.oid, format_type(t.oid, NULL), t.typcategory, 0, '', '', ',' FROM pg_type t "
        "WHERE t.oid = {0} UNION ALL SELECT a.oid, format_type(a.oid, NULL), a.typcategory, "
        "e.oid, format_type(e.oid, NULL), e.typcategory, e.typdelim FROM pg_type e JOIN pg_type "
        "a ON a.oid = e.typarray WHERE e.oid = {0};\n",
        oid);
  }
  auto rows = rows_of(s_cluster->psql(sql));
  ASSERT_EQ(rows.size(), oids.size() * 2);
  for (const auto& r : rows) {
    PgType catalog{static_cast<std::uint32_t>(std::stoul(r[0])),
                   r[1],
                   r[2][0],
                   static_cast<std::uint32_t>(std::stoul(r[3])),
                   r[4],
                   r[5].empty() ? '\0' : r[5][0],
                   r[6][0]};
    // Without a modifier format_type says "character", which as a cast means char(1) and
    // would truncate; the builtin description casts to the unlimited "bpchar".
    if (catalog.name == "character") catalog.name = "bpchar";
    if (catalog.name == "character[]") catalog.name = "bpchar[]";
    if (catalog.element_name == "character") catalog.element_name = "bpchar";
    auto builtin = builtin_pg_type(catalog.oid);
    ASSERT_TRUE(builtin.has_value()) << catalog.oid << " " << catalog.name;
    EXPECT_EQ(*builtin, catalog) << catalog.name;
  }
}

}  // namespace
}  // namespace tandem::storage::postgres
