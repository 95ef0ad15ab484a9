// A throwaway PostgreSQL 15 cluster for one test (or one benchmark run: bench/loadgen):
// initdb in a temporary directory, started on a free loopback port with wal_level=logical,
// stopped and removed on destruction. PostgreSQL refuses to run as root, so as root the
// server runs as the `postgres` user.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tandem::testing {

class PostgresCluster {
 public:
  struct Options {
    bool logical_replication = true;  // wal_level=logical (else replica)
    // Durable commits: fsync, full_page_writes and synchronous_commit left at PostgreSQL's
    // defaults (on), as benchmark figures need. Not durable (the default): fsync=off and
    // full_page_writes=off, faster and enough for a test.
    bool durable = false;
    int max_connections = 200;
    std::string shared_buffers;  // e.g. "256MB"; empty: PostgreSQL's default
  };

  PostgresCluster() : PostgresCluster(Options{}) {}
  explicit PostgresCluster(Options options);
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  std::uint16_t port() const { return m_port; }
  // The directory holding data/, socket/ and logs/ (server.log among them).
  const std::filesystem::path& root() const { return m_root; }
  // postgres://postgres@127.0.0.1:PORT/DATABASE
  std::string url(const std::string& database = "postgres") const;

  // Runs SQL with psql (as a separate client program would); throws with psql's output
  // when it fails. Returns what psql printed (unaligned, tuples only).
  std::string psql(const std::string& sql, const std::string& database = "postgres") const;

  // Creates a database and returns its URL.
  std::string create_database(const std::string& name) const;

  // Stops and starts the server on the same port and data directory.
  void restart();

  // Stops the server at once, as a crash would (pg_ctl stop -m immediate): connections drop
  // without a goodbye. start() brings it back on the same port and data directory.
  void stop_immediately();
  void start();

  // The server settings `options` give (what a cluster runs with beyond its port and socket
  // directory), as a report prints them.
  static std::string settings_summary(const Options& options);

 private:
  void stop();

  Options m_options;
  std::filesystem::path m_root;  // holds data/ and the socket
  std::uint16_t m_port = 0;
};

// Where PostgreSQL's server programs live (Debian keeps them off PATH).
std::filesystem::path postgres_bin_dir();

}  // namespace tandem::testing
