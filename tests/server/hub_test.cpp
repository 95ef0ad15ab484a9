#include "server/hub.h"

#include <gtest/gtest.h>

namespace tandem::server {
namespace {

struct RecordingSubscriber : HubSubscriber {
  void on_batch(const ChangeBatchPtr& batch) override { batches.push_back(batch); }
  std::vector<ChangeBatchPtr> batches;
};

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

}  // namespace
}  // namespace tandem::server
