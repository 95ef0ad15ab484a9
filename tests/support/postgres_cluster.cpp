#include "support/postgres_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tandem::testing {

namespace {

struct CommandResult {
  int status = -1;
  std::string output;
};

bool running_as_root() {
  return ::geteuid() == 0;
}

// Runs argv (as the postgres user when we are root), output captured into a file.
CommandResult run(std::vector<std::string> argv, const std::filesystem::path& log) {
  if (running_as_root()) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  // Everything the child needs is prepared before fork: the tests have threads (a
  // datasource's writer, its capture), and a child of a threaded process may only call
  // async-signal-safe functions until exec — allocating could deadlock on a lock another
  // thread held at the fork.
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
    // PostgreSQL's programs refuse a working directory their user cannot read.
    if (::chdir("/tmp") != 0) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CommandResult result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  result.output = text.str();
  return result;
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

void give_to_postgres(const std::filesystem::path& path) {
  if (!running_as_root()) return;
  passwd* user = ::getpwnam("postgres");
  if (!user || ::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0)
    throw std::runtime_error("cannot give " + path.string() + " to the postgres user");
}

// Everything but the port and the socket directory.
std::string server_settings(const PostgresCluster::Options& options) {
  std::string settings = "-c listen_addresses=127.0.0.1";
  if (!options.durable) settings += " -c fsync=off -c full_page_writes=off";
  settings += std::string(" -c wal_level=") +
              (options.logical_replication ? "logical" : "replica") +
              " -c max_wal_senders=10 -c max_replication_slots=10 -c max_connections=" +
              std::to_string(options.max_connections);
  if (!options.shared_buffers.empty()) settings += " -c shared_buffers=" + options.shared_buffers;
  return settings;
}

}  // namespace

std::filesystem::path postgres_bin_dir() {
  return "/usr/lib/postgresql/15/bin";
}

PostgresCluster::PostgresCluster(Options options) : m_options(options) {
  std::random_device random;
  for (int attempt = 0; attempt < 100 && m_root.empty(); ++attempt) {
    auto candidate = std::filesystem::temp_directory_path() /
                     ("tandem-pg-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    if (std::filesystem::create_directory(candidate)) m_root = candidate;
  }
  if (m_root.empty()) throw std::runtime_error("cannot create a directory for PostgreSQL");
  std::filesystem::permissions(m_root, std::filesystem::perms::owner_all |
                                           std::filesystem::perms::group_exec |
                                           std::filesystem::perms::others_exec);
  std::filesystem::create_directory(m_root / "data");
  std::filesystem::create_directory(m_root / "socket");
  std::filesystem::create_directory(m_root / "logs");
  for (const char* dir : {"data", "socket", "logs"})
    give_to_postgres(m_root / dir);
  auto initdb = run({(postgres_bin_dir() / "initdb").string(), "-A", "trust", "--no-sync", "-U",
                     "postgres", "-E", "UTF8", "--locale", "C", "-D", (m_root / "data").string()},
                    m_root / "logs" / "initdb.log");
  if (initdb.status != 0) {
    std::filesystem::remove_all(m_root);
    throw std::runtime_error("initdb failed: " + initdb.output);
  }
  // The port can be taken between choosing and binding it: try a few.
  for (int attempt = 0;; ++attempt) {
    m_port = free_port();
    try {
      start();
      return;
    } catch (const std::exception&) {
      if (attempt == 4) {
        std::filesystem::remove_all(m_root);
        throw;
      }
    }
  }
}

PostgresCluster::~PostgresCluster() {
  try {
    stop();
  } catch (...) {
  }
  // Backends still exiting after an immediate stop may write a file while it is removed.
  std::error_code ignored;
  for (int attempt = 0; attempt < 20 && std::filesystem::exists(m_root, ignored); ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::filesystem::remove_all(m_root, ignored);
  }
}

void PostgresCluster::start() {
  std::string settings = "-p " + std::to_string(m_port) + " -k " + (m_root / "socket").string() +
                         " " + server_settings(m_options);
  auto result = run(
      {(postgres_bin_dir() / "pg_ctl").string(), "-w", "-t", "60", "-D", (m_root / "data").string(),
       "-l", (m_root / "logs" / "server.log").string(), "-o", settings, "start"},
      m_root / "logs" / "pg_ctl.log");
  if (result.status != 0) {
    std::ifstream in(m_root / "logs" / "server.log");
    std::stringstream server_log;
    server_log << in.rdbuf();
    throw std::runtime_error("pg_ctl start failed: " + result.output + server_log.str());
  }
}

std::string PostgresCluster::settings_summary(const Options& options) {
  return server_settings(options) +
         (options.durable ? " (fsync and synchronous_commit on: PostgreSQL defaults)" : "");
}

void PostgresCluster::stop() {
  run({(postgres_bin_dir() / "pg_ctl").string(), "-w", "-D", (m_root / "data").string(), "-m",
       "fast", "stop"},
      m_root / "logs" / "pg_ctl_stop.log");
}

void PostgresCluster::stop_immediately() {
  run({(postgres_bin_dir() / "pg_ctl").string(), "-w", "-D", (m_root / "data").string(), "-m",
       "immediate", "stop"},
      m_root / "logs" / "pg_ctl_stop.log");
}

void PostgresCluster::restart() {
  stop();
  start();
}

std::string PostgresCluster::url(const std::string& database) const {
  return "postgres://postgres@127.0.0.1:" + std::to_string(m_port) + "/" + database;
}

std::string PostgresCluster::psql(const std::string& sql, const std::string& database) const {
  static std::atomic<int> counter{0};
  auto name = "psql-" + std::to_string(++counter);
  auto sql_file = m_root / "logs" / (name + ".sql");
  {
    std::ofstream out(sql_file);
    out << sql;
  }
  std::filesystem::permissions(sql_file, std::filesystem::perms::owner_read |
                                             std::filesystem::perms::owner_write |
                                             std::filesystem::perms::others_read);
  auto result = run({"/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                     url(database), "-f", sql_file.string()},
                    m_root / "logs" / (name + ".log"));
  if (result.status != 0) throw std::runtime_error("psql failed: " + result.output);
  return result.output;
}

std::string PostgresCluster::create_database(const std::string& name) const {
  psql("CREATE DATABASE \"" + name + "\"");
  return url(name);
}

}  // namespace tandem::testing
