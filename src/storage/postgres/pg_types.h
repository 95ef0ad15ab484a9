// PostgreSQL column types and Tandem values (docs/postgres-types.md is the specification).
//
// Reading: the text output of a value (what libpq returns in text mode and pgoutput sends)
// becomes a Value in Tandem's wire form. Writing: a Value becomes the text of a text-format
// parameter that the statement casts with `$n::<PgType::name>`. For every supported type
// the round trip PostgreSQL -> Value -> (JSON wire) -> Value -> PostgreSQL gives back the
// same PostgreSQL value.
//
// Text is assumed to be UTF-8 (server and client encoding UTF8). Our sessions set
// DateStyle=ISO, TimeZone=UTC, extra_float_digits=3, bytea_output=hex, IntervalStyle=postgres;
// reading also accepts timestamptz with any UTC offset and bytea in escape format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/table_schema.h"
#include "common/value.h"

namespace tandem::storage::postgres {

// Oids of the builtin types the mapping knows by name (pg_type.dat; stable across versions).
// NOLINTBEGIN(readability-identifier-naming): PostgreSQL's own type names.
namespace pg_oid {
inline constexpr std::uint32_t boolean = 16;
inline constexpr std::uint32_t bytea = 17;
inline constexpr std::uint32_t name = 19;
inline constexpr std::uint32_t int8 = 20;
inline constexpr std::uint32_t int2 = 21;
inline constexpr std::uint32_t int4 = 23;
inline constexpr std::uint32_t text = 25;
inline constexpr std::uint32_t json = 114;
inline constexpr std::uint32_t float4 = 700;
inline constexpr std::uint32_t float8 = 701;
inline constexpr std::uint32_t bpchar = 1042;
inline constexpr std::uint32_t varchar = 1043;
inline constexpr std::uint32_t date = 1082;
inline constexpr std::uint32_t timestamp = 1114;
inline constexpr std::uint32_t timestamptz = 1184;
inline constexpr std::uint32_t numeric = 1700;
inline constexpr std::uint32_t uuid = 2950;
inline constexpr std::uint32_t jsonb = 3802;
}  // namespace pg_oid
// NOLINTEND(readability-identifier-naming)

// A column's PostgreSQL type, as the catalog describes it (see docs/postgres-types.md for
// the query). For a domain, give the base type's oid and category (pg_type.typbasetype) but
// the domain's own name, so that writes are checked against the domain.
struct PgType {
  std::uint32_t oid = 0;
  std::string name;               // format_type(atttypid, atttypmod): "numeric(10,2)", "text[]"
  char category = 0;              // pg_type.typcategory: 'A' array, 'E' enum, 'S' string...
  std::uint32_t element_oid = 0;  // arrays: pg_type.typelem (0 otherwise)
  std::string element_name;       // arrays: format_type of the element type
  char element_category = 0;      // arrays: typcategory of the element type
  char delimiter = ',';           // arrays: the element type's typdelim (';' for box)

  bool is_array() const noexcept { return element_oid != 0 || category == 'A'; }
  friend bool operator==(const PgType&, const PgType&) = default;
};

// The description of a builtin scalar type from `pg_oid` or of its one-dimensional array
// type (e.g. 1007, "integer[]"); nullopt for other oids, which need the catalog.
std::optional<PgType> builtin_pg_type(std::uint32_t oid);

// The portable type clients see: int2/int4/int8 -> integer, float4/float8 -> real,
// numeric -> numeric, bool -> boolean, text/varchar/bpchar/name/citext/enums -> text,
// timestamptz/timestamp -> timestamp, date -> date, uuid -> uuid, json/jsonb -> json,
// bytea -> blob, arrays -> json, anything else -> text.
ColumnType portable_type(const PgType& type);

// PostgreSQL's text output of a non-NULL value -> its Value (a NULL column is Value{}).
// An `internal` error when the text is not what PostgreSQL prints for that type under the
// settings above, or is a value the mapping refuses (an array with explicit bounds).
Result<Value> value_from_pg_text(const PgType& type, std::string_view text);

// A Value -> the text to bind as a text-format parameter cast to `type.name`; nullopt for
// NULL. An `invalid_mutation` error naming the problem when the value cannot be of that
// type (a blob into an integer column, text that is not a number into numeric, a non-array
// into an array column...).
Result<std::optional<std::string>> value_to_pg_text(const PgType& type, const Value& value);

}  // namespace tandem::storage::postgres
