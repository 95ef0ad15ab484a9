// Stored form of RowState (the merge metadata kept beside each row).
#pragma once

#include <string>

#include "common/result.h"
#include "sync/merge.h"

namespace tandem::sync {

// JSON: {"i": insert stamp, "d": delete stamp, "s": {column: stamp}, "g": {column: value}}.
// "g" (ghost values) is written only for a dead row; a live row's values are the row itself.
std::string encode_row_state(const RowState& state);

// Rebuilds the state; `live_row` is the stored row when there is one.
Result<RowState> decode_row_state(std::string_view text, const Row* live_row);

// Canonical text of a primary key, used as the metadata key: a JSON array of the values.
std::string encode_key(const std::vector<Value>& key);

}  // namespace tandem::sync
