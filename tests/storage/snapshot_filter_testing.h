// What tests of snapshot filters share: random RowFilters for differential tests (a
// snapshot's SQL against evaluate() in memory), a readable form of any filter for their
// failure messages, memberships answered from rows, and the ids a filtered snapshot holds.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/row_filter.h"
#include "storage/datasource.h"

namespace tandem::testing {

// What random filters are made of.
struct RowFilterSpace {
  std::vector<std::string> columns;  // the columns compared (include one the table lacks)
  std::vector<Value> values;         // values of every kind, NULL, NaN, hostile text...
  std::vector<std::vector<Value>> column_values;   // per column (same order): values it holds
  std::vector<RowFilter::Membership> memberships;  // member values vary through `members`
  std::vector<Value> members;
};

// A filter of every kind, nested at most `max_depth` levels: comparisons with every op, IS
// NULL and IS NOT NULL, IN lists (empty ones too), memberships, negations, and/or.
RowFilter random_row_filter(std::mt19937& random, const RowFilterSpace& space, int max_depth = 3);

// E.g. `(s = 'ann' AND NOT (n IS NULL))`; text quoted with \0 for NUL, reals with a `r`
// suffix (7r), blobs as x'..'.
std::string describe(const RowFilter& filter);
std::string describe(const Value& value);

// Answers in_membership from rows read back from the membership tables (by table name),
// comparing as RowFilter compares.
class RowsMembership final : public MembershipLookup {
 public:
  explicit RowsMembership(std::map<std::string, std::vector<Row>> tables)
      : m_tables(std::move(tables)) {}
  bool contains(const RowFilter::Membership& membership, const Value& key) const override;

 private:
  std::map<std::string, std::vector<Row>> m_tables;
};

// The integer `id` of every row a snapshot of `table` filtered by `filter` holds, read in
// pages of `limit`; adds a test failure when count_rows() counts another number.
std::vector<std::int64_t> snapshot_ids(storage::Datasource& source, const TableSchema& table,
                                       const RowFilter& filter, std::size_t limit = 4);

// The `id` of every row of `rows` the filter passes in memory.
std::vector<std::int64_t> passing_ids(const std::vector<Row>& rows, const RowFilter& filter,
                                      const MembershipLookup* memberships);

// Fills space.column_values with what `rows` hold in each of space.columns.
void take_column_values(RowFilterSpace& space, const std::vector<Row>& rows);

// The differential check: `count` random filters from `seed`, each read through the database
// (`read`: the ids a filtered snapshot returns) and evaluated in memory over `rows`; the two
// must be equal, or, for a filter `subset_only` accepts, the database's a subset of memory's.
// Stops after ten disagreements, each reported with the seed and the filter.
void expect_database_agrees_with_memory(
    std::uint32_t seed, int count, const RowFilterSpace& space, const std::vector<Row>& rows,
    const MembershipLookup& memberships,
    const std::function<std::vector<std::int64_t>(const RowFilter&)>& read,
    const std::function<bool(const RowFilter&)>& subset_only = {});

}  // namespace tandem::testing
