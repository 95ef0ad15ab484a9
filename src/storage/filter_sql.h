// RowFilter -> a boolean SQL expression with bound parameters: the policy every datasource
// shares, written once. The SQL gives every row the truth evaluate() gives it in memory
// (common/row_filter.h) when the row is read back as the datasource's snapshots read it: a
// comparison is between the column's value as read back (its Value) and the filter's value,
// exact (integers and reals numerically, text and blobs byte by byte), NULL when their kinds
// do not compare; and/or/not are SQL's own, which are Kleene's; in_membership is an EXISTS
// over the membership table with exact comparisons of the member and the key (never unknown).
//
// A backend supplies a FilterDialect: how a column's value of each kind is written in its SQL,
// how values are bound, compared and quoted. Where a backend cannot express a column's value
// of some kind, the comparison is unknown: since Kleene's connectives are monotone in
// knowledge, such a filter passes a subset of the rows evaluate() passes, never more.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/row_filter.h"
#include "common/value.h"

namespace tandem::storage {

// The tables a compiled filter reads: the snapshot's table, and while an in_membership is
// compiled, its membership table.
enum class FilterTable { row, membership };

// One backend's SQL. Used by one compilation at a time; it collects the bound parameters.
class FilterDialect {
 public:
  virtual ~FilterDialect() = default;

  // Whether the table has the column (a column it lacks reads as NULL).
  virtual bool has_column(FilterTable table, const std::string& column) const = 0;
  // The column, quoted and qualified, as IS NULL tests it.
  virtual std::string column(FilterTable table, const std::string& column) const = 0;
  // An expression that is the column's value when the value read back from it has `kind`
  // (integer, real, text or blob) and NULL otherwise; nullopt when it never has that kind
  // (or the backend cannot express it). Its text compares byte by byte, its blob by bytes.
  virtual std::optional<std::string> column_as(FilterTable table, const std::string& column,
                                               Value::Kind kind) = 0;
  // `left op value`, where `left` is a column_as() expression of the value's kind (integer,
  // real, text or blob; never NULL, never a NaN), the value bound as a parameter.
  virtual std::string compare(const std::string& left, RowFilter::Op op, const Value& value) = 0;
  // `left = right` for two column_as() expressions of `kind`.
  virtual std::string equal(const std::string& left, const std::string& right,
                            Value::Kind kind) = 0;
  // An integer expression as a double, converted as a C++ static_cast<double> converts.
  virtual std::string to_real(const std::string& integer) = 0;
  // A condition that is true whenever the column equals `value` exactly, and that the
  // database can answer from an index on the column (the exact comparison rarely can); nullopt
  // when there is none. Added only where unknown and false lead to the same answer.
  virtual std::optional<std::string> equality_hint(FilterTable table, const std::string& column,
                                                   const Value& value) = 0;
  // Reads the membership table's description (its name is a valid identifier) and returns
  // the FROM item naming it with its alias. Throws Error(not_found) when there is no such
  // table.
  virtual std::string open_membership(const std::string& table) = 0;
};

// The comparison operator in SQL: =, <>, <, <=, >, >= (the same in every dialect).
std::string_view sql_operator(RowFilter::Op op);

// A filter as a person reads it, SQL-like, with values as SQL literals (a NUL shown as \0,
// reals marked `r`): what the admin API's "view as user" shows and what tests print. Never
// executed: the real SQL binds every value.
std::string describe_filter(const RowFilter& filter);
std::string describe_value(const Value& value);

// The condition a row of `dialect`'s table must meet: true exactly for the rows `filter`
// passes. Throws Error(invalid_identifier) when a membership names an invalid table or
// column (common/identifier.h), and what the dialect throws.
std::string filter_sql(const RowFilter& filter, FilterDialect& dialect);

}  // namespace tandem::storage
