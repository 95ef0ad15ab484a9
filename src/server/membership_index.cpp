#include "server/membership_index.h"

#include <algorithm>
#include <mutex>

namespace tandem::server {
namespace {

bool same_table(const RowFilter::Membership& a, const RowFilter::Membership& b) {
  return a.table == b.table && a.key_column == b.key_column && a.member_column == b.member_column;
}

const TableSchema* find_table(const std::vector<TableSchema>& tables, const std::string& name) {
  auto it = std::find_if(tables.begin(), tables.end(),
                         [&](const TableSchema& table) { return table.name == name; });
  return it == tables.end() ? nullptr : &*it;
}

// One row fewer says that `outer` has `inner`.
void decrement(std::map<Value, std::map<Value, int>>& counts, const Value& outer,
               const Value& inner) {
  auto found = counts.find(outer);
  if (found == counts.end()) return;
  auto count = found->second.find(inner);
  if (count != found->second.end() && --count->second == 0) found->second.erase(count);
  if (found->second.empty()) counts.erase(found);
}

// What `outer` has, in order.
std::vector<Value> inner_values(const std::map<Value, std::map<Value, int>>& counts,
                                const Value& outer) {
  auto found = counts.find(outer);
  if (found == counts.end()) return {};
  std::vector<Value> values;
  values.reserve(found->second.size());
  for (const auto& [value, count] : found->second)
    values.push_back(value);
  return values;
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

MembershipIndex::MembershipIndex(std::vector<Declaration> declarations) {
  for (auto& declaration : declarations)
    m_groups.push_back(Groups{std::move(declaration), false, {}, {}, {}});
}

MembershipIndex::Groups MembershipIndex::read(storage::Datasource& datasource,
                                              const Declaration& declaration,
                                              const std::vector<TableSchema>& tables) {
  Groups groups{declaration, false, {}, {}, {}};
  if (const auto* table = find_table(tables, declaration.table)) {
    for (const auto& row : read_table(datasource, *table))
      put(groups, table->key_row(row), row);
    groups.loaded = true;
  }
  return groups;
}

void MembershipIndex::starting(storage::Datasource& datasource) {
  auto tables = datasource.tables();
  std::vector<Declaration> declarations;
  {
    std::shared_lock lock(m_mutex);
    for (const auto& groups : m_groups)
      declarations.push_back(groups.declaration);
  }
  std::vector<Groups> loaded;
  loaded.reserve(declarations.size());
  for (const auto& declaration : declarations)
    loaded.push_back(read(datasource, declaration, tables));
  std::unique_lock lock(m_mutex);
  m_groups = std::move(loaded);
}

void MembershipIndex::tables_read(storage::Datasource& datasource,
                                  const std::vector<TableSchema>& tables) {
  std::vector<Declaration> newly_tracked;
  {
    std::shared_lock lock(m_mutex);
    for (const auto& groups : m_groups) {
      if (!groups.loaded && find_table(tables, groups.declaration.table))
        newly_tracked.push_back(groups.declaration);
    }
  }
  if (newly_tracked.empty()) return;
  std::vector<Groups> loaded;
  loaded.reserve(newly_tracked.size());
  for (const auto& declaration : newly_tracked)
    loaded.push_back(read(datasource, declaration, tables));
  std::unique_lock lock(m_mutex);
  for (auto& fresh : loaded) {
    auto kept = std::find_if(m_groups.begin(), m_groups.end(), [&](const Groups& groups) {
      return same_table(groups.declaration, fresh.declaration);
    });
    if (kept != m_groups.end()) *kept = std::move(fresh);
  }
}

void MembershipIndex::declare(std::vector<Declaration> declarations,
                              storage::Datasource& datasource) {
  std::vector<Groups> next;
  std::vector<Declaration> to_read;
  {
    std::shared_lock lock(m_mutex);
    for (auto& declaration : declarations) {
      const auto* kept = find(declaration);
      if (kept && kept->loaded) {
        next.push_back(*kept);
      } else {
        to_read.push_back(std::move(declaration));
      }
    }
  }
  if (!to_read.empty()) {
    auto tables = datasource.tables();
    for (const auto& declaration : to_read)
      next.push_back(read(datasource, declaration, tables));
  }
  std::unique_lock lock(m_mutex);
  m_groups = std::move(next);
}

void MembershipIndex::before_publish(const std::vector<sync::Change>& changes) {
  std::unique_lock lock(m_mutex);
  if (m_groups.empty()) return;
  for (const auto& change : changes) {
    for (auto& groups : m_groups) {
      if (groups.declaration.table != change.table) continue;
      if (change.op == sync::Op::remove) {
        erase(groups, change.pk);
        continue;
      }
      if (change.op == sync::Op::update) {
        // An outside write may change a key column: the row under the old key is gone.
        Row key_before = change.pk;
        for (auto& [column, value] : key_before) {
          if (auto old = change.old.find(column); old != change.old.end()) value = old->second;
        }
        if (key_before != change.pk) erase(groups, key_before);
      }
      put(groups, change.pk, change.row);  // an update's row is the whole new row
    }
  }
}

void MembershipIndex::put(Groups& groups, const Row& pk, const Row& row) {
  auto key = row.find(groups.declaration.key_column);
  auto member = row.find(groups.declaration.member_column);
  bool counts = key != row.end() && member != row.end() && !key->second.is_null() &&
                !member->second.is_null();
  if (auto known = groups.by_row.find(pk); known != groups.by_row.end()) {
    if (counts && known->second == std::pair{member->second, key->second}) return;
    erase(groups, pk);
  }
  if (!counts) return;
  groups.by_row.emplace(pk, std::pair{member->second, key->second});
  ++groups.keys_by_member[member->second][key->second];
  ++groups.members_by_key[key->second][member->second];
}

void MembershipIndex::erase(Groups& groups, const Row& pk) {
  auto known = groups.by_row.find(pk);
  if (known == groups.by_row.end()) return;
  const auto& [member, key] = known->second;
  decrement(groups.keys_by_member, member, key);
  decrement(groups.members_by_key, key, member);
  groups.by_row.erase(known);
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
  return groups ? inner_values(groups->keys_by_member, member) : std::vector<Value>{};
}

std::vector<Value> MembershipIndex::members(const Declaration& declaration,
                                            const Value& key) const {
  std::shared_lock lock(m_mutex);
  const auto* groups = find(declaration);
  return groups ? inner_values(groups->members_by_key, key) : std::vector<Value>{};
}

}  // namespace tandem::server
