#include "storage/snapshot_filter_testing.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "storage/filter_sql.h"

namespace tandem::testing {
namespace {

template <typename T>
const T& pick(std::mt19937& random, const std::vector<T>& items) {
  return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(random)];
}

int roll(std::mt19937& random, int sides) {
  return std::uniform_int_distribution<int>(0, sides - 1)(random);
}

Value random_value(std::mt19937& random, const RowFilterSpace& space, std::size_t column) {
  // Half the time a value the column holds, so that equalities hit.
  if (column < space.column_values.size() && !space.column_values[column].empty() &&
      roll(random, 2) == 0) {
    return pick(random, space.column_values[column]);
  }
  return pick(random, space.values);
}

RowFilter leaf(std::mt19937& random, const RowFilterSpace& space) {
  auto column = static_cast<std::size_t>(roll(random, static_cast<int>(space.columns.size())));
  const auto& name = space.columns[column];
  switch (roll(random, 12)) {
    case 0:
      return roll(random, 2) == 0 ? RowFilter::always() : RowFilter::never();
    case 1:
    case 2:
      return RowFilter::is_null(name, roll(random, 2) == 0);
    case 3:
    case 4: {
      std::vector<Value> values;
      for (int i = roll(random, 4); i > 0; --i)
        values.push_back(random_value(random, space, column));
      return RowFilter::in_values(name, std::move(values));
    }
    case 5:
    case 6: {
      auto membership = pick(random, space.memberships);
      membership.member = pick(random, space.members);
      return RowFilter::in_membership(name, std::move(membership));
    }
    default:
      return RowFilter::compare(name, static_cast<RowFilter::Op>(roll(random, 6)),
                                random_value(random, space, column));
  }
}

RowFilter random_filter(std::mt19937& random, const RowFilterSpace& space, int depth) {
  if (depth <= 0 || roll(random, 5) < 2) return leaf(random, space);
  switch (roll(random, 3)) {
    case 0:
      return RowFilter::negation(random_filter(random, space, depth - 1));
    default: {
      std::vector<RowFilter> operands;
      for (int i = 2 + roll(random, 2); i > 0; --i)
        operands.push_back(random_filter(random, space, depth - 1));
      // The factories fold one operand into itself; two or three stay a list.
      return roll(random, 2) == 0 ? RowFilter::all_of(std::move(operands))
                                  : RowFilter::any_of(std::move(operands));
    }
  }
}

}  // namespace

RowFilter random_row_filter(std::mt19937& random, const RowFilterSpace& space, int max_depth) {
  return random_filter(random, space, max_depth);
}

std::string describe(const Value& value) {
  return storage::describe_value(value);
}

std::string describe(const RowFilter& filter) {
  return storage::describe_filter(filter);
}

bool RowsMembership::contains(const RowFilter::Membership& membership, const Value& key) const {
  auto table = m_tables.find(membership.table);
  if (table == m_tables.end()) return false;
  auto read = [](const Row& row, const std::string& column) {
    auto it = row.find(column);
    return it == row.end() ? Value{} : it->second;
  };
  for (const auto& row : table->second) {
    if (compare_values(read(row, membership.member_column), RowFilter::Op::eq, membership.member) ==
            Truth::yes &&
        compare_values(read(row, membership.key_column), RowFilter::Op::eq, key) == Truth::yes) {
      return true;
    }
  }
  return false;
}

std::vector<std::int64_t> snapshot_ids(storage::Datasource& source, const TableSchema& table,
                                       const RowFilter& filter, std::size_t limit) {
  storage::SnapshotRequest request;
  request.table = &table;
  request.filter = filter;
  request.limit = limit;
  std::vector<std::int64_t> found;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = source.read_snapshot(request);
    for (const auto& row : page.rows)
      found.push_back(row.at("id").as_integer());
    if (page.done) break;
    request.after_key = table.key_of(page.rows.back());
  }
  EXPECT_EQ(source.count_rows(request), found.size()) << describe(filter);
  return found;
}

std::vector<std::int64_t> passing_ids(const std::vector<Row>& rows, const RowFilter& filter,
                                      const MembershipLookup* memberships) {
  std::vector<std::int64_t> ids;
  for (const auto& row : rows) {
    if (passes(filter, row, memberships)) ids.push_back(row.at("id").as_integer());
  }
  return ids;
}

void take_column_values(RowFilterSpace& space, const std::vector<Row>& rows) {
  space.column_values.clear();
  for (const auto& column : space.columns) {
    std::vector<Value> held;
    for (const auto& row : rows) {
      if (auto it = row.find(column); it != row.end()) held.push_back(it->second);
    }
    space.column_values.push_back(std::move(held));
  }
}

void expect_database_agrees_with_memory(
    std::uint32_t seed, int count, const RowFilterSpace& space, const std::vector<Row>& rows,
    const MembershipLookup& memberships,
    const std::function<std::vector<std::int64_t>(const RowFilter&)>& read,
    const std::function<bool(const RowFilter&)>& subset_only) {
  std::mt19937 random(seed);
  int failures = 0;
  for (int i = 0; i < count && failures < 10; ++i) {
    auto filter = random_row_filter(random, space);
    auto expected = passing_ids(rows, filter, &memberships);
    auto found = read(filter);
    if (subset_only && subset_only(filter)) {
      for (auto id : found) {
        bool passes = std::find(expected.begin(), expected.end(), id) != expected.end();
        EXPECT_TRUE(passes) << "row " << id << ", seed " << seed << ", filter #" << i << ": "
                            << describe(filter);
        if (!passes) ++failures;
      }
      continue;
    }
    if (found != expected) ++failures;
    EXPECT_EQ(found, expected) << "seed " << seed << ", filter #" << i << ": " << describe(filter);
  }
}

}  // namespace tandem::testing
