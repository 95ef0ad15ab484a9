// Value <-> JSON, the wire form of values (docs/protocol.md, "Values"):
// null, integer, real and text map to JSON null, integer, number and string; a blob is
// {"$b64": "<base64>"}. The change log's trigger-written form {"$hex": "<hex>"} is also read.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/value.h"

namespace tandem {

nlohmann::json to_json(const Value& value);
Result<Value> value_from_json(const nlohmann::json& json);

nlohmann::json to_json(const Row& row);
// A JSON object of column -> value; a non-object or a bad value is a malformed_message.
Result<Row> row_from_json(const nlohmann::json& json);

}  // namespace tandem
