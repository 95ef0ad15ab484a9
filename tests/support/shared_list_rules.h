// The rules of the tests' shared lists (docs/permissions.md): a list's items are read by its
// members (list_members), each member reads their own membership rows, and items hide every
// column but id, list_id and title. Tests add their own rules after it: the text ends inside
// [tables.items.user], so lines appended first extend that table.
#pragma once

#include <string>

namespace tandem::testing {

inline std::string shared_list_rules(const std::string& more = "") {
  return R"(
[memberships.list_members]
key = "list_id"
member = "user_id"

[tables.list_members.user]
select.filter = { user_id = { _eq = { _claim = "sub" } } }

[tables.items.user]
select.filter = { list_id = { _in_membership = "list_members" } }
select.columns = ["id", "list_id", "title"]
)" + more;
}

}  // namespace tandem::testing
