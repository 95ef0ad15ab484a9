#include "server/change_publisher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "storage/sqlite/sqlite_datasource.h"
#include "support/temp_dir.h"

namespace tandem::server {
namespace {

// Records what the hub delivers, in order: "catalog <tables...>" and "change <table>".
struct Recorder : HubSubscriber {
  void on_batch(const ChangeBatchPtr& batch) override {
    std::lock_guard lock(mutex);
    for (const auto& change : batch->changes)
      events.push_back("change " + change.change.table);
    cv.notify_all();
  }
  void on_catalog(const CatalogPtr& catalog) override {
    std::lock_guard lock(mutex);
    std::string names;
    for (const auto& [name, schema] : catalog->tables)
      names += " " + name;
    events.push_back("catalog" + names);
    cv.notify_all();
  }
  bool wait_for(const std::string& event) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] {
      return std::find(events.begin(), events.end(), event) != events.end();
    });
  }
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> events;
};

TEST(ChangePublisher, AnnouncesANewlyTrackedTableBeforeItsFirstChangeWithoutBeingAsked) {
  testing::TempDir dir;
  sync::HlcClock clock;
  storage::sqlite::SqliteDatasource datasource({.path = dir.file("db.sqlite")}, clock);
  auto codec = protocol::make_json_codec();
  Hub hub(*codec);
  ChangePublisher publisher(datasource, hub);
  publisher.start();
  auto recorder = std::make_shared<Recorder>();
  hub.subscribe(recorder);

  // Tracked behind the publisher's back (no refresh_catalog call), then written at once.
  datasource.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  ASSERT_TRUE(datasource.track("t").ok());
  datasource.execute("INSERT INTO t VALUES (1, 'x')");
  ASSERT_TRUE(recorder->wait_for("change t"));
  {
    // Not held across stop(): the publisher may be handing the recorder a batch meanwhile.
    std::lock_guard lock(recorder->mutex);
    EXPECT_EQ(recorder->events, (std::vector<std::string>{"catalog t", "change t"}));
  }
  publisher.stop();
  datasource.close();
}

TEST(ChangePublisher, UntrackedTableLeavesTheCatalog) {
  testing::TempDir dir;
  sync::HlcClock clock;
  storage::sqlite::SqliteDatasource datasource({.path = dir.file("db.sqlite")}, clock);
  datasource.execute(
      "CREATE TABLE t(id INTEGER PRIMARY KEY); CREATE TABLE u(id INTEGER PRIMARY KEY)");
  ASSERT_TRUE(datasource.track("t").ok());
  ASSERT_TRUE(datasource.track("u").ok());
  auto codec = protocol::make_json_codec();
  Hub hub(*codec);
  ChangePublisher publisher(datasource, hub);
  publisher.start();
  EXPECT_EQ(hub.catalog()->tables.size(), 2u);
  ASSERT_TRUE(datasource.untrack("u").ok());
  publisher.refresh_catalog();
  EXPECT_EQ(hub.catalog()->tables.size(), 1u);
  EXPECT_TRUE(hub.catalog()->find("t"));
  publisher.stop();
  datasource.close();
}

}  // namespace
}  // namespace tandem::server
