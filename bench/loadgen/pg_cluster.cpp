#include "loadgen/pg_cluster.h"

#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <regex>
#include <stdexcept>
#include <thread>

#include "loadgen/child_process.h"

namespace tandem::bench {
namespace {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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
  if (::geteuid() != 0) return;
  passwd* user = ::getpwnam("postgres");
  if (!user || ::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0)
    throw std::runtime_error("cannot give " + path.string() + " to the postgres user");
}

// Everything but the port and the socket directory.
constexpr const char* kSettings =
    "-c listen_addresses=127.0.0.1 -c wal_level=logical -c max_wal_senders=10"
    " -c max_replication_slots=10 -c max_connections=300 -c shared_buffers=256MB";

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};

std::unique_ptr<PGconn, PgConnDeleter> connect(const std::string& conninfo) {
  std::unique_ptr<PGconn, PgConnDeleter> conn(PQconnectdb(conninfo.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error(std::string("cannot connect: ") + PQerrorMessage(conn.get()));
  return conn;
}

}  // namespace

std::string PgCluster::bin_dir() {
  return "/usr/lib/postgresql/15/bin";
}

std::string PgCluster::settings_summary() {
  return std::string(kSettings) + " (fsync and synchronous_commit on: PostgreSQL defaults)";
}

PgCluster::PgCluster() {
  std::random_device random;
  auto root = std::filesystem::temp_directory_path() /
              ("tandem-bench-pg-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(root);
  m_root = root.string();
  std::filesystem::permissions(root, std::filesystem::perms::owner_all |
                                         std::filesystem::perms::group_exec |
                                         std::filesystem::perms::others_exec);
  for (const char* dir : {"data", "socket", "logs"}) {
    std::filesystem::create_directory(root / dir);
    give_to_postgres(root / dir);
  }
  auto initdb =
      ChildProcess::run({bin_dir() + "/initdb", "-A", "trust", "--no-sync", "-U", "postgres", "-E",
                         "UTF8", "--locale", "C", "-D", (root / "data").string()},
                        (root / "logs" / "initdb.log").string(), std::chrono::seconds(120), true);
  if (initdb.status != 0) {
    std::filesystem::remove_all(root);
    throw std::runtime_error("initdb failed: " + initdb.output);
  }
  m_cleanup = Watchdog::add_cleanup([this] {
    stop();
    remove_root();
  });
  for (int attempt = 0;; ++attempt) {
    m_port = free_port();
    std::string options =
        "-p " + std::to_string(m_port) + " -k " + (root / "socket").string() + " " + kSettings;
    auto started =
        ChildProcess::run({bin_dir() + "/pg_ctl", "-w", "-t", "60", "-D", (root / "data").string(),
                           "-l", (root / "logs" / "server.log").string(), "-o", options, "start"},
                          (root / "logs" / "pg_ctl.log").string(), std::chrono::seconds(90), true);
    if (started.status == 0) return;
    if (attempt == 4) {
      Watchdog::remove_cleanup(m_cleanup);
      std::filesystem::remove_all(root);
      throw std::runtime_error("pg_ctl start failed: " + started.output);
    }
  }
}

PgCluster::~PgCluster() {
  stop();
  Watchdog::remove_cleanup(m_cleanup);
  remove_root();
}

void PgCluster::remove_root() const {
  // Backends still exiting after an immediate stop may write a file while it is removed.
  for (int attempt = 0; attempt < 20 && std::filesystem::exists(m_root); ++attempt) {
    std::error_code ignored;
    std::filesystem::remove_all(m_root, ignored);
    if (std::filesystem::exists(m_root))
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void PgCluster::stop() {
  ChildProcess::run(
      {bin_dir() + "/pg_ctl", "-w", "-t", "30", "-D", m_root + "/data", "-m", "immediate", "stop"},
      m_root + "/logs/pg_ctl_stop.log", std::chrono::seconds(40), true);
}

std::string PgCluster::url() const {
  return "postgres://postgres@127.0.0.1:" + std::to_string(m_port) + "/postgres";
}

std::string PgCluster::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(m_port) + " user=postgres dbname=postgres";
}

void PgCluster::exec(const std::string& sql) const {
  auto conn = connect(conninfo());
  PGresult* result = PQexec(conn.get(), sql.c_str());
  auto status = PQresultStatus(result);
  std::string error = PQresultErrorMessage(result);
  PQclear(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw std::runtime_error("SQL failed: " + error + " in: " + sql.substr(0, 200));
}

std::string PgCluster::query_value(const std::string& sql) const {
  auto conn = connect(conninfo());
  PGresult* result = PQexec(conn.get(), sql.c_str());
  if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) < 1) {
    std::string error = PQresultErrorMessage(result);
    PQclear(result);
    throw std::runtime_error("query failed: " + error + " in: " + sql);
  }
  std::string value = PQgetvalue(result, 0, 0);
  PQclear(result);
  return value;
}

double PgCluster::pgbench(const std::string& script, int clients, int threads, int seconds) const {
  static std::atomic<int> counter{0};
  auto name = m_root + "/logs/pgbench-" + std::to_string(++counter);
  {
    std::ofstream out(name + ".sql");
    out << script << "\n";
  }
  auto outcome = ChildProcess::run(
      {bin_dir() + "/pgbench", "-n", "-h", "127.0.0.1", "-p", std::to_string(m_port), "-U",
       "postgres", "-c", std::to_string(clients), "-j", std::to_string(threads), "-T",
       std::to_string(seconds), "-f", name + ".sql", "postgres"},
      name + ".log", std::chrono::seconds(seconds + 60));
  std::smatch match;
  static const std::regex tps(R"(tps = ([0-9.]+) \(without initial connection time\))");
  if (outcome.status != 0 || !std::regex_search(outcome.output, match, tps))
    throw std::runtime_error("pgbench failed: " + outcome.output);
  return std::stod(match[1].str());
}

}  // namespace tandem::bench
