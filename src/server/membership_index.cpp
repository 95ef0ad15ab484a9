#include "server/membership_index.h"

#include <mutex>

namespace tandem::server {
namespace {

bool same_table(const RowFilter::Membership& a, const RowFilter::Membership& b) {
  return a.table == b.table && a.key_column == b.key_column && a.member_column == b.member_column;
}

// The row an update replaced: the new row with the changed columns' old values.
Row row_before(const sync::Change& change) {
  Row before = change.row;
  for (const auto& [column, value] : change.old)
    before[column] = value;
  return before;
}

std::vector<Row> read_table(storage::Datasource& datasource, const TableSchema& table) {
  std::vector<Row> rows;
  storage::SnapshotRequest request;
  request.table = &table;
  request.limit = 5000;
  for (;;) {
    auto page = datasource.read_snapshot(request);
    for (auto& row : page.rows)
      rows.push_back(std::move(row));
    if (page.done || rows.empty()) break;
    request.after_key = table.key_of(rows.back());
  }
  return rows;
}

}  // namespace

MembershipIndex::MembershipIndex(std::vector<Declaration> declarations)
    : m_declarations(std::move(declarations)) {
  for (const auto& declaration : m_declarations)
    m_groups.push_back(Groups{declaration, {}});
}

void MembershipIndex::starting(storage::Datasource& datasource) {
  auto tables = datasource.tables();
  std::vector<Groups> loaded;
  for (const auto& declaration : m_declarations) {
    Groups groups{declaration, {}};
    for (const auto& table : tables) {
      if (table.name != declaration.table) continue;
      for (const auto& row : read_table(datasource, table))
        add(groups, row);
    }
    loaded.push_back(std::move(groups));
  }
  std::unique_lock lock(m_mutex);
  m_groups = std::move(loaded);
}

void MembershipIndex::before_publish(const std::vector<sync::Change>& changes) {
  std::unique_lock lock(m_mutex);
  if (m_groups.empty()) return;
  for (const auto& change : changes) {
    for (auto& groups : m_groups) {
      if (groups.declaration.table != change.table) continue;
      switch (change.op) {
        case sync::Op::insert:
          add(groups, change.row);
          break;
        case sync::Op::update:
          remove(groups, row_before(change));
          add(groups, change.row);
          break;
        case sync::Op::remove:
          remove(groups, change.row);
          break;
      }
    }
  }
}

void MembershipIndex::add(Groups& groups, const Row& row) {
  auto key = row.find(groups.declaration.key_column);
  auto member = row.find(groups.declaration.member_column);
  if (key == row.end() || member == row.end() || key->second.is_null() || member->second.is_null())
    return;
  ++groups.keys_by_member[member->second][key->second];
}

void MembershipIndex::remove(Groups& groups, const Row& row) {
  auto key = row.find(groups.declaration.key_column);
  auto member = row.find(groups.declaration.member_column);
  if (key == row.end() || member == row.end()) return;
  auto found = groups.keys_by_member.find(member->second);
  if (found == groups.keys_by_member.end()) return;
  auto count = found->second.find(key->second);
  if (count == found->second.end()) return;
  if (--count->second == 0) found->second.erase(count);
  if (found->second.empty()) groups.keys_by_member.erase(found);
}

const MembershipIndex::Groups* MembershipIndex::find(
    const RowFilter::Membership& membership) const {
  for (const auto& groups : m_groups) {
    if (same_table(groups.declaration, membership)) return &groups;
  }
  return nullptr;
}

bool MembershipIndex::contains(const RowFilter::Membership& membership, const Value& key) const {
  std::shared_lock lock(m_mutex);
  const auto* groups = find(membership);
  if (!groups) return false;
  auto member = groups->keys_by_member.find(membership.member);
  return member != groups->keys_by_member.end() && member->second.contains(key);
}

std::vector<Value> MembershipIndex::keys(const Declaration& declaration,
                                         const Value& member) const {
  std::shared_lock lock(m_mutex);
  const auto* groups = find(declaration);
  if (!groups) return {};
  auto found = groups->keys_by_member.find(member);
  if (found == groups->keys_by_member.end()) return {};
  std::vector<Value> keys;
  for (const auto& [key, count] : found->second)
    keys.push_back(key);
  return keys;
}

}  // namespace tandem::server
