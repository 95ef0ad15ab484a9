#include "sync/merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tandem::sync {
namespace {

Stamp at(std::uint64_t millis, std::string node = "a") {
  return Stamp{Hlc::from_parts(millis, 0), std::move(node)};
}

Mutation insert(Row values, Stamp stamp) {
  return Mutation{"t", Op::insert, {{"id", 1}}, std::move(values), std::move(stamp)};
}
Mutation update(Row values, Stamp stamp) {
  return Mutation{"t", Op::update, {{"id", 1}}, std::move(values), std::move(stamp)};
}
Mutation remove(Stamp stamp) {
  return Mutation{"t", Op::remove, {{"id", 1}}, {}, std::move(stamp)};
}

RowState apply_all(const std::vector<Mutation>& mutations, RowState state = {}) {
  for (const auto& m : mutations)
    merge(state, m);
  return state;
}

void expect_same(const RowState& a, const RowState& b) {
  EXPECT_EQ(a.exists, b.exists);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.stamps, b.stamps);
  EXPECT_EQ(a.insert_stamp, b.insert_stamp);
  EXPECT_EQ(a.delete_stamp, b.delete_stamp);
}

TEST(ConflictMerge, LaterColumnWriteWinsRegardlessOfArrivalOrder) {
  auto first = update({{"name", "old"}}, at(10, "b"));
  auto second = update({{"name", "new"}}, at(20, "a"));
  RowState base = RowState::preexisting({{"id", 1}, {"name", "x"}});
  auto forward = apply_all({first, second}, base);
  auto backward = apply_all({second, first}, base);
  EXPECT_EQ(forward.values.at("name"), Value("new"));
  expect_same(forward, backward);
}

// A hard reset logs the rows as they are at the zero stamp (docs/protocol.md). A replica may
// receive that insert before or after a real write it already holds (its own unsent edit, or
// a change that reached it earlier): the write wins either way, and a deleted row stays
// deleted.
TEST(HardReset, ZeroStampedInsertNeverOverwritesARealWrite) {
  auto reset = insert({{"name", "as it was"}, {"price", 5}}, Stamp{});
  auto client_edit = update({{"name", "client's"}}, at(30, "phone"));
  auto after_edit = apply_all({client_edit, reset});
  auto before_edit = apply_all({reset, client_edit});
  EXPECT_TRUE(after_edit.exists);
  EXPECT_EQ(after_edit.values.at("name"), Value("client's"));
  EXPECT_EQ(after_edit.values.at("price"), Value(5)) << "columns nobody wrote take its value";
  expect_same(after_edit, before_edit);

  auto deleted = apply_all({remove(at(40, "phone")), reset});
  EXPECT_FALSE(deleted.exists) << "the reset does not bring back a deleted row";
  expect_same(deleted, apply_all({reset, remove(at(40, "phone"))}));
}

TEST(ConflictMerge, UpdatesOfDifferentColumnsBothSurvive) {
  RowState state = RowState::preexisting({{"id", 1}, {"name", "x"}, {"price", 1}});
  merge(state, update({{"name", "pen"}}, at(20, "a")));
  merge(state, update({{"price", 3}}, at(10, "b")));
  EXPECT_EQ(state.values.at("name"), Value("pen"));
  EXPECT_EQ(state.values.at("price"), Value(3));
}

TEST(ConflictMerge, EqualClocksAreOrderedByNodeId) {
  RowState one = RowState::preexisting({{"id", 1}});
  RowState two = one;
  merge(one, update({{"v", "from-a"}}, at(5, "a")));
  merge(one, update({{"v", "from-b"}}, at(5, "b")));
  merge(two, update({{"v", "from-b"}}, at(5, "b")));
  merge(two, update({{"v", "from-a"}}, at(5, "a")));
  EXPECT_EQ(one.values.at("v"), Value("from-b"));
  expect_same(one, two);
}

TEST(ConflictMerge, DeleteIsATombstoneThatOlderWritesCannotRevive) {
  RowState state;
  merge(state, insert({{"v", 1}}, at(10)));
  auto effect = merge(state, remove(at(30)));
  EXPECT_EQ(effect.kind, MergeEffect::Kind::deleted);
  EXPECT_EQ(merge(state, update({{"v", 2}}, at(20))).kind, MergeEffect::Kind::none);
  EXPECT_EQ(merge(state, insert({{"v", 3}}, at(25))).kind, MergeEffect::Kind::none);
  EXPECT_FALSE(state.exists);
}

TEST(ConflictMerge, InsertLaterThanTheDeleteRevivesTheRow) {
  RowState state;
  merge(state, insert({{"v", 1}, {"w", 1}}, at(10)));
  merge(state, remove(at(20)));
  auto effect = merge(state, insert({{"v", 9}}, at(30)));
  EXPECT_EQ(effect.kind, MergeEffect::Kind::inserted);
  EXPECT_TRUE(state.exists);
  EXPECT_EQ(state.values.at("v"), Value(9));
  EXPECT_FALSE(state.values.contains("w")) << "a write older than the delete is erased";
}

// Replica A deletes a row offline; replica B upserts it later (without the key among its
// values, as the SDK sends). Whichever arrives first, the row stays with B's write, the
// columns written before the delete go back to their default, and the key is never erased.
TEST(ConflictMerge, ALateDeleteThatANewerInsertSurvivesKeepsTheKey) {
  RowState base = RowState::preexisting({{"id", 1}, {"tag", "old"}, {"note", "n"}});
  RowState upsert_first = base;
  merge(upsert_first, insert({{"tag", "B"}}, at(30, "b")));
  auto effect = merge(upsert_first, remove(at(20, "a")));
  EXPECT_EQ(effect.kind, MergeEffect::Kind::updated);
  EXPECT_EQ(effect.changed_columns, std::vector<std::string>{"note"});
  EXPECT_TRUE(upsert_first.exists);
  EXPECT_EQ(upsert_first.values, (Row{{"id", 1}, {"tag", "B"}}));

  RowState delete_first = base;
  EXPECT_EQ(merge(delete_first, remove(at(20, "a"))).kind, MergeEffect::Kind::deleted);
  EXPECT_EQ(merge(delete_first, insert({{"tag", "B"}}, at(30, "b"))).kind,
            MergeEffect::Kind::inserted);
  expect_same(upsert_first, delete_first);
}

TEST(ConflictMerge, AKeyColumnAmongTheValuesIsNotAWriteADeleteCanErase) {
  RowState state = RowState::preexisting({{"id", 1}, {"v", 0}});
  merge(state, insert({{"id", 1}, {"v", 5}}, at(10)));
  EXPECT_FALSE(state.stamps.contains("id"));
  merge(state, insert({{"v", 7}}, at(30)));
  auto effect = merge(state, remove(at(20)));
  EXPECT_TRUE(state.exists);
  EXPECT_EQ(state.values.at("id"), Value(1));
  EXPECT_EQ(effect.kind, MergeEffect::Kind::none) << "v was written after the delete";
}

TEST(ConflictMerge, UpdateOfADeadRowWaitsForALaterInsert) {
  RowState state;
  merge(state, remove(at(10)));
  EXPECT_EQ(merge(state, update({{"w", 7}}, at(30))).kind, MergeEffect::Kind::none);
  EXPECT_FALSE(state.exists);
  merge(state, insert({{"v", 1}, {"w", 1}}, at(20)));
  EXPECT_TRUE(state.exists);
  EXPECT_EQ(state.values.at("w"), Value(7)) << "the update is later than the insert";
  EXPECT_EQ(state.values.at("v"), Value(1));
}

TEST(ConflictMerge, ReplayingAMutationChangesNothing) {
  RowState state;
  auto m = insert({{"v", 1}}, at(10));
  merge(state, m);
  RowState before = state;
  auto effect = merge(state, m);
  EXPECT_EQ(effect.kind, MergeEffect::Kind::none);
  EXPECT_FALSE(effect.state_changed);
  expect_same(state, before);
}

TEST(ConflictMerge, EffectNamesOnlyColumnsWhoseValueChanged) {
  RowState state = RowState::preexisting({{"id", 1}, {"a", 1}, {"b", 2}});
  auto effect = merge(state, update({{"a", 1}, {"b", 3}}, at(10)));
  EXPECT_EQ(effect.kind, MergeEffect::Kind::updated);
  EXPECT_EQ(effect.changed_columns, std::vector<std::string>{"b"});
}

// The property the whole design rests on: the merged row is a function of the set of
// mutations, whatever order they arrive in.
TEST(ConflictMerge, AnyArrivalOrderOfOneMutationSetGivesTheSameRow) {
  std::mt19937_64 random(20261123);
  const std::vector<std::string> nodes = {"alice-phone", "alice-laptop", "bob", "server"};
  const std::vector<std::string> columns = {"name", "price", "qty"};
  for (int round = 0; round < 200; ++round) {
    std::vector<Mutation> mutations;
    int count = 3 + static_cast<int>(random() % 12);
    for (int i = 0; i < count; ++i) {
      Stamp stamp = at(1 + random() % 20, nodes[random() % nodes.size()]);
      stamp.hlc = Hlc(stamp.hlc.raw() + static_cast<std::uint64_t>(i));  // unique per node
      switch (random() % 4) {
        case 0:
          mutations.push_back(remove(stamp));
          break;
        case 1: {
          Row values;
          for (const auto& c : columns)
            values[c] = static_cast<std::int64_t>(random() % 5);
          if (random() % 2 == 0) values["id"] = 1;  // the key among the values, or not
          mutations.push_back(insert(values, stamp));
          break;
        }
        default: {
          Row values;
          values[columns[random() % columns.size()]] = static_cast<std::int64_t>(random() % 5);
          mutations.push_back(update(values, stamp));
        }
      }
    }
    RowState base = round % 2 == 0 ? RowState{} : RowState::preexisting({{"id", 1}, {"name", 0}});
    RowState reference = apply_all(mutations, base);
    for (int shuffle = 0; shuffle < 50; ++shuffle) {
      std::shuffle(mutations.begin(), mutations.end(), random);
      SCOPED_TRACE(testing::Message() << "round " << round << " shuffle " << shuffle);
      expect_same(apply_all(mutations, base), reference);
      if (HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace tandem::sync
