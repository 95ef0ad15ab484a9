// How one change of the log looks to one reader, for any ReadAccess: the live stream's and the
// catch-up's side of the permission engine (snapshots apply the same filter in SQL).
#pragma once

#include "common/row_filter.h"
#include "rules/access_rules.h"
#include "rules/permissions.h"
#include "sync/change.h"

namespace tandem::rules {

// hidden, visible, entered (the row moved into the view: send it as an insert) or left (moved
// out: send a delete of the row as the reader last saw it). An update is judged on the row
// before it (the row with the changed columns' old values) and after it; an insert on the row,
// a delete on the row it removed. `memberships` answers _in_membership filters (required when
// the filter has any; without it they pass nothing).
Visibility change_visibility(const ReadAccess& access, const sync::Change& change,
                             const MembershipLookup* memberships);

// Whether the reader may see `row` (a snapshot row, a row an ack echoes).
bool may_see(const ReadAccess& access, const Row& row, const MembershipLookup* memberships);

// The row an update replaced: the new row with the changed columns' old values.
Row row_before(const sync::Change& change);

// The change as a reader who sees only `access`'s columns receives it; nullopt when an update
// changed none of them (nothing to send).
std::optional<sync::Change> visible_change(const sync::Change& change, const ReadAccess& access,
                                           const TableSchema& table);

}  // namespace tandem::rules
