// The permission model (docs/permissions.md), as a rules file declares it: per table and per
// role, which rows and columns the role reads, which rows it may insert, update and delete,
// which columns it may set and what is preset from its token. Filters are written over
// columns, constants and token claims (FilterExpr); for one reader they resolve to a
// RowFilter (filter_expr.h), which every path evaluates the same way. Plain data:
// immutable once built, thread-safe to share.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/row_filter.h"
#include "common/value.h"

namespace tandem::rules {

// A value in a rule: a constant, or the reader's claim of that name (`sub`, `role`, `tenant`
// or any custom claim; an array claim is a list of values).
struct ClaimRef {
  std::string name;
  friend bool operator==(const ClaimRef&, const ClaimRef&) = default;
};
using Operand = std::variant<Value, ClaimRef>;

// A boolean expression as Hasura writes it: {column: {_op: operand}}, _and, _or, _not, plus
// _in_membership, a relationship through a declared membership table.
struct FilterExpr {
  enum class Kind { always, all_of, any_of, negation, compare, is_null, in_list, in_membership };
  Kind kind = Kind::always;
  std::vector<FilterExpr> operands;  // all_of, any_of, negation (one)
  std::string column;
  RowFilter::Op op = RowFilter::Op::eq;  // compare
  Operand operand;                       // compare; in_list: a ClaimRef to an array claim
  std::vector<Operand> list;             // in_list, when written out
  bool list_from_claim = false;          // in_list: `operand` names an array claim
  bool expect_null = true;               // is_null
  std::string membership;                // in_membership: the declared membership's name

  friend bool operator==(const FilterExpr&, const FilterExpr&) = default;
};

// A membership table: `member_column` holds who belongs to the group whose id is in
// `key_column` (a list's members, a project's team). A filter `{list_id: {_in_membership:
// name}}` keeps rows whose list_id is a key the reader's `claim` is a member of.
struct MembershipDecl {
  std::string table;
  std::string key_column;
  std::string member_column;
  std::string claim = "sub";
  friend bool operator==(const MembershipDecl&, const MembershipDecl&) = default;
};

// Columns a role reads or sets; nullopt is every column (`"*"`).
using ColumnList = std::optional<std::set<std::string, std::less<>>>;

struct SelectPermission {
  FilterExpr filter;
  ColumnList columns;
};

struct InsertPermission {
  FilterExpr check;  // the new row must pass it
  ColumnList columns;
  std::map<std::string, Operand, std::less<>> presets;  // set by the server, whatever was sent
};

struct UpdatePermission {
  FilterExpr filter;  // which stored rows may be updated
  FilterExpr check;   // what the row must pass after the update
  ColumnList columns;
  std::map<std::string, Operand, std::less<>> presets;
};

struct DeletePermission {
  FilterExpr filter;
};

// What one role may do with one table; an absent action is refused.
struct RolePermissions {
  std::optional<SelectPermission> select;
  std::optional<InsertPermission> insert;
  std::optional<UpdatePermission> update;
  std::optional<DeletePermission> remove;
};

// A rules file. Tables without an entry, and roles without an entry in a table, get nothing:
// a rule never widens by accident. The `admin` role is not written: admins read and write
// everything (as the database's owner does).
struct RuleSet {
  static constexpr int kFormatVersion = 1;
  int version = kFormatVersion;
  std::map<std::string, MembershipDecl, std::less<>> memberships;
  // table -> role -> permissions
  std::map<std::string, std::map<std::string, RolePermissions, std::less<>>, std::less<>> tables;
};

}  // namespace tandem::rules
