// The subscriber side shared by the fan-out scenarios: N sync sessions on a WsPool that say
// hello, go live and hand their `changes` frames to the scenario; connecting them all; and
// waiting for every expected event to arrive.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/ws_pool.h"

namespace tandem::bench {

// Handles everything of a session but its `changes` frames: hello (the token of the
// subscriber's user, the shared checkpoint), welcome, snapshot_end, errors and closes.
class SyncSubscribers : public WsHandler {
 public:
  enum State : int { connecting = 0, snapshot = 1, ready = 2, failed = -1 };

  // Client ids are `client_prefix` + the subscriber's index.
  SyncSubscribers(std::size_t count, std::string client_prefix);

  std::size_t size() const { return m_sessions.size(); }
  int state(std::size_t index) const { return m_sessions[index].state.load(); }
  std::string error(std::size_t index);
  // The server_seq of the first welcome.
  std::optional<std::uint64_t> server_seq();
  // The checkpoint (JSON) hellos sent from now on carry; "null" (a snapshot) at first.
  void set_checkpoint(std::string checkpoint) { m_checkpoint = std::move(checkpoint); }

  void on_open(WsConnection& connection) final;
  void on_message(WsConnection& connection, std::string_view text, std::int64_t received_us) final;
  void on_close(WsConnection& connection, const std::string& error) final;

 protected:
  // The token subscriber `index` says hello with. Called on its connection's thread.
  virtual std::string token(std::size_t index) const = 0;
  // A `changes` frame for subscriber `index`, on its connection's thread (one at a time per
  // subscriber); `received_us` is now_us() when the read completed.
  virtual void on_changes(std::size_t index, std::string_view frame, std::int64_t received_us) = 0;

 private:
  struct Session {
    std::atomic<int> state{connecting};
    std::string error;  // under m_mutex
  };

  void on_control(Session& session, std::string_view text);

  std::vector<Session> m_sessions;
  std::string m_client_prefix;
  std::string m_checkpoint = "null";
  std::mutex m_mutex;
  std::optional<std::uint64_t> m_server_seq;
};

struct ConnectOutcome {
  std::size_t ready = 0;
  std::size_t failed = 0;
  double seconds = 0;       // from the second subscriber's start until all are ready
  std::string first_error;  // of the first failed subscriber
  bool complete(std::size_t wanted) const { return ready == wanted && failed == 0; }
};

// Connects every subscriber of `subscribers` to `port`, `in_flight` handshakes at a time,
// and waits (at most `timeout`) until each is live or failed. The first one takes the
// snapshot and learns the log position; the others start from it (no snapshot), so that N
// snapshots do not dominate the set-up. Throws when the first one fails.
ConnectOutcome connect_subscribers(WsPool& pool, std::uint16_t port, SyncSubscribers& subscribers,
                                   std::size_t in_flight = 256,
                                   std::chrono::seconds timeout = std::chrono::seconds(120));

// Waits until `received()` reaches `expected`, at most `max_seconds`, and ends early after
// 15 s without progress (events lost, not late). Returns now_us() when it stopped waiting.
std::int64_t wait_for_events(const std::function<std::uint64_t()>& received, std::uint64_t expected,
                             double max_seconds);

// The next number that follows `key` (e.g. `"sent_us":`) in `text` from `at`, which moves
// past it; nullopt when there is none. A scan, not a JSON parse: it keeps the load
// generator cheap next to the server.
std::optional<std::int64_t> next_number(std::string_view text, std::string_view key,
                                        std::size_t& at);

}  // namespace tandem::bench
