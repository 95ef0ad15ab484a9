#include "loadgen/tandem_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "auth/token.h"
#include "loadgen/child_process.h"

namespace tandem::bench {

TandemServer::TandemServer(const std::string& binary, std::vector<std::string> extra_args,
                           std::string data_dir)
    : m_data_dir(std::move(data_dir)) {
  if (m_data_dir.empty()) {
    std::random_device random;
    m_data_dir =
        (std::filesystem::temp_directory_path() /
         ("tandem-bench-server-" + std::to_string(::getpid()) + "-" + std::to_string(random())))
            .string();
    m_own_dir = true;
  }
  std::filesystem::create_directories(m_data_dir);
  if (!std::filesystem::exists(binary))
    throw std::runtime_error("no tandem binary at " + binary + " (run `make build`)");
  auto port_file = m_data_dir + "/port";
  std::filesystem::remove(port_file);
  // Absolute: the child runs in /tmp.
  std::vector<std::string> argv = {std::filesystem::absolute(binary).string(), "serve", "--address",
                                   "127.0.0.1", "--port", "0", "--port-file", port_file,
                                   "--data-dir", m_data_dir, "--jwt-secret", kBenchSecret,
                                   "--log-level", "warn",
                                   // The load generator is a handful of loopback addresses
                                   // holding up to tens of thousands of connections.
                                   "--max-connections", "0", "--max-connections-per-address", "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  m_pid = ChildProcess::spawn(argv, log_path());
  m_cleanup = Watchdog::add_cleanup([pid = m_pid, dir = m_own_dir ? m_data_dir : std::string()] {
    ::kill(pid, SIGKILL);
    ChildProcess::wait_exit(pid, std::chrono::seconds(5));
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      Watchdog::remove_cleanup(m_cleanup);
      throw std::runtime_error("tandem serve exited at start: " + log_tail());
    }
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      m_port = static_cast<std::uint16_t>(port);
      // For profiling from outside: perf record -p PID.
      std::cerr << "tandem serve pid " << m_pid << " port " << m_port << std::endl;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  throw std::runtime_error("tandem serve did not listen within 60 s: " + log_tail());
}

TandemServer::~TandemServer() {
  stop();
  if (m_own_dir) {
    std::error_code ignored;
    std::filesystem::remove_all(m_data_dir, ignored);
  }
}

void TandemServer::stop() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGTERM);
  if (!ChildProcess::wait_exit(m_pid, std::chrono::seconds(15))) {
    ::kill(m_pid, SIGKILL);
    ChildProcess::wait_exit(m_pid, std::chrono::seconds(5));
  }
  m_pid = -1;
  Watchdog::remove_cleanup(m_cleanup);
}

bool TandemServer::alive() {
  if (m_pid <= 0) return false;
  int status = 0;
  if (::waitpid(m_pid, &status, WNOHANG) != m_pid) return true;
  std::cerr << "tandem serve exited: "
            << (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                    : "status " + std::to_string(WEXITSTATUS(status)))
            << "\n"
            << log_tail() << std::endl;
  m_pid = -1;
  Watchdog::remove_cleanup(m_cleanup);
  return false;
}

std::string TandemServer::log_tail(std::size_t bytes) const {
  std::ifstream in(log_path());
  std::stringstream text;
  text << in.rdbuf();
  auto all = text.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

std::string TandemServer::token(const std::string& subject, bool admin) {
  auth::JwtOptions options;
  options.hs256_secret = kBenchSecret;
  auto minter = auth::TokenMinter::create(options);
  if (!minter) throw std::runtime_error("cannot create a token minter");
  auto token = (*minter)->mint(auth::MintRequest{
      subject, admin ? auth::Role::admin : auth::Role::user, std::nullopt, std::chrono::hours(2)});
  if (!token) throw std::runtime_error("cannot mint a token");
  return *token;
}

}  // namespace tandem::bench
