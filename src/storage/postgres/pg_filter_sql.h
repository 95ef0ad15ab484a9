// A snapshot's RowFilter in PostgreSQL's SQL (storage/filter_sql.h has the policy).
// PostgreSQL types its columns, and a snapshot reads each one back as the Value pg_types.h
// maps it to: the SQL compares that Value, not the column. Integers and booleans compare as
// bigint, reals as float8 (NaN and the infinities, which read back as text, as text), bytea
// as bytea; every other type as the text it reads back as, in the "C" collation (bytes, not a
// citext or case-insensitive collation's rules): its ::text for text, numeric, uuid, json and
// the others, the wire form (computed in SQL) for dates and timestamps. Parameters are cast to
// a type without modifier (`$1::text`, never `$1::varchar(10)`, which would truncate), and a
// value whose kind the column's value never has is unknown without reaching PostgreSQL, so no
// filter value causes a cast error. Arrays compare as unknown (their JSON text is not computed
// in SQL): such a filter passes fewer rows than in memory, never more.
#pragma once
#include <functional>

#include <string>

#include "common/row_filter.h"
#include "storage/postgres/pg_connection.h"
#include "storage/postgres/pg_schema.h"

namespace tandem::storage::postgres {

// The condition rows of `table` (aliased `t` in the query) meet exactly when `filter` passes
// them; its parameters are appended to `params` ($n numbered after those already there).
// Membership tables come from `membership_table` (the datasource's tracked tables, described
// once: not a catalog query per snapshot page). Throws its error (not_found when a membership
// table is not tracked).
using PgMembershipLookup = std::function<Result<PgTable>(const std::string& table)>;
std::string pg_filter_sql(const RowFilter& filter, const PgTable& table,
                          const PgMembershipLookup& membership_table, Params& params);

}  // namespace tandem::storage::postgres
