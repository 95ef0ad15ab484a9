// PostgreSQL array literals <-> JSON arrays (docs/postgres-types.md, "Arrays"). Internal to
// pg_types.cpp.
//
// `{1,NULL,3}` <-> `[1,null,3]`, `{{"a b",c},{"\"",NULL}}` <-> `[["a b","c"],["\"",null]]`.
// Number elements keep their digits verbatim (so a 40-digit numeric survives); NaN and
// ±Infinity become the strings "NaN", "Infinity", "-Infinity"; booleans are true/false;
// dates and timestamps are strings in the same wire form as scalar ones (pg_datetime.h);
// every other element is a JSON string holding its PostgreSQL text form. Arrays with
// explicit bounds (`[0:1]={1,2}`) are refused: JSON cannot keep the lower bound.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace tandem::storage::postgres::array {

enum class ElementKind {
  number,   // int2/int4/int8/float4/float8/numeric: JSON numbers
  boolean,  // JSON true/false
  json,     // json/jsonb: JSON strings; JSON objects are also accepted on the way in
  date,     // JSON strings in the wire form of dates and timestamps
  timestamp,
  timestamptz,
  string,  // everything else: JSON strings
};

// PostgreSQL's array output -> JSON text. An `internal` error when `literal` is not an array
// literal or holds what the element kind cannot be.
Result<std::string> to_json(std::string_view literal, ElementKind kind, char delimiter = ',');

// JSON text -> an array literal PostgreSQL reads back (every string element quoted). An
// `invalid_mutation` error naming the problem when `json` is not a JSON array, is not
// rectangular or holds an element of the wrong kind.
Result<std::string> from_json(std::string_view json, ElementKind kind, char delimiter = ',');

}  // namespace tandem::storage::postgres::array
