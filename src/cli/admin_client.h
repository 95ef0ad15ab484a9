// The CLI's HTTP client for a running server's admin API (docs/admin-api.md). Beast stays in
// admin_client.cpp (slow to compile).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tandem::cli {

struct AdminReply {
  int status = 0;
  std::string body;
};

class AdminClient {
 public:
  // `url`: http://host[:port] or https://host[:port] (the certificate is verified against
  // the system's CAs), optionally followed by a path prefix. Throws Error(config_invalid)
  // when it cannot be parsed.
  AdminClient(std::string_view url, std::string token,
              std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~AdminClient();

  // One request to `path` (relative to /admin/api/, e.g. "tables") on a fresh connection,
  // with the bearer token. Any HTTP status is a reply; a connection failure or a timeout
  // throws Error(unavailable) naming the server.
  AdminReply request(std::string_view method, std::string_view path, std::string_view body = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace tandem::cli
