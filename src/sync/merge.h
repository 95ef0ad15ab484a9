// The merge rule, shared by the server and the client SDK (docs/protocol.md, "Merge rule").
//
// For one row, given the set S of mutations applied to it:
//   D = the largest stamp of a delete in S (none if no delete)
//   V = the inserts and updates in S whose stamp is greater than D
//   the row exists  <=>  V holds an insert (a row that existed before tracking counts as an
//                        insert at the zero stamp)
//   column c        =   the value written by the largest-stamped mutation in V that writes c;
//                        the column's default when none does; a primary-key column always
//                        holds the row's key (a delete never erases it)
// This is a function of the set, not of the order: every replica that applied the same
// mutations, in any order, holds the same row. `merge` computes it incrementally.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/value.h"
#include "sync/mutation.h"

namespace tandem::sync {

using StampMap = std::map<std::string, Stamp, std::less<>>;

// Everything the rule needs to remember about one row.
struct RowState {
  bool exists = false;
  // Live row: every column of the stored row. Dead row: the values written after the last
  // delete (kept so that a later-stamped insert that arrives late revives them).
  Row values;
  StampMap stamps;                    // the winning stamp of each column written in V
  std::optional<Stamp> insert_stamp;  // the largest insert stamp in V
  std::optional<Stamp> delete_stamp;  // D

  // State of a row that existed before it was tracked (or was never touched by a mutation).
  static RowState preexisting(Row values);
};

// What merging one mutation did to the visible row.
struct MergeEffect {
  enum class Kind { none, inserted, updated, deleted };
  Kind kind = Kind::none;
  // Columns whose value changed (inserted/updated). For an update, a listed column missing
  // from RowState::values was erased by a delete and goes back to its default (NULL). Never
  // a primary-key column (one of the mutation's `pk`) erased by a delete.
  std::vector<std::string> changed_columns;
  bool state_changed = false;  // metadata changed even if the row did not
};

// Applies `mutation` to `state`. Pure and deterministic.
MergeEffect merge(RowState& state, const Mutation& mutation);

}  // namespace tandem::sync
