#include "server/hub.h"

#include <gtest/gtest.h>

namespace tandem::server {
namespace {

struct RecordingSubscriber : HubSubscriber {
  void on_batch(const ChangeBatchPtr& batch) override {
    batches.push_back(batch);
    events.push_back("batch " + std::to_string(batch->last_seq));
  }
  void on_catalog(const CatalogPtr& catalog) override {
    catalogs.push_back(catalog);
    events.push_back("catalog " + std::to_string(catalog->version));
  }
  std::vector<ChangeBatchPtr> batches;
  std::vector<CatalogPtr> catalogs;
  std::vector<std::string> events;
};

TableSchema table_t(std::vector<std::string> columns) {
  TableSchema schema;
  schema.name = "t";
  for (const auto& name : columns)
    schema.columns.push_back(ColumnSchema{name, ColumnType::any, "", false, false, name == "id"});
  schema.primary_key = {"id"};
  return schema;
}

std::vector<sync::Change> changes(std::uint64_t first, std::uint64_t count) {
  std::vector<sync::Change> result;
  for (std::uint64_t seq = first; seq < first + count; ++seq) {
    sync::Change change;
    change.seq = seq;
    change.table = "t";
    change.pk = {{"id", static_cast<std::int64_t>(seq)}};
    change.row = change.pk;
    result.push_back(change);
  }
  return result;
}

class HubTest : public ::testing::Test {
 protected:
  std::unique_ptr<protocol::Codec> codec = protocol::make_json_codec();
};

TEST_F(HubTest, EachChangeIsEncodedOnceAndSharedByEverySubscriber) {
  Hub hub(*codec);
  auto a = std::make_shared<RecordingSubscriber>();
  auto b = std::make_shared<RecordingSubscriber>();
  hub.subscribe(a);
  hub.subscribe(b);
  hub.publish(0, 3, changes(1, 3));
  ASSERT_EQ(a->batches.size(), 1u);
  EXPECT_EQ(a->batches[0].get(), b->batches[0].get()) << "one batch object, not a copy each";
  EXPECT_EQ(a->batches[0]->changes[2].encoded,
            codec->encode_change(a->batches[0]->changes[2].change));
  EXPECT_EQ(hub.head(), 3u);
}

TEST_F(HubTest, SinceReturnsTheBatchesAfterAPositionWhileTheRingHoldsThem) {
  Hub hub(*codec, 10);
  hub.publish(0, 4, changes(1, 4));
  hub.publish(4, 8, changes(5, 4));
  auto recent = hub.since(4);
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0]->after_seq, 4u);
  hub.publish(8, 12, changes(9, 4));  // the ring (10 changes) drops the first batch
  EXPECT_FALSE(hub.since(2)) << "older positions must be read from the log";
  EXPECT_TRUE(hub.since(4));
}

TEST_F(HubTest, TheRingIsBoundedInBytesSoLargeRowsAreReadFromTheLogInstead) {
  Hub hub(*codec, 100'000, 8 << 20);
  std::uint64_t seq = 0;
  for (int i = 0; i < 150; ++i, ++seq) {  // 150 rows of 1 MiB
    auto change = changes(seq + 1, 1);
    change[0].row["payload"] = std::string(1 << 20, 'x');
    hub.publish(seq, seq + 1, std::move(change));
  }
  EXPECT_LE(hub.ring_bytes(), std::size_t{8 << 20} + (4 << 20)) << "the bound, or one batch";
  EXPECT_FALSE(hub.since(0)) << "the first rows are no longer in memory";
  EXPECT_TRUE(hub.since(seq - 1)) << "the newest batch always is";
}

TEST_F(HubTest, NothingIsAvailableBeforeTheFirstPublish) {
  Hub hub(*codec);
  EXPECT_FALSE(hub.since(0));
}

TEST_F(HubTest, GoneSubscribersAreDroppedAndUnsubscribeStopsDelivery) {
  Hub hub(*codec);
  auto kept = std::make_shared<RecordingSubscriber>();
  auto removed = std::make_shared<RecordingSubscriber>();
  hub.subscribe(kept);
  hub.subscribe(removed);
  {
    auto gone = std::make_shared<RecordingSubscriber>();
    hub.subscribe(gone);
  }
  hub.unsubscribe(removed.get());
  hub.publish(0, 1, changes(1, 1));
  EXPECT_EQ(kept->batches.size(), 1u);
  EXPECT_TRUE(removed->batches.empty());
  EXPECT_EQ(hub.subscriber_count(), 1u);
}

TEST_F(HubTest, CatalogChangesReachSubscribersInOrderWithBatches) {
  Hub hub(*codec);
  auto subscriber = std::make_shared<RecordingSubscriber>();
  auto start = hub.subscribe(subscriber);
  EXPECT_EQ(start.catalog->version, 0u);
  EXPECT_TRUE(start.catalog->tables.empty());
  EXPECT_TRUE(hub.set_catalog({table_t({"id", "a"})}));
  hub.publish(0, 1, changes(1, 1));
  EXPECT_FALSE(hub.set_catalog({table_t({"id", "a"})})) << "same tables: no new version";
  EXPECT_TRUE(hub.set_catalog({table_t({"id"})}));
  EXPECT_EQ(subscriber->events, (std::vector<std::string>{"catalog 1", "batch 1", "catalog 2"}));
  auto later = hub.subscribe(std::make_shared<RecordingSubscriber>());
  EXPECT_EQ(later.catalog->version, 2u);
  EXPECT_EQ(later.head, 1u);
}

TEST_F(HubTest, ChangesPublishedAfterAColumnWasDroppedDoNotCarryIt) {
  Hub hub(*codec);
  auto subscriber = std::make_shared<RecordingSubscriber>();
  hub.subscribe(subscriber);
  hub.set_catalog({table_t({"id"})});
  auto logged = changes(1, 1);
  logged[0].row["dropped"] = Value{"secret"};  // logged before the column was dropped
  hub.publish(0, 1, logged);
  const auto& published = subscriber->batches.at(0)->changes.at(0);
  EXPECT_FALSE(published.change.row.contains("dropped"));
  EXPECT_EQ(published.encoded.find("secret"), std::string::npos) << published.encoded;
  EXPECT_EQ(published.catalog_version, 1u);
}

}  // namespace
}  // namespace tandem::server
