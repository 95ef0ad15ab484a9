// One thread per datasource that tails the change log and publishes to the hub, in order.
// On start it resumes from the log's head: sessions read older changes from the log itself,
// so nothing is lost while the server was down.
#pragma once

#include <atomic>
#include <thread>

#include "server/hub.h"
#include "storage/datasource.h"

namespace tandem::server {

class ChangePublisher {
 public:
  ChangePublisher(storage::Datasource& datasource, Hub& hub)
      : m_datasource(datasource), m_hub(hub) {}
  ~ChangePublisher() { stop(); }

  void start();
  void stop();
  std::uint64_t published_seq() const { return m_published.load(); }

 private:
  void run();

  storage::Datasource& m_datasource;
  Hub& m_hub;
  std::thread m_thread;
  std::atomic<bool> m_stopping{false};
  std::atomic<std::uint64_t> m_published{0};
};

}  // namespace tandem::server
