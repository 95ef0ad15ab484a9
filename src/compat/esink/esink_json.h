// A row as Esink's clients see it: the JSON PostgreSQL's row_to_json (or MySQL's JSON_OBJECT)
// would give, rebuilt from Tandem's values and the table's column types.
#pragma once

#include <nlohmann/json.hpp>

#include "common/table_schema.h"
#include "common/value.h"

namespace tandem::compat::esink {

// Booleans are true/false, json columns are nested JSON, numeric columns are numbers, blobs
// are "\x<hex>" strings (row_to_json's bytea form), non-finite reals are null (as
// JSON.stringify writes them). `schema` may be null (a table the catalog does not know yet):
// values then map by kind alone.
nlohmann::json esink_value(const ColumnSchema* column, const Value& value);
nlohmann::json esink_row(const TableSchema* schema, const Row& row);

// The user id a routing column is compared with: Esink compares `user.id === data[column]`;
// Tandem compares the text forms so that 7 and "7" match (docs/esink-migration.md).
std::string routing_key(const nlohmann::json& value);

}  // namespace tandem::compat::esink
