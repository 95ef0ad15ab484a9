// The client's WebSocket connection to a Tandem server (ws:// or wss://). The implementation
// (transport.cpp) is the only client file that sees Boost.Beast.
//
// A Transport is used by one thread (the sync thread): the I/O runs only inside its calls.
// `wake()` and `cancel()` are the exceptions: any thread may call them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tandem::client {

struct Endpoint {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target;  // the HTTP path, "/sync" when the URL has none
};

// ws://host[:port][/path] or wss://...; bad_request naming the problem otherwise.
Result<Endpoint> parse_url(std::string_view url);

class Transport {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds timeout{10000};  // connect + handshake, and each write
    std::string ca_file;                       // wss: extra trusted CAs (PEM); system ones too
    std::size_t max_message_bytes = 64u << 20;
  };

  static std::unique_ptr<Transport> create(Endpoint endpoint, Options options);
  virtual ~Transport() = default;

  // unavailable (with the reason) when the server cannot be reached or refuses the upgrade.
  virtual Status connect() = 0;
  // Writes one text message; unavailable when the connection is gone.
  virtual Status send(std::string_view text) = 0;
  // The next message; none when `deadline` passed or wake() was called; unavailable when the
  // connection closed (the message says how).
  virtual Result<std::optional<std::string>> receive(Clock::time_point deadline) = 0;
  // Makes a pending or the next receive() return early. Thread-safe.
  virtual void wake() = 0;
  // Makes every pending and later call fail quickly. Thread-safe.
  virtual void cancel() = 0;
  // Sends a close frame (best effort, bounded by the timeout).
  virtual void close() = 0;
};

}  // namespace tandem::client
