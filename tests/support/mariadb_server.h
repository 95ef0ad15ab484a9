// A throwaway MariaDB server for tests: mariadb-install-db in a temporary directory, mariadbd
// started on a free loopback port (and a unix socket in that directory) with a root user
// without password, shut down and removed on destruction. Starting costs a few seconds, so a
// test binary shares one server (shared()) and gives each test its own database.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace tandem::testing {

class MariadbServer {
 public:
  using Rows = std::vector<std::vector<std::optional<std::string>>>;

  MariadbServer();
  ~MariadbServer();
  MariadbServer(const MariadbServer&) = delete;
  MariadbServer& operator=(const MariadbServer&) = delete;

  // One server per test binary, started on first use and stopped at exit.
  static MariadbServer& shared();

  std::string host() const { return "127.0.0.1"; }
  std::uint16_t port() const { return m_port; }
  std::string user() const { return "root"; }
  std::string socket_path() const { return (m_root / "mysqld.sock").string(); }
  // How long installing and starting took.
  std::chrono::milliseconds start_time() const { return m_start_time; }

  // Runs SQL (one or several statements separated by ';') on its own connection, as a
  // separate client program would; throws std::runtime_error with the server's message.
  void exec(const std::string& sql, const std::string& database = "") const;
  // Runs one query; NULL cells are nullopt.
  Rows query(const std::string& sql, const std::string& database = "") const;
  // A fresh, empty database named `name` (dropped first if it exists).
  void create_database(const std::string& name) const;

  // Stops the server (SIGTERM, clean shutdown) and starts it again on the same data.
  void restart();

 private:
  void start();
  void stop();

  std::filesystem::path m_root;
  std::uint16_t m_port = 0;
  pid_t m_pid = -1;
  std::chrono::milliseconds m_start_time{0};
};

}  // namespace tandem::testing
