// A synchronous HTTP/1.1 client for tests, with a timeout on the whole exchange.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace tandem::testing {

struct HttpReply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

struct HttpClientOptions {
  bool tls_no_verify = false;  // HTTPS without checking the certificate
  std::chrono::milliseconds timeout{5000};
};

// One request on a fresh connection. Throws std::runtime_error on a connection failure or a
// timeout; any HTTP status (404, 500...) is a reply, not an error.
HttpReply http_request(const std::string& host, std::uint16_t port, const std::string& method,
                       const std::string& target, const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {},
                       const HttpClientOptions& options = {});

}  // namespace tandem::testing
