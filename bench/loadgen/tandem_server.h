// `tandem serve` (the release binary) as a child process of the load generator: its own
// temporary data directory, a free loopback port, HS256 tokens minted here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::bench {

inline constexpr const char* kBenchSecret = "tandem-bench-secret-0123456789abcdef0123456789";

class TandemServer {
 public:
  // Starts `binary serve` with `extra_args` (e.g. --database-url, --track) and waits until it
  // listens. `data_dir` empty: a new temporary directory.
  TandemServer(const std::string& binary, std::vector<std::string> extra_args,
               std::string data_dir = {});
  ~TandemServer();
  TandemServer(const TandemServer&) = delete;
  TandemServer& operator=(const TandemServer&) = delete;

  std::uint16_t port() const { return m_port; }
  pid_t pid() const { return m_pid; }
  const std::string& data_dir() const { return m_data_dir; }
  std::string log_path() const { return m_data_dir + "/server.log"; }
  std::string log_tail(std::size_t bytes = 2000) const;
  // False once the process has exited (it is reaped then, and its exit status logged).
  bool alive();

  // A token for `subject` signed with kBenchSecret (role user or admin).
  static std::string token(const std::string& subject, bool admin = false);

 private:
  void stop();

  std::string m_data_dir;
  bool m_own_dir = false;
  pid_t m_pid = -1;
  std::uint16_t m_port = 0;
  int m_cleanup = 0;
};

}  // namespace tandem::bench
