#include "support/node_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/source_tree.h"

namespace tandem::testing {
namespace {

std::string find_node() {
  const char* path = std::getenv("PATH");
  std::stringstream directories(path ? path : "/usr/bin:/usr/local/bin");
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    auto candidate = std::filesystem::path(directory) / "node";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  throw std::runtime_error("node is not installed (scripts/install-deps --test installs it)");
}

}  // namespace

NodeTestResult run_node_test(const std::string& script,
                             const std::map<std::string, std::string>& env,
                             std::chrono::seconds timeout) {
  const auto js_dir = source_tree() / "tests" / "js";
  if (!std::filesystem::exists(js_dir / "node_modules")) {
    throw std::runtime_error("tests/js/node_modules is missing: run scripts/install-deps --test");
  }
  const auto log_path = std::filesystem::temp_directory_path() /
                        ("tandem-node-" + std::to_string(::getpid()) + "-" + script + ".log");
  // Everything the child needs is built before fork: it may not allocate before exec.
  std::vector<std::string> args = {find_node(), "--test", "--test-reporter=spec",
                                   (js_dir / script).string()};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> entries;
  for (char** entry = environ; *entry; ++entry) {
    std::string text = *entry;
    if (!env.contains(text.substr(0, text.find('=')))) entries.push_back(text);
  }
  for (const auto& [name, value] : env)
    entries.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : entries)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  const std::string log_file = log_path.string();
  const std::string directory = js_dir.string();

  const pid_t pid = ::fork();
  if (pid == 0) {
    int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    if (::chdir(directory.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  NodeTestResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::ifstream in(log_path);
  std::stringstream output;
  output << in.rdbuf();
  result.output = output.str();
  std::filesystem::remove(log_path);
  return result;
}

}  // namespace tandem::testing
