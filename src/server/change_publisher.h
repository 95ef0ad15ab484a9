// One thread per datasource that tails the change log and publishes to the hub, in order.
// On start it resumes from the log's head: sessions read older changes from the log itself,
// so nothing is lost while the server was down.
//
// It also keeps the hub's catalog in step with the datasource's tables: before publishing
// changes it re-reads them, so a table tracked before its first change was captured is in
// the catalog before that change is published (the Datasource contract: tables() reflects
// a track() before any change captured for it can be read).
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "server/hub.h"
#include "storage/datasource.h"

namespace tandem::server {

// What must see the log in step with the hub (the membership index): told when publishing
// starts and given every batch before the hub publishes it. Called on the publisher's
// threads (start() and its own), never concurrently.
class PublishObserver {
 public:
  virtual ~PublishObserver() = default;
  // Publishing starts at the log's head: read what the log does not replay (may block).
  virtual void starting(storage::Datasource& datasource) = 0;
  virtual void before_publish(const std::vector<sync::Change>& changes) = 0;
  // The tracked tables, each time the publisher reads them and before the hub's catalog
  // follows: read what a newly tracked table already holds (may block; cheap otherwise).
  virtual void tables_read(storage::Datasource& datasource,
                           const std::vector<TableSchema>& tables) = 0;
};

class ChangePublisher {
 public:
  ChangePublisher(storage::Datasource& datasource, Hub& hub, PublishObserver* observer = nullptr)
      : m_datasource(datasource), m_hub(hub), m_observer(observer) {}
  ~ChangePublisher() { stop(); }

  void start();
  void stop();
  std::uint64_t published_seq() const { return m_published.load(); }

  // Brings the hub's catalog up to date with the datasource now (after an admin changed the
  // tracked tables), instead of at the next batch. Callable from any thread; blocks while a
  // batch is being published.
  void refresh_catalog();

  // Runs `step` between two batches: no batch is read or published meanwhile, so what it
  // publishes to the hub (new permission rules) is ordered with the changes. Callable from
  // any thread but the publisher's; `step` may block.
  void between_batches(const std::function<void()>& step);

 private:
  void run();
  void refresh_catalog_locked();

  storage::Datasource& m_datasource;
  Hub& m_hub;
  PublishObserver* m_observer;
  std::thread m_thread;
  // Orders catalog reads with batches: a catalog read after a batch's changes were read
  // is published before that batch.
  std::mutex m_publish_mutex;
  std::atomic<bool> m_stopping{false};
  std::atomic<std::uint64_t> m_published{0};
};

}  // namespace tandem::server
