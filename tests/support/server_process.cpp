#include "support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth/keys.h"
#include "auth/signature.h"

namespace tandem::testing {
namespace {

std::string binary_path(const ServerLaunch& launch) {
  if (!launch.binary.empty()) {
    if (!std::filesystem::exists(launch.binary))
      throw std::runtime_error("no tandem binary at " + launch.binary);
    return launch.binary;
  }
  const char* path = std::getenv("TANDEM_BINARY");
  if (!path) throw std::runtime_error("TANDEM_BINARY is not set (ctest sets it)");
  return path;
}

}  // namespace

ServerProcess::ServerProcess(std::string data_dir, std::vector<std::string> extra_args)
    : ServerProcess(std::move(data_dir), ServerLaunch("serve", std::move(extra_args))) {}

ServerProcess::ServerProcess(std::string data_dir, ServerLaunch how)
    : m_data_dir(std::move(data_dir)), m_launch(std::move(how)) {
  std::filesystem::create_directories(m_data_dir);
  m_log_path = m_data_dir + "/server.log";
  launch(0);
}

void ServerProcess::restart() {
  kill9();
  launch(m_port);
}

void ServerProcess::launch(std::uint16_t port) {
  auto port_file = m_data_dir + "/port";
  std::filesystem::remove(port_file);
  auto binary = binary_path(m_launch);
  auto threads = std::to_string(m_launch.threads);
  std::vector<std::string> args = {binary,        m_launch.command, "--address",
                                   "127.0.0.1",   "--port",         std::to_string(port),
                                   "--port-file", port_file,        "--data-dir",
                                   m_data_dir,    "--jwt-secret",   kTestSecret,
                                   "--threads",   threads};
  args.insert(args.end(), m_launch.args.begin(), m_launch.args.end());
  // Prepared before fork: the child of a threaded test may not allocate before exec.
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_entries;
  for (char** entry = environ; *entry; ++entry) {
    std::string text = *entry;
    if (!m_launch.env.contains(text.substr(0, text.find('=')))) env_entries.push_back(text);
  }
  for (const auto& [name, value] : m_launch.env)
    env_entries.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_entries)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  m_exit_status = -1;
  m_pid = ::fork();
  if (m_pid < 0) throw std::runtime_error("fork failed");
  if (m_pid == 0) {
    int log = ::open(m_log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(log, STDERR_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_file);
    int listening = 0;
    if (in >> listening && listening > 0) {
      m_port = static_cast<std::uint16_t>(listening);
      return;
    }
    if (!running()) throw std::runtime_error("tandem exited at start-up:\n" + log());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill9();
  throw std::runtime_error("tandem did not start listening in 30 s:\n" + log());
}

ServerProcess::~ServerProcess() {
  if (m_pid > 0) kill9();
}

void ServerProcess::kill9() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGKILL);
  int status = 0;
  ::waitpid(m_pid, &status, 0);
  reaped(status);
}

int ServerProcess::terminate(std::chrono::milliseconds grace) {
  if (m_pid <= 0) return -1;
  ::kill(m_pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (::waitpid(m_pid, &status, WNOHANG) != m_pid) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  reaped(status);
  return m_exit_status;
}

bool ServerProcess::running() {
  if (m_pid <= 0) return false;
  int status = 0;
  if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
    reaped(status);
    return false;
  }
  return true;
}

void ServerProcess::reaped(int wait_status) {
  m_pid = -1;
  m_exit_status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

std::string ServerProcess::log() const {
  std::ifstream in(m_log_path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ServerProcess::log_tail(std::size_t bytes) const {
  auto all = log();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

std::string ServerProcess::token(const std::string& subject, auth::Role role,
                                 std::chrono::seconds ttl) {
  auth::JwtOptions options;
  options.hs256_secret = kTestSecret;
  auto minter = auth::TokenMinter::create(options);
  if (!minter) throw std::runtime_error(std::string(minter.error().message()));
  auth::MintRequest request;
  request.subject = subject;
  request.role = role;
  request.ttl = ttl;
  auto token = (*minter)->mint(request);
  if (!token) throw std::runtime_error(std::string(token.error().message()));
  return *token;
}

std::string ServerProcess::token_with_claims(const std::string& claims_json) {
  auth::JwtOptions options;
  options.hs256_secret = kTestSecret;
  auto key = auth::detail::load_signing_key(options);
  if (!key) throw std::runtime_error(std::string(key.error().message()));
  auto token = auth::detail::sign(nlohmann::json::parse(claims_json), *key);
  if (!token) throw std::runtime_error(std::string(token.error().message()));
  return *token;
}

}  // namespace tandem::testing
