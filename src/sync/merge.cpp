#include "sync/merge.h"

#include <algorithm>

namespace tandem::sync {

RowState RowState::preexisting(Row values) {
  RowState state;
  state.exists = true;
  state.values = std::move(values);
  state.insert_stamp = Stamp{};
  return state;
}

namespace {

bool is_after_delete(const RowState& state, const Stamp& stamp) {
  return !state.delete_stamp || stamp > *state.delete_stamp;
}

// Writes the columns of `mutation` that beat the column's current stamp. A key column is the
// row's identity, not a write: it gets no stamp (so no delete erases it).
std::vector<std::string> write_columns(RowState& state, const Mutation& mutation) {
  std::vector<std::string> changed;
  for (const auto& [column, value] : mutation.values) {
    if (mutation.pk.contains(column)) continue;
    auto stamp = state.stamps.find(column);
    if (stamp != state.stamps.end() && !(mutation.stamp > stamp->second)) continue;
    state.stamps.insert_or_assign(column, mutation.stamp);
    auto current = state.values.find(column);
    if (current == state.values.end() || !(current->second == value)) {
      state.values.insert_or_assign(column, value);
      changed.push_back(column);
    }
  }
  return changed;
}

MergeEffect apply_write(RowState& state, const Mutation& mutation) {
  MergeEffect effect;
  if (!is_after_delete(state, mutation.stamp)) return effect;  // erased by a later delete
  bool was_live = state.exists;
  if (mutation.op == Op::insert) {
    if (!state.insert_stamp || mutation.stamp > *state.insert_stamp) {
      state.insert_stamp = mutation.stamp;
      effect.state_changed = true;
    }
    state.exists = true;
  }
  effect.changed_columns = write_columns(state, mutation);
  if (!effect.changed_columns.empty()) effect.state_changed = true;
  if (!state.exists) return effect;  // an update of a dead row waits for its insert
  if (!was_live) {
    effect.kind = MergeEffect::Kind::inserted;
  } else if (!effect.changed_columns.empty()) {
    effect.kind = MergeEffect::Kind::updated;
  }
  return effect;
}

MergeEffect apply_delete(RowState& state, const Mutation& mutation) {
  MergeEffect effect;
  if (!is_after_delete(state, mutation.stamp)) return effect;
  effect.state_changed = true;
  state.delete_stamp = mutation.stamp;
  bool was_live = state.exists;
  // Writes older than the delete leave V: their columns fall back to nothing (the default).
  for (auto it = state.stamps.begin(); it != state.stamps.end();) {
    if (it->second < mutation.stamp) {
      it = state.stamps.erase(it);
    } else {
      ++it;
    }
  }
  // A key column is never erased: its value is the row's key, whoever wrote it.
  std::vector<std::string> erased;
  for (auto it = state.values.begin(); it != state.values.end();) {
    if (state.stamps.contains(it->first) || mutation.pk.contains(it->first)) {
      ++it;
    } else {
      erased.push_back(it->first);
      it = state.values.erase(it);
    }
  }
  if (state.insert_stamp && *state.insert_stamp < mutation.stamp) state.insert_stamp.reset();
  state.exists = state.insert_stamp.has_value();
  if (was_live && !state.exists) {
    effect.kind = MergeEffect::Kind::deleted;
  } else if (was_live) {
    // A later insert survives the delete: the row stays, reduced to the surviving writes;
    // the erased columns go back to their default.
    effect.kind = erased.empty() ? MergeEffect::Kind::none : MergeEffect::Kind::updated;
    effect.changed_columns = std::move(erased);
  }
  return effect;
}

}  // namespace

MergeEffect merge(RowState& state, const Mutation& mutation) {
  if (mutation.op == Op::remove) return apply_delete(state, mutation);
  return apply_write(state, mutation);
}

}  // namespace tandem::sync
