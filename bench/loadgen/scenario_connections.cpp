// Connections: how many idle sync sessions the server holds at once, and its memory per
// session. Each connection completes the WebSocket handshake and hello (token verified,
// subscribed to the hub, live), then stays silent. Embedded SQLite datasource: a session's
// memory does not depend on the database. The fd limit is raised here for both processes.
#include <sqlite3.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "loadgen/bench_server.h"
#include "loadgen/scenarios.h"
#include "loadgen/ws_pool.h"

namespace tandem::bench {
namespace {

using Json = nlohmann::json;

class IdleHandler final : public WsHandler {
 public:
  IdleHandler(std::size_t count, std::string token) : m_states(count), m_token(std::move(token)) {
    for (auto& state : m_states)
      state = 0;
  }

  int state(std::size_t index) const { return m_states[index].load(); }
  std::string first_error() {
    std::lock_guard lock(m_mutex);
    return m_first_error;
  }

  void on_open(WsConnection& connection) override {
    Json hello = {{"type", "hello"},
                  {"protocol", 1},
                  {"token", m_token},
                  {"client_id", "idle-" + std::to_string(connection.index())},
                  {"checkpoint", Json{{"seq", 0}}}};
    connection.send(hello.dump());
  }

  void on_message(WsConnection& connection, std::string_view text, std::int64_t) override {
    if (text.find(R"("type":"welcome")") != std::string_view::npos) {
      m_states[connection.index()] = 1;
    } else if (text.find(R"("type":"error")") != std::string_view::npos) {
      fail(connection.index(), std::string(text));
    }
  }

  void on_close(WsConnection& connection, const std::string& error) override {
    fail(connection.index(), error);
  }

 private:
  void fail(std::size_t index, const std::string& error) {
    m_states[index] = -1;
    std::lock_guard lock(m_mutex);
    if (m_first_error.empty()) m_first_error = error;
  }

  std::vector<std::atomic<int>> m_states;  // 0 connecting, 1 welcomed, -1 failed
  std::string m_token;
  std::mutex m_mutex;
  std::string m_first_error;
};

}  // namespace

int run_connections(const CommonOptions& common, const ConnectionsOptions& options,
                    Report& report) {
  // Per connection: one socket on each side, plus headroom.
  const auto limit = raise_fd_limit(static_cast<std::uint64_t>(options.connections) + 1024);
  const testing::TempDir dir;
  const auto remove_dir = remove_on_timeout(dir);
  const auto data_dir = dir.path().string();
  {
    sqlite3* db = nullptr;
    sqlite3_open((data_dir + "/tandem.db").c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE notes (id text PRIMARY KEY, body text)", nullptr, nullptr,
                 nullptr);
    sqlite3_close(db);
  }
  int status = 0;
  {
    BenchServer server(common, {"--track", "notes"}, data_dir);
    // Without CAP_SYS_RESOURCE the hard limit cannot be raised (a container): both processes
    // then stay under it, and the report says how many were wanted.
    auto count = static_cast<std::size_t>(options.connections);
    if (limit < count + 1024) {
      count = limit > 1024 ? static_cast<std::size_t>(limit) - 1024 : 0;
      std::cerr << "connections: the fd limit is " << limit << " and cannot be raised here; "
                << "opening " << count << " of the " << options.connections << " wanted\n";
    }
    IdleHandler handler(count + 1, testing::ServerProcess::token("idle"));
    WsPool pool(common.loadgen_threads);
    // One session first: the baseline includes everything a first session initializes.
    pool.connect(count, source_address(count), server.port(), handler);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (handler.state(count) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (handler.state(count) != 1)
      throw std::runtime_error("first connection failed: " + handler.first_error());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const auto before = process_memory(server.pid());
    const auto self_before = self_cpu_seconds();
    const auto server_before = process_cpu_seconds(server.pid());
    const auto start = now_us();
    std::size_t launched = 0;
    std::size_t ready = 0;
    std::size_t failed = 0;
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    std::size_t scanned = 0;  // connections before it are settled
    auto next_progress = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (ready + failed < count && std::chrono::steady_clock::now() < deadline) {
      while (scanned < launched && handler.state(scanned) != 0) {
        ready += handler.state(scanned) == 1;
        failed += handler.state(scanned) < 0;
        ++scanned;
      }
      std::size_t in_flight = launched - scanned;
      while (launched < count && in_flight < static_cast<std::size_t>(options.in_flight)) {
        pool.connect(launched, source_address(launched), server.port(), handler);
        ++launched;
        ++in_flight;
      }
      if (std::chrono::steady_clock::now() >= next_progress) {
        if (!server.alive()) break;
        next_progress += std::chrono::seconds(5);
        std::cerr << "connections: " << ready << " open, " << failed << " failed, "
                  << launched - scanned << " connecting, server RSS "
                  << process_memory(server.pid()).rss_kib << " KiB\n";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const auto connected_at = now_us();
    const auto self_cpu = self_cpu_seconds() - self_before;
    const auto server_cpu = process_cpu_seconds(server.pid()) - server_before;
    std::this_thread::sleep_for(std::chrono::seconds(options.settle_seconds));
    // Still open after settling: count again.
    std::size_t open = 0;
    for (std::size_t i = 0; i < count; ++i)
      open += handler.state(i) == 1;
    const auto after = process_memory(server.pid());
    const double seconds = static_cast<double>(connected_at - start) / 1e6;
    const double per_connection =
        open > 0 ? static_cast<double>(after.rss_kib - before.rss_kib) / static_cast<double>(open)
                 : 0;
    report.add("connections", {{"wanted", options.connections},
                               {"attempted", count},
                               {"open", open},
                               {"failed", failed},
                               {"fd_limit", limit},
                               {"connect_s", seconds},
                               {"connections_per_s", static_cast<double>(ready) / seconds},
                               {"server_rss_before_kib", before.rss_kib},
                               {"server_rss_after_kib", after.rss_kib},
                               {"server_kib_per_connection", per_connection},
                               {"loadgen_cpu_pct_while_connecting", 100 * self_cpu / seconds},
                               {"server_cpu_pct_while_connecting", 100 * server_cpu / seconds}});
    if (open < count || count < static_cast<std::size_t>(options.connections)) {
      std::cerr << "connections: " << open << " of " << count
                << " open; first error: " << handler.first_error() << "\n"
                << server.log_tail();
      status = 1;
    }
    pool.stop();
  }
  return status;
}

}  // namespace tandem::bench
