// Dates and timestamps between PostgreSQL's ISO text output and Tandem's wire form
// (docs/postgres-types.md, "Dates and timestamps"). Internal to pg_types.cpp.
//
// Wire form: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.ffffff]` and, for timestamptz, the same in
// UTC with a `Z`. The fraction has no trailing zeros and is absent when zero. Years use the
// proleptic Gregorian calendar with astronomical numbering (1 BC is year 0, 44 BC is -43);
// years outside 0000..9999 are written with a sign and at least six digits, as JavaScript's
// Date.toISOString does: `-000043-03-15`, `+294276-12-31`. `infinity` and `-infinity` stay
// words.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace tandem::storage::postgres::datetime {

enum class Kind { date, timestamp, timestamptz };

// PostgreSQL's output under DateStyle=ISO (any TimeZone: a timestamptz may carry any offset,
// `+00`, `-08`, `+05:30`, `+00:09:21`; a BC value ends with ` BC`) -> wire form.
// An `internal` error when `text` is not such output (a session setting we do not support).
Result<std::string> from_pg(Kind kind, std::string_view text);

// Wire form (also accepted: a space instead of `T`, no seconds, a date alone for the
// timestamps, a `Z`/`+HH`/`+HHMM`/`+HH:MM` offset for timestamptz, which defaults to UTC)
// -> text PostgreSQL reads back as the same value under any DateStyle's ISO input
// (`0044-03-15 00:00:00+00 BC`). An `invalid_mutation` error when `text` is not a valid
// date/timestamp.
Result<std::string> to_pg(Kind kind, std::string_view text);

}  // namespace tandem::storage::postgres::datetime
