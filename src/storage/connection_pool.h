// Idle database connections kept for reuse by concurrent readers. Shared by every datasource
// whose reads run on connections of their own (PostgreSQL, MySQL), as WriterQueue is by their
// writer threads. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "common/thread_role.h"

namespace tandem::storage {

// Connection must have `bool broken() const`: a broken connection is dropped, not reused.
template <typename Connection>
class ConnectionPool {
 public:
  using Open = std::function<std::unique_ptr<Connection>()>;

  // A connection lent to one caller; it goes back to the pool when the lease ends.
  class Lease {
   public:
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (m_connection && !m_connection->broken()) m_pool->give_back(std::move(m_connection));
    }
    Connection& operator*() { return *m_connection; }
    Connection* operator->() { return m_connection.get(); }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool& pool, std::unique_ptr<Connection> connection)
        : m_pool(&pool), m_connection(std::move(connection)) {}

    ConnectionPool* m_pool;
    std::unique_ptr<Connection> m_connection;
  };

  // `open` makes a new connection when none is idle; it may throw, and so may lease().
  explicit ConnectionPool(Open open) : m_open(std::move(open)) {}

  Lease lease() {
    expect_may_block("a database reader connection");
    {
      std::lock_guard lock(m_mutex);
      if (!m_idle.empty()) {
        auto connection = std::move(m_idle.back());
        m_idle.pop_back();
        return Lease(*this, std::move(connection));
      }
    }
    return Lease(*this, m_open());
  }

  // Closes the idle connections (e.g. after a schema change invalidated what they prepared);
  // connections leased at the time still come back when their lease ends.
  void clear() {
    std::lock_guard lock(m_mutex);
    m_idle.clear();
  }

 private:
  void give_back(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(m_mutex);
    m_idle.push_back(std::move(connection));
  }

  Open m_open;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<Connection>> m_idle;
};

}  // namespace tandem::storage
