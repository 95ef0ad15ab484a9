#include "support/mariadb_server.h"

#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tandem::testing {
namespace {

// Small InnoDB files: the defaults (a 96 MB redo log) make installing take seconds longer.
constexpr const char* kLogFileSize = "--innodb-log-file-size=4M";
constexpr const char* kDataFilePath = "--innodb-data-file-path=ibdata1:4M:autoextend";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Starts argv with output to `log`. Everything the child needs is prepared before fork: the
// child of a threaded process may only call async-signal-safe functions until exec.
pid_t spawn(std::vector<std::string> argv, const std::filesystem::path& log) {
  std::vector<char*> args;
  for (auto& arg : argv)
    args.push_back(arg.data());
  args.push_back(nullptr);
  std::string log_path = log.string();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

struct Connection {
  MYSQL* mysql = nullptr;
  ~Connection() {
    if (mysql) mysql_close(mysql);
  }
};

std::unique_ptr<Connection> connect(const std::string& host, std::uint16_t port,
                                    const std::string& database, std::string* error) {
  auto connection = std::make_unique<Connection>();
  connection->mysql = mysql_init(nullptr);
  unsigned timeout = 5;
  mysql_optionsv(connection->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_optionsv(connection->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!mysql_real_connect(connection->mysql, host.c_str(), "root", "",
                          database.empty() ? nullptr : database.c_str(), port, nullptr,
                          CLIENT_MULTI_STATEMENTS)) {
    if (error) *error = mysql_error(connection->mysql);
    return nullptr;
  }
  return connection;
}

}  // namespace

MariadbServer& MariadbServer::shared() {
  static MariadbServer server;
  return server;
}

MariadbServer::MariadbServer() {
  auto began = std::chrono::steady_clock::now();
  std::random_device random;
  for (int attempt = 0; attempt < 100 && m_root.empty(); ++attempt) {
    auto candidate =
        std::filesystem::temp_directory_path() /
        ("tandem-mariadb-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    if (std::filesystem::create_directory(candidate)) m_root = candidate;
  }
  if (m_root.empty()) throw std::runtime_error("cannot create a directory for MariaDB");
  std::filesystem::create_directories(m_root / "tmp");
  std::vector<std::string> install = {"/usr/bin/mariadb-install-db",
                                      "--no-defaults",
                                      "--datadir=" + (m_root / "data").string(),
                                      "--auth-root-authentication-method=normal",
                                      "--skip-test-db",
                                      "--skip-name-resolve",
                                      kLogFileSize,
                                      kDataFilePath,
                                      "--tmpdir=" + (m_root / "tmp").string()};
  if (::geteuid() == 0) install.push_back("--user=root");
  int status = wait_for(spawn(install, m_root / "install.log"));
  if (status != 0) {
    auto log = read_file(m_root / "install.log");
    std::filesystem::remove_all(m_root);
    throw std::runtime_error("mariadb-install-db failed: " + log);
  }
  // The port can be taken between choosing and binding it: try a few.
  for (int attempt = 0;; ++attempt) {
    m_port = free_port();
    try {
      start();
      break;
    } catch (const std::exception&) {
      if (attempt == 4) {
        std::filesystem::remove_all(m_root);
        throw;
      }
    }
  }
  m_start_time = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
}

MariadbServer::~MariadbServer() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ignored;
  std::filesystem::remove_all(m_root, ignored);
}

void MariadbServer::start() {
  std::vector<std::string> argv = {
      "/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + (m_root / "data").string(),
      "--port=" + std::to_string(m_port), "--bind-address=127.0.0.1", "--socket=" + socket_path(),
      "--pid-file=" + (m_root / "mysqld.pid").string(),
      "--log-error=" + (m_root / "server.log").string(),
      // Its own temporary directory: mariadbd deletes leftover
      // #sql files in its tmpdir at start, which would be another
      // test server's temporary tables.
      "--tmpdir=" + (m_root / "tmp").string(), "--skip-log-bin", "--skip-name-resolve",
      "--character-set-server=utf8mb4", "--innodb-flush-log-at-trx-commit=2",
      "--innodb-buffer-pool-size=64M", "--innodb-doublewrite=0", kLogFileSize, kDataFilePath,
      "--max-connections=300"};
  if (::geteuid() == 0) argv.push_back("--user=root");
  std::filesystem::create_directories(m_root / "tmp");
  m_pid = spawn(argv, m_root / "stdout.log");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string error;
  for (;;) {
    if (connect(host(), m_port, "", &error)) return;
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      throw std::runtime_error("mariadbd exited: " + read_file(m_root / "server.log"));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("mariadbd did not accept connections: " + error + "\n" +
                               read_file(m_root / "server.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

void MariadbServer::stop() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (::waitpid(m_pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  m_pid = -1;
}

void MariadbServer::restart() {
  stop();
  start();
}

void MariadbServer::exec(const std::string& sql, const std::string& database) const {
  std::string error;
  auto connection = connect(host(), m_port, database, &error);
  if (!connection) throw std::runtime_error("cannot connect to MariaDB: " + error);
  if (mysql_real_query(connection->mysql, sql.data(), sql.size()) != 0)
    throw std::runtime_error("MariaDB: " + std::string(mysql_error(connection->mysql)) +
                             " in: " + sql.substr(0, 300));
  // Every statement's result is consumed; an error in a later statement surfaces here.
  for (;;) {
    if (MYSQL_RES* result = mysql_store_result(connection->mysql)) mysql_free_result(result);
    int next = mysql_next_result(connection->mysql);
    if (next == -1) break;
    if (next > 0)
      throw std::runtime_error("MariaDB: " + std::string(mysql_error(connection->mysql)) +
                               " in: " + sql.substr(0, 300));
  }
}

MariadbServer::Rows MariadbServer::query(const std::string& sql,
                                         const std::string& database) const {
  std::string error;
  auto connection = connect(host(), m_port, database, &error);
  if (!connection) throw std::runtime_error("cannot connect to MariaDB: " + error);
  if (mysql_real_query(connection->mysql, sql.data(), sql.size()) != 0)
    throw std::runtime_error("MariaDB: " + std::string(mysql_error(connection->mysql)) +
                             " in: " + sql.substr(0, 300));
  Rows rows;
  MYSQL_RES* result = mysql_store_result(connection->mysql);
  if (!result) return rows;
  unsigned fields = mysql_num_fields(result);
  while (MYSQL_ROW row = mysql_fetch_row(result)) {
    unsigned long* lengths = mysql_fetch_lengths(result);
    std::vector<std::optional<std::string>> cells;
    for (unsigned i = 0; i < fields; ++i) {
      if (row[i]) {
        cells.emplace_back(std::string(row[i], lengths[i]));
      } else {
        cells.emplace_back(std::nullopt);
      }
    }
    rows.push_back(std::move(cells));
  }
  mysql_free_result(result);
  return rows;
}

void MariadbServer::create_database(const std::string& name) const {
  exec("DROP DATABASE IF EXISTS `" + name + "`; CREATE DATABASE `" + name +
       "` CHARACTER SET utf8mb4");
}

}  // namespace tandem::testing
