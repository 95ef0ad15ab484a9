// A predicate over one row with every token claim already replaced by its value: what a
// permission rule's filter becomes for one reader (docs/permissions.md). The same filter is
// evaluated in memory (the live stream, pushes) and compiled to SQL by each datasource
// (snapshots), and both give the same answer. The semantics are SQL's:
//  - a comparison is exact: integers and reals compare numerically, text byte for byte (no
//    collation, no trimming), blobs byte for byte; values of other kinds never compare
//    (unknown). Whoever builds a filter gives each value the kind of its column.
//  - NULL on either side makes a comparison unknown; only is_null tests for it.
//  - all_of / any_of / negation are three-valued (Kleene), and a row passes only when the
//    filter is true: `not (x = 1)` does not pass a row whose x is NULL, in memory as in SQL.
//  - in_membership is `column IS NOT NULL AND column IN (SELECT key_column FROM table WHERE
//    member_column = member)`, one level deep: the table is a membership table (a list's
//    members, a project's team). It is never unknown.
// Immutable value type; thread-safe to share.
#pragma once

#include <string>
#include <vector>

#include "common/value.h"

namespace tandem {

class RowFilter {
 public:
  enum class Kind {
    always,         // every row
    never,          // no row
    all_of,         // and
    any_of,         // or
    negation,       // not (one operand)
    compare,        // column op value
    is_null,        // column IS NULL (or IS NOT NULL)
    in_values,      // column IN (values)
    in_membership,  // column IN (keys of the member in a membership table)
  };
  enum class Op { eq, ne, lt, le, gt, ge };

  struct Membership {
    std::string table;
    std::string key_column;     // the key the filtered column is compared with (list_id)
    std::string member_column;  // who is a member (user_id)
    Value member;               // the reader's value for member_column (their user id)
    friend bool operator==(const Membership&, const Membership&) = default;
  };

  static RowFilter always();
  static RowFilter never();
  // An empty list is always (all_of) or never (any_of); one operand is that operand.
  static RowFilter all_of(std::vector<RowFilter> operands);
  static RowFilter any_of(std::vector<RowFilter> operands);
  static RowFilter negation(RowFilter operand);
  static RowFilter compare(std::string column, Op op, Value value);
  static RowFilter is_null(std::string column, bool expect_null = true);
  static RowFilter in_values(std::string column, std::vector<Value> values);
  static RowFilter in_membership(std::string column, Membership membership);

  Kind kind() const { return m_kind; }
  const std::vector<RowFilter>& operands() const { return m_operands; }
  const std::string& column() const { return m_column; }
  Op op() const { return m_op; }
  const Value& value() const { return m_value; }                 // compare
  const std::vector<Value>& values() const { return m_values; }  // in_values
  bool expect_null() const { return m_expect_null; }             // is_null
  const Membership& membership() const { return m_membership; }  // in_membership

  // Whether the filter reads no column: always or never.
  bool is_constant() const { return m_kind == Kind::always || m_kind == Kind::never; }
  // The columns it reads, each once, in first-use order.
  std::vector<std::string> columns() const;
  // The membership tables it reads.
  std::vector<Membership> memberships() const;

  friend bool operator==(const RowFilter&, const RowFilter&) = default;

 private:
  RowFilter() = default;

  Kind m_kind = Kind::always;
  std::vector<RowFilter> m_operands;
  std::string m_column;
  Op m_op = Op::eq;
  Value m_value;
  std::vector<Value> m_values;
  bool m_expect_null = true;
  Membership m_membership;
};

// Answers in_membership in memory. Implementations say which threads may call them.
class MembershipLookup {
 public:
  virtual ~MembershipLookup() = default;
  // Whether the membership table holds a row with key_column = key and member_column =
  // membership.member (compared exactly, as RowFilter compares).
  virtual bool contains(const RowFilter::Membership& membership, const Value& key) const = 0;
};

enum class Truth { no, yes, unknown };

// The filter's value for `row` (a column missing from the row reads as NULL). Throws
// Error(internal) when the filter has in_membership and `memberships` is null.
Truth evaluate(const RowFilter& filter, const Row& row, const MembershipLookup* memberships);

// Whether the row passes: evaluate() is yes.
inline bool passes(const RowFilter& filter, const Row& row,
                   const MembershipLookup* memberships = nullptr) {
  return evaluate(filter, row, memberships) == Truth::yes;
}

// Compares two values as RowFilter does: unknown when either is NULL or their kinds do not
// compare; otherwise whether `a op b`.
Truth compare_values(const Value& a, RowFilter::Op op, const Value& b);

std::string_view row_filter_op_name(RowFilter::Op op);  // "_eq", "_neq", "_lt", ...

}  // namespace tandem
