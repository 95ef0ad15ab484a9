// LocalStore applying snapshots: the bulk path for rows without queued local mutations, the
// merge for rows with them, the events, and the atomicity of pages applied together.
#include "client/local_store.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <set>

#include "support/temp_dir.h"

namespace tandem::client {
namespace {

using protocol::Checkpoint;
using protocol::SnapshotRowsReceived;

protocol::TableInfo items_table() {
  protocol::TableInfo info;
  info.schema.name = "items";
  info.schema.columns = {{"id", ColumnType::text, "TEXT", true, false, 1},
                         {"a", ColumnType::text, "TEXT", false, false, 0},
                         {"b", ColumnType::integer, "INTEGER", false, false, 0}};
  info.schema.primary_key = {"id"};
  info.writable = true;
  return info;
}

std::string id(int i) {
  return fmt::format("k{:04}", i);
}

Row item(int i, std::string a, std::int64_t b) {
  return Row{{"id", Value(id(i))}, {"a", Value(std::move(a))}, {"b", Value(b)}};
}

// The server's pages: `rows` in pages of `page_size`, each with the cursor of its last row.
std::vector<SnapshotRowsReceived> pages_of(const std::vector<Row>& rows, std::uint64_t seq,
                                           std::size_t page_size = 500) {
  std::vector<SnapshotRowsReceived> pages;
  for (std::size_t start = 0; start < rows.size(); start += page_size) {
    SnapshotRowsReceived page;
    page.table = "items";
    for (std::size_t i = start; i < std::min(rows.size(), start + page_size); ++i)
      page.rows.push_back(rows[i]);
    page.checkpoint.seq = seq;
    page.checkpoint.snapshot = Checkpoint::SnapshotCursor{"items", {page.rows.back().at("id")}};
    pages.push_back(std::move(page));
  }
  return pages;
}

// Every visible row of items, in key order.
std::vector<Row> visible_rows(LocalStore& store) {
  std::vector<Row> rows;
  auto status =
      store.query("SELECT id, a, b FROM items ORDER BY id", {},
                  [&](const std::vector<std::string>& names, const std::vector<Value>& values) {
                    Row row;
                    for (std::size_t i = 0; i < names.size(); ++i)
                      row.emplace(names[i], values[i]);
                    rows.push_back(std::move(row));
                    return true;
                  });
  EXPECT_TRUE(status) << status.error().message();
  return rows;
}

struct Seen {
  sync::Op op;
  std::string id;
  auto operator<=>(const Seen&) const = default;
};

std::set<Seen> seen(const std::vector<ChangeEvent>& events) {
  std::set<Seen> result;
  for (const auto& event : events) {
    EXPECT_EQ(event.table, "items");
    EXPECT_EQ(event.origin, Origin::remote);
    EXPECT_TRUE(result.insert(Seen{event.op, event.pk.at("id").as_text()}).second)
        << "two events for " << event.pk.at("id").as_text();
  }
  return result;
}

// A whole reset snapshot, its pages applied `per_batch` at a time; the events of all of it.
std::vector<ChangeEvent> snapshot(LocalStore& store, const std::vector<Row>& rows,
                                  std::uint64_t seq, std::size_t per_batch) {
  store.begin_snapshot(protocol::SnapshotBegin{seq, true, std::nullopt});
  auto pages = pages_of(rows, seq);
  std::vector<ChangeEvent> events;
  for (std::size_t start = 0; start < pages.size(); start += per_batch) {
    auto count = std::min(per_batch, pages.size() - start);
    auto applied = store.apply_snapshot_pages(std::span(pages).subspan(start, count));
    EXPECT_TRUE(applied.rejections.empty());
    events.insert(events.end(), applied.events.begin(), applied.events.end());
    auto checkpoint = store.checkpoint();
    if (!checkpoint || !checkpoint->snapshot) {
      ADD_FAILURE() << "no snapshot cursor after a batch";
      continue;
    }
    EXPECT_EQ(checkpoint->snapshot->after, pages[start + count - 1].checkpoint.snapshot->after);
  }
  auto ended = store.end_snapshot(protocol::SnapshotEnd{Checkpoint{seq, std::nullopt}});
  events.insert(events.end(), ended.events.begin(), ended.events.end());
  return events;
}

TEST(LocalStoreSnapshot,
     PendingLocalWritesStayMergedOverAManyRowSnapshotAndOtherRowsAreTheServers) {
  testing::TempDir dir;
  LocalStore store(dir.file("replica.db"));
  store.apply_tables({items_table()});
  constexpr int kRows = 3000;
  std::vector<Row> first;
  for (int i = 0; i < kRows; ++i)
    first.push_back(item(i, "first", i));
  auto inserted = seen(snapshot(store, first, 10, 4));
  ASSERT_EQ(inserted.size(), static_cast<std::size_t>(kRows));
  for (const auto& event : inserted)
    EXPECT_EQ(event.op, sync::Op::insert);
  ASSERT_EQ(visible_rows(store), first);

  // Local writes the server has not acknowledged yet.
  ASSERT_TRUE(store.update("items", Row{{"id", Value(id(42))}}, Row{{"a", Value("local")}}));
  ASSERT_TRUE(store.remove("items", Row{{"id", Value(id(100))}}));
  ASSERT_TRUE(store.insert("items", Row{{"id", Value("local-only")}, {"a", Value("mine")}}));
  ASSERT_EQ(store.pending_count(), 3);

  // A new generation from the server: rows 1000-1099 are gone, 42 and 500 changed, and the
  // row deleted locally is still there for the server.
  std::vector<Row> second;
  for (int i = 0; i < kRows; ++i) {
    if (i >= 1000 && i < 1100) continue;
    if (i == 42) {
      second.push_back(item(i, "second", 4200));
    } else if (i == 500) {
      second.push_back(item(i, "second", 500));
    } else {
      second.push_back(item(i, "first", i));
    }
  }
  auto events = seen(snapshot(store, second, 20, 3));

  std::set<Seen> expected{{sync::Op::update, id(42)}, {sync::Op::update, id(500)}};
  for (int i = 1000; i < 1100; ++i)
    expected.insert({sync::Op::remove, id(i)});
  EXPECT_EQ(events, expected);

  // The visible rows: the server's, with the queued writes merged on top.
  std::vector<Row> wanted;
  for (const auto& row : second) {
    if (row.at("id") == Value(id(100))) continue;
    wanted.push_back(row);
    if (row.at("id") == Value(id(42))) wanted.back()["a"] = Value("local");
  }
  wanted.push_back(Row{{"id", Value("local-only")}, {"a", Value("mine")}, {"b", Value()}});
  EXPECT_EQ(visible_rows(store), wanted);
  EXPECT_EQ(store.pending_count(), 3);
}

TEST(LocalStoreSnapshot, PagesAppliedTogetherCommitWithTheLastCheckpointOrNotAtAll) {
  testing::TempDir dir;
  LocalStore store(dir.file("replica.db"));
  auto table = items_table();
  // An INTEGER primary key is SQLite's rowid: a text key cannot be stored in it.
  table.schema.columns[0].type = ColumnType::integer;
  store.apply_tables({table});
  store.begin_snapshot(protocol::SnapshotBegin{7, true, std::nullopt});
  auto row = [](Value key) {
    return Row{{"id", std::move(key)}, {"a", Value("x")}, {"b", Value(1)}};
  };
  std::vector<SnapshotRowsReceived> pages(3);
  for (std::size_t i = 0; i < pages.size(); ++i) {
    pages[i].table = "items";
    pages[i].rows = {row(Value(static_cast<std::int64_t>(i) + 1))};
    pages[i].checkpoint = Checkpoint{7, Checkpoint::SnapshotCursor{"items", {Value(1)}}};
    pages[i].checkpoint.snapshot->after = {Value(static_cast<std::int64_t>(i) + 1)};
  }
  pages[2].rows.push_back(row(Value("not an integer")));
  EXPECT_THROW(store.apply_snapshot_pages(pages), Error);
  EXPECT_FALSE(store.checkpoint());
  EXPECT_TRUE(visible_rows(store).empty());

  pages[2].rows.pop_back();
  auto applied = store.apply_snapshot_pages(pages);
  EXPECT_EQ(applied.events.size(), 3u);
  auto checkpoint = store.checkpoint();
  ASSERT_TRUE(checkpoint && checkpoint->snapshot);
  EXPECT_EQ(checkpoint->seq, 7u);
  EXPECT_EQ(checkpoint->snapshot->after, std::vector<Value>{Value(3)});
  EXPECT_EQ(visible_rows(store).size(), 3u);
}

}  // namespace
}  // namespace tandem::client
