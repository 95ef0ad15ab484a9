#include "rules/change_visibility.h"

namespace tandem::rules {
namespace {

// A filter with memberships and no lookup passes nothing (never throws on a live path).
bool passes_with(const RowFilter& filter, const Row& row, const MembershipLookup* memberships) {
  if (!memberships && !filter.memberships().empty()) return false;
  return passes(filter, row, memberships);
}

}  // namespace

bool may_see(const ReadAccess& access, const Row& row, const MembershipLookup* memberships) {
  return !access.sees_nothing() && passes_with(access.rows, row, memberships);
}

Row row_before(const sync::Change& change) {
  Row before = change.row;
  for (const auto& [column, value] : change.old)
    before[column] = value;
  return before;
}

Visibility change_visibility(const ReadAccess& access, const sync::Change& change,
                             const MembershipLookup* memberships) {
  if (access.sees_nothing()) return Visibility::hidden;
  if (access.rows.kind() == RowFilter::Kind::always) return Visibility::visible;
  bool after = passes_with(access.rows, change.row, memberships);
  if (change.op != sync::Op::update) return after ? Visibility::visible : Visibility::hidden;
  bool before =
      change.old.empty() ? after : passes_with(access.rows, row_before(change), memberships);
  if (before && after) return Visibility::visible;
  if (after) return Visibility::entered;
  if (before) return Visibility::left;
  return Visibility::hidden;
}

std::optional<sync::Change> visible_change(const sync::Change& change, const ReadAccess& access,
                                           const TableSchema& table) {
  if (!access.columns) return change;
  sync::Change shown = change;
  shown.row = Permissions::visible_part(change.row, access, table);
  shown.old = Permissions::visible_part(change.old, access, table);
  if (change.op == sync::Op::update && !change.old.empty() && shown.old.empty())
    return std::nullopt;
  return shown;
}

}  // namespace tandem::rules
