#include "loadgen/bench_server.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iostream>

namespace tandem::bench {
namespace {

testing::ServerLaunch launch(const CommonOptions& common, std::vector<std::string> args) {
  testing::ServerLaunch how("serve", std::move(args));
  how.binary = common.tandem_binary;
  how.threads = common.server_threads;
  how.args.insert(how.args.begin(), {"--log-level", "warn", "--max-connections", "0",
                                     "--max-connections-per-address", "0"});
  return how;
}

}  // namespace

BenchServer::BenchServer(const CommonOptions& common, std::vector<std::string> args,
                         std::string data_dir)
    : m_own_dir(data_dir.empty() ? std::make_unique<testing::TempDir>() : nullptr),
      m_server(m_own_dir ? m_own_dir->path().string() : std::move(data_dir),
               launch(common, std::move(args))),
      m_on_timeout(
          [pid = m_server.pid(), dir = m_own_dir ? m_own_dir->path() : std::filesystem::path()] {
            ::kill(pid, SIGKILL);
            ChildProcess::wait_exit(pid, std::chrono::seconds(5));
            std::error_code ignored;
            if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
          }) {
  std::cerr << "tandem serve pid " << m_server.pid() << " port " << m_server.port() << std::endl;
}

BenchServer::~BenchServer() {
  m_server.terminate(std::chrono::seconds(15));
}

bool BenchServer::alive() {
  if (m_server.pid() <= 0) return false;
  if (m_server.running()) return true;
  const int status = m_server.exit_status();
  std::cerr << "tandem serve exited: "
            << (status > 128 ? "signal " + std::to_string(status - 128)
                             : "status " + std::to_string(status))
            << "\n"
            << log_tail() << std::endl;
  return false;
}

WatchdogCleanup remove_on_timeout(const testing::TempDir& dir) {
  return WatchdogCleanup([path = dir.path()] {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  });
}

}  // namespace tandem::bench
