#include "loadgen/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tandem::bench {

pid_t ChildProcess::spawn(std::vector<std::string> argv, const std::string& log_path) {
  // Built before fork: the child of a threaded process only calls async-signal-safe
  // functions until exec.
  std::vector<char*> args;
  for (auto& arg : argv)
    args.push_back(arg.data());
  args.push_back(nullptr);
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
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

bool ChildProcess::wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || done < 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ChildProcess::Outcome ChildProcess::run(std::vector<std::string> argv, const std::string& log_path,
                                        std::chrono::seconds timeout) {
  pid_t pid = spawn(std::move(argv), log_path);
  Outcome outcome;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::ifstream in(log_path);
  std::stringstream text;
  text << in.rdbuf();
  outcome.output = text.str();
  return outcome;
}

namespace {

std::mutex g_cleanup_mutex;
std::map<int, std::function<void()>> g_cleanups;
int g_next_cleanup = 0;

}  // namespace

void Watchdog::arm(std::chrono::seconds limit) {
  std::thread([limit] {
    std::this_thread::sleep_for(limit);
    std::fprintf(stderr, "tandem_loadgen: time limit of %lld s reached, stopping\n",
                 static_cast<long long>(limit.count()));
    std::map<int, std::function<void()>> cleanups;
    {
      std::lock_guard lock(g_cleanup_mutex);
      cleanups = g_cleanups;
    }
    for (auto it = cleanups.rbegin(); it != cleanups.rend(); ++it) {
      try {
        it->second();
      } catch (...) {
      }
    }
    std::fflush(stdout);
    ::_exit(3);
  }).detach();
}

int Watchdog::add_cleanup(std::function<void()> cleanup) {
  std::lock_guard lock(g_cleanup_mutex);
  g_cleanups.emplace(++g_next_cleanup, std::move(cleanup));
  return g_next_cleanup;
}

void Watchdog::remove_cleanup(int id) {
  std::lock_guard lock(g_cleanup_mutex);
  g_cleanups.erase(id);
}

}  // namespace tandem::bench
