// The CLI's HTTP client for a running server's admin API (docs/admin-api.md). Beast stays in
// admin_client.cpp (slow to compile).
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tandem::cli {

struct AdminReply {
  int status = 0;
  std::string body;
};

// The reply's JSON body when its status is one of `statuses`; else the server's error as an
// Error (its code and message), or internal for an answer that is not one.
nlohmann::json expect_reply(const AdminReply& reply, std::initializer_list<int> statuses);

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
