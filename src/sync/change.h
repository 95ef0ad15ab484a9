// One entry of the change log (docs/architecture.md, "Change log").
#pragma once

#include <cstdint>
#include <string>

#include "common/value.h"
#include "sync/mutation.h"

namespace tandem::sync {

struct Change {
  std::uint64_t seq = 0;  // position in the log; strictly increasing in commit order
  std::string table;
  Op op = Op::insert;
  Row pk;
  // insert/update: the whole row after the change; delete: the whole row before it.
  Row row;
  // update only: the values before the change of the columns that changed. Lets the rules
  // see a row that moved out of a user's view (its owner column changed).
  Row old;
  Stamp stamp;                       // the winning mutation's stamp (node "$db" for outside writes)
  std::int64_t committed_at_ms = 0;  // wall-clock time of the change, ms since the epoch
};

}  // namespace tandem::sync
