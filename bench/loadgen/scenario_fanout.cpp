// Fan-out: one writer commits rows to PostgreSQL at a fixed rate; N subscribers receive them.
// Every row carries the writer's now_us() taken just before its INSERT was sent (column
// sent_us), so a subscriber computes write-to-receive latency with the same clock. The
// latency therefore includes PostgreSQL's commit, the capture, the publisher and delivery.
#include <libpq-fe.h>
#include <poll.h>

#include <atomic>
#include <iostream>
#include <limits>
#include <thread>

#include "loadgen/bench_cluster.h"
#include "loadgen/bench_server.h"
#include "loadgen/rate_writer.h"
#include "loadgen/scenarios.h"
#include "loadgen/sync_subscribers.h"

namespace tandem::bench {
namespace {

constexpr std::string_view kSentKey = R"("sent_us":)";
constexpr const char* kInsertRows =
    "INSERT INTO fan_rows (id, sent_us) SELECT unnest($1::bigint[]), $2::bigint";

struct Subscriber {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> frames{0};
  std::vector<std::int64_t> latencies_us;  // rows sent inside the measured window
};

// Every subscriber reads the public table fan_rows as the same user.
class FanoutHandler final : public SyncSubscribers {
 public:
  FanoutHandler(std::size_t count, std::string token)
      : SyncSubscribers(count, "fan-"), m_subscribers(count), m_token(std::move(token)) {}

  // Rows sent before `run_from` (by an earlier run on the same table) are not counted;
  // latencies are kept for rows sent in [from, to).
  void set_window(std::int64_t run_from, std::int64_t from_us, std::int64_t to_us) {
    m_run_from = run_from;
    m_window_from = from_us;
    m_window_to = to_us;
  }
  Subscriber& at(std::size_t index) { return m_subscribers[index]; }

 protected:
  std::string token(std::size_t) const override { return m_token; }

  void on_changes(std::size_t index, std::string_view frame, std::int64_t received_us) override {
    auto& subscriber = m_subscribers[index];
    subscriber.frames.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t rows = 0;
    const std::int64_t from = m_window_from.load(std::memory_order_relaxed);
    const std::int64_t to = m_window_to.load(std::memory_order_relaxed);
    const std::int64_t run_from = m_run_from.load(std::memory_order_relaxed);
    std::size_t at = 0;
    while (auto sent = next_number(frame, kSentKey, at)) {
      if (*sent < run_from) continue;
      ++rows;
      if (*sent >= from && *sent < to) subscriber.latencies_us.push_back(received_us - *sent);
    }
    subscriber.received.fetch_add(rows, std::memory_order_relaxed);
  }

 private:
  std::vector<Subscriber> m_subscribers;
  std::string m_token;
  std::atomic<std::int64_t> m_run_from{std::numeric_limits<std::int64_t>::max()};
  std::atomic<std::int64_t> m_window_from{0};
  std::atomic<std::int64_t> m_window_to{0};
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
  const auto connected = connect_subscribers(pool, server.port(), handler);
  if (!connected.complete(handler.size())) {
    std::cerr << "fanout: " << connected.ready << " of " << handler.size() << " subscribers ready, "
              << connected.failed << " failed (" << connected.first_error << ")\n";
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // sessions go live

  RateWriter writer(cluster.url(), first_id, kInsertRows);
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
  const auto window =
      measure_window(server.pid(), window_from, window_to, total_received, total_frames);
  const auto measured_to = now_us();
  stop = true;
  writer_thread.join();
  if (!writer_error.empty()) throw std::runtime_error(writer_error);

  // Drain: every subscriber must receive every row written (lost rows invalidate the run).
  const auto expected = static_cast<std::uint64_t>(writer.written()) * handler.size();
  const auto drained_at = wait_for_events(total_received, expected, options.drain_seconds);
  pool.stop();

  std::vector<std::int64_t> latencies;
  for (std::size_t i = 0; i < handler.size(); ++i) {
    auto& samples = handler.at(i).latencies_us;
    latencies.insert(latencies.end(), samples.begin(), samples.end());
  }
  auto latency = percentiles(latencies);
  auto commit = percentiles(writer.commit_latencies());
  const auto received = total_received();
  report.add("fanout",
             {{"subscribers", subscribers},
              {"rate_rows_per_s", options.rate},
              {"rows_written", writer.written()},
              {"commits", writer.commits()},
              {"writer_commit_p50_ms", commit.p50_ms},
              {"delivered_events_per_s", static_cast<double>(window.events) / window.seconds},
              {"frames_per_s", static_cast<double>(window.frames) / window.seconds},
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
              {"connect_s", connected.seconds},
              {"loadgen_cpu_pct", window.loadgen_cpu_pct},
              {"server_cpu_pct", window.server_cpu_pct},
              {"server_rss_kib", window.server_memory.rss_kib}});
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
