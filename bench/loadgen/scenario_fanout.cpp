// Fan-out: one writer commits rows to PostgreSQL at a fixed rate; N subscribers receive them.
// Every row carries the writer's now_us() taken just before its INSERT was sent (column
// sent_us), so a subscriber computes write-to-receive latency with the same clock. The
// latency therefore includes PostgreSQL's commit, the capture, the publisher and delivery.
#include <libpq-fe.h>
#include <poll.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "loadgen/bench_cluster.h"
#include "loadgen/bench_server.h"
#include "loadgen/scenarios.h"
#include "loadgen/ws_pool.h"

namespace tandem::bench {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kChangesPrefix = R"({"type":"changes")";
constexpr std::string_view kSentKey = R"("sent_us":)";

struct Subscriber {
  std::atomic<int> state{0};  // 0 connecting, 1 welcomed (snapshot pending), 2 ready, -1 failed
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> frames{0};
  std::vector<std::int64_t> latencies_us;  // rows sent inside the measured window
  std::string error;
};

class FanoutHandler final : public WsHandler {
 public:
  FanoutHandler(std::size_t count, std::string token)
      : m_subscribers(count), m_token(std::move(token)) {}

  void set_checkpoint(std::string checkpoint) { m_checkpoint = std::move(checkpoint); }
  // Rows sent before `run_from` (by an earlier run on the same table) are not counted;
  // latencies are kept for rows sent in [from, to).
  void set_window(std::int64_t run_from, std::int64_t from_us, std::int64_t to_us) {
    m_run_from = run_from;
    m_window_from = from_us;
    m_window_to = to_us;
  }
  Subscriber& at(std::size_t index) { return m_subscribers[index]; }
  std::size_t size() const { return m_subscribers.size(); }

  void on_open(WsConnection& connection) override {
    Json hello = {{"type", "hello"},
                  {"protocol", 1},
                  {"token", m_token},
                  {"client_id", "fan-" + std::to_string(connection.index())},
                  {"checkpoint", Json::parse(m_checkpoint)}};
    connection.send(hello.dump());
  }

  void on_message(WsConnection& connection, std::string_view text,
                  std::int64_t received_us) override {
    auto& subscriber = m_subscribers[connection.index()];
    if (text.starts_with(kChangesPrefix)) {
      subscriber.frames.fetch_add(1, std::memory_order_relaxed);
      std::uint64_t rows = 0;
      const std::int64_t from = m_window_from.load(std::memory_order_relaxed);
      const std::int64_t to = m_window_to.load(std::memory_order_relaxed);
      const std::int64_t run_from = m_run_from.load(std::memory_order_relaxed);
      // Only the numbers are needed: a scan, not a JSON parse, keeps the load generator
      // cheap next to the server.
      std::size_t at = 0;
      while ((at = text.find(kSentKey, at)) != std::string_view::npos) {
        at += kSentKey.size();
        std::int64_t sent = 0;
        auto [end, ec] = std::from_chars(text.data() + at, text.data() + text.size(), sent);
        if (ec != std::errc()) break;
        at = static_cast<std::size_t>(end - text.data());
        if (sent < run_from) continue;
        ++rows;
        if (sent >= from && sent < to) subscriber.latencies_us.push_back(received_us - sent);
      }
      subscriber.received.fetch_add(rows, std::memory_order_relaxed);
      return;
    }
    auto message = Json::parse(text, nullptr, false);
    if (message.is_discarded()) return;
    auto type = message.value("type", std::string());
    if (type == "welcome") {
      {
        std::lock_guard lock(m_mutex);
        if (!m_server_seq) m_server_seq = message.value("server_seq", std::uint64_t{0});
      }
      subscriber.state = message.value("snapshot", false) ? 1 : 2;
    } else if (type == "snapshot_end") {
      subscriber.state = 2;
    } else if (type == "error") {
      std::lock_guard lock(m_mutex);
      subscriber.error = message.dump();
      subscriber.state = -1;
    }
  }

  void on_close(WsConnection& connection, const std::string& error) override {
    auto& subscriber = m_subscribers[connection.index()];
    std::lock_guard lock(m_mutex);
    if (subscriber.error.empty()) subscriber.error = error;
    subscriber.state = -1;
  }

  std::optional<std::uint64_t> server_seq() {
    std::lock_guard lock(m_mutex);
    return m_server_seq;
  }

 private:
  std::vector<Subscriber> m_subscribers;
  std::string m_token;
  std::string m_checkpoint = "null";
  std::atomic<std::int64_t> m_run_from{std::numeric_limits<std::int64_t>::max()};
  std::atomic<std::int64_t> m_window_from{0};
  std::atomic<std::int64_t> m_window_to{0};
  std::mutex m_mutex;
  std::optional<std::uint64_t> m_server_seq;
};

// One libpq connection inserting rows at `rate` per second: every millisecond it inserts the
// rows now due in one statement (one transaction), so the rate holds even when a commit
// takes longer than the interval.
class Writer {
 public:
  Writer(const std::string& conninfo, std::int64_t first_id)
      : m_conn(PQconnectdb(conninfo.c_str())), m_next_id(first_id) {
    if (PQstatus(m_conn) != CONNECTION_OK)
      throw std::runtime_error(std::string("writer: ") + PQerrorMessage(m_conn));
  }
  ~Writer() { PQfinish(m_conn); }

  // Runs until `stop`; returns the number of rows written.
  void run(double rate, const std::atomic<bool>& stop) {
    const auto start = now_us();
    std::int64_t written = 0;
    std::string ids;
    while (!stop.load()) {
      const auto now = now_us();
      auto due = static_cast<std::int64_t>(static_cast<double>(now - start) * rate / 1e6);
      auto batch = std::min<std::int64_t>(due - written, 10'000);
      if (batch > 0) {
        ids.clear();
        ids.push_back('{');  // (not `ids = "{"`: GCC 12 -O3 reports a false -Wrestrict)
        for (std::int64_t i = 0; i < batch; ++i) {
          if (i > 0) ids += ',';
          ids += std::to_string(m_next_id++);
        }
        ids += '}';
        auto sent = std::to_string(now_us());
        const char* params[2] = {ids.c_str(), sent.c_str()};
        auto before = now_us();
        PGresult* result = PQexecParams(
            m_conn, "INSERT INTO fan_rows (id, sent_us) SELECT unnest($1::bigint[]), $2::bigint", 2,
            nullptr, params, nullptr, nullptr, 0);
        auto after = now_us();
        if (PQresultStatus(result) != PGRES_COMMAND_OK) {
          std::string error = PQresultErrorMessage(result);
          PQclear(result);
          throw std::runtime_error("writer insert failed: " + error);
        }
        PQclear(result);
        written += batch;
        m_commit_us.push_back(after - before);
        ++m_commits;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(1000));
    }
    m_written = written;
  }

  std::int64_t written() const { return m_written; }
  std::int64_t next_id() const { return m_next_id; }
  std::int64_t commits() const { return m_commits; }
  std::vector<std::int64_t>& commit_latencies() { return m_commit_us; }

 private:
  PGconn* m_conn;
  std::int64_t m_next_id;
  std::int64_t m_written = 0;
  std::int64_t m_commits = 0;
  std::vector<std::int64_t> m_commit_us;
};

// LISTEN/NOTIFY round trip on the same cluster: time from sending NOTIFY (autocommit) until
// the listening connection has the notification.
Percentiles notify_round_trip(const BenchCluster& cluster, int round_trips) {
  PGconn* listener = PQconnectdb(cluster.url().c_str());
  PGconn* notifier = PQconnectdb(cluster.url().c_str());
  if (PQstatus(listener) != CONNECTION_OK || PQstatus(notifier) != CONNECTION_OK)
    throw std::runtime_error("cannot connect for LISTEN/NOTIFY");
  PQclear(PQexec(listener, "LISTEN tandem_bench"));
  std::vector<std::int64_t> samples;
  for (int i = 0; i < round_trips; ++i) {
    auto start = now_us();
    PQclear(PQexec(notifier, "NOTIFY tandem_bench"));
    bool got = false;
    while (!got) {
      pollfd fd{PQsocket(listener), POLLIN, 0};
      if (::poll(&fd, 1, 5000) <= 0) throw std::runtime_error("NOTIFY did not arrive in 5 s");
      PQconsumeInput(listener);
      while (PGnotify* notify = PQnotifies(listener)) {
        PQfreemem(notify);
        got = true;
      }
    }
    samples.push_back(now_us() - start);
  }
  PQfinish(listener);
  PQfinish(notifier);
  return percentiles(samples);
}

int run_one(const CommonOptions& common, const FanoutOptions& options, BenchCluster& cluster,
            int subscribers, std::int64_t first_id, Report& report) {
  BenchServer server(common, {"--database-url", cluster.url(), "--capture", common.capture,
                              "--track", "fan_rows"});
  FanoutHandler handler(static_cast<std::size_t>(subscribers),
                        testing::ServerProcess::token("reader"));
  WsPool pool(common.loadgen_threads);
  // The first subscriber takes the snapshot (of an empty table) and learns the position;
  // the others start from it, so that N snapshots do not dominate the set-up.
  pool.connect(0, source_address(0), server.port(), handler);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (handler.at(0).state.load() != 2) {
    if (handler.at(0).state.load() < 0 || std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("first subscriber failed: " + handler.at(0).error);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  handler.set_checkpoint(Json{{"seq", *handler.server_seq()}}.dump());
  const auto connect_start = now_us();
  std::size_t launched = 1;
  std::size_t ready = 1;
  std::size_t failed = 0;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (ready + failed < handler.size()) {
    ready = 0;
    failed = 0;
    for (std::size_t i = 0; i < launched; ++i) {
      auto state = handler.at(i).state.load();
      ready += state == 2;
      failed += state < 0;
    }
    while (launched < handler.size() && launched - ready - failed < 256) {
      pool.connect(launched, source_address(launched), server.port(), handler);
      ++launched;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const double connect_seconds = static_cast<double>(now_us() - connect_start) / 1e6;
  if (failed > 0 || ready < handler.size()) {
    std::string first_error;
    for (std::size_t i = 0; i < handler.size() && first_error.empty(); ++i)
      first_error = handler.at(i).error;
    std::cerr << "fanout: " << ready << " of " << handler.size() << " subscribers ready, " << failed
              << " failed (" << first_error << ")\n";
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // sessions go live

  Writer writer(cluster.url(), first_id);
  std::atomic<bool> stop{false};
  const auto run_start = now_us();
  const auto window_from = run_start + static_cast<std::int64_t>(options.warmup_seconds * 1e6);
  const auto window_to = window_from + static_cast<std::int64_t>(options.seconds * 1e6);
  handler.set_window(run_start, window_from, window_to);
  std::string writer_error;
  std::thread writer_thread([&] {
    try {
      writer.run(options.rate, stop);
    } catch (const std::exception& e) {
      writer_error = e.what();
      stop = true;
    }
  });
  auto total_received = [&] {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < handler.size(); ++i)
      sum += handler.at(i).received.load();
    return sum;
  };
  auto total_frames = [&] {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < handler.size(); ++i)
      sum += handler.at(i).frames.load();
    return sum;
  };
  std::this_thread::sleep_until(std::chrono::steady_clock::now() +
                                std::chrono::microseconds(window_from - now_us()));
  const auto received_before = total_received();
  const auto frames_before = total_frames();
  const auto self_cpu_before = self_cpu_seconds();
  const auto server_cpu_before = process_cpu_seconds(server.pid());
  const auto measured_from = now_us();
  std::this_thread::sleep_until(std::chrono::steady_clock::now() +
                                std::chrono::microseconds(window_to - now_us()));
  const auto measured_to = now_us();
  const auto received_after = total_received();
  const auto frames_after = total_frames();
  const auto self_cpu = self_cpu_seconds() - self_cpu_before;
  const auto server_cpu = process_cpu_seconds(server.pid()) - server_cpu_before;
  const auto server_memory = process_memory(server.pid());
  stop = true;
  writer_thread.join();
  if (!writer_error.empty()) throw std::runtime_error(writer_error);

  // Drain: every subscriber must receive every row written (lost rows invalidate the run).
  const auto expected = static_cast<std::uint64_t>(writer.written()) * handler.size();
  auto drain_deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long>(options.drain_seconds * 1000));
  auto last_progress = std::chrono::steady_clock::now();
  for (auto seen = total_received(); seen < expected;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= drain_deadline || now - last_progress > std::chrono::seconds(15)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (auto current = total_received(); current != seen) {
      seen = current;
      last_progress = std::chrono::steady_clock::now();
    }
  }
  const auto drained_at = now_us();
  pool.stop();

  const double window = static_cast<double>(measured_to - measured_from) / 1e6;
  std::vector<std::int64_t> latencies;
  for (std::size_t i = 0; i < handler.size(); ++i) {
    auto& samples = handler.at(i).latencies_us;
    latencies.insert(latencies.end(), samples.begin(), samples.end());
  }
  auto latency = percentiles(latencies);
  auto commit = percentiles(writer.commit_latencies());
  const auto received = total_received();
  report.add(
      "fanout",
      {{"subscribers", subscribers},
       {"rate_rows_per_s", options.rate},
       {"rows_written", writer.written()},
       {"commits", writer.commits()},
       {"writer_commit_p50_ms", commit.p50_ms},
       {"delivered_events_per_s", static_cast<double>(received_after - received_before) / window},
       {"frames_per_s", static_cast<double>(frames_after - frames_before) / window},
       {"latency_samples", latency.count},
       {"latency_p50_ms", latency.p50_ms},
       {"latency_p99_ms", latency.p99_ms},
       {"latency_max_ms", latency.max_ms},
       {"expected_events", expected},
       {"received_events", received},
       {"drain_s", static_cast<double>(drained_at - measured_to) / 1e6},
       // Rows each subscriber got per second, from the writer's start to the end of the
       // drain: the end-to-end rate when the server falls behind.
       {"end_to_end_changes_per_s", static_cast<double>(received) /
                                        static_cast<double>(handler.size()) /
                                        (static_cast<double>(drained_at - run_start) / 1e6)},
       {"connect_s", connect_seconds},
       {"loadgen_cpu_pct", 100 * self_cpu / window},
       {"server_cpu_pct", 100 * server_cpu / window},
       {"server_rss_kib", server_memory.rss_kib}});
  if (received < expected) {
    std::cerr << "fanout: " << expected - received << " events missing after the drain ("
              << options.drain_seconds << " s at most)\n";
    return 1;
  }
  return 0;
}

}  // namespace

int run_fanout(const CommonOptions& common, const FanoutOptions& options, Report& report) {
  BenchCluster cluster;
  exec_sql(
      cluster,
      "CREATE TABLE fan_rows (id bigint PRIMARY KEY, sent_us bigint NOT NULL,"
      " payload text NOT NULL DEFAULT 'fan-out payload: sixty-four bytes of text to look real..')");
  auto ceiling = notify_round_trip(cluster, options.ceiling_round_trips);
  report.add("ceiling_notify_round_trip", {{"round_trips", ceiling.count},
                                           {"p50_ms", ceiling.p50_ms},
                                           {"p99_ms", ceiling.p99_ms},
                                           {"max_ms", ceiling.max_ms}});
  int status = 0;
  std::int64_t first_id = 1;
  for (int subscribers : options.subscribers) {
    status |= run_one(common, options, cluster, subscribers, first_id, report);
    first_id += 100'000'000;
  }
  return status;
}

}  // namespace tandem::bench
