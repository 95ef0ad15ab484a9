// Ingest: M clients push batches of inserts, each the next as soon as the previous one is
// acknowledged (one push in flight per client). Each client is its own user writing its own
// rows of a private table, so it also receives its rows back as live changes, as a real
// client would. After the run the table's row count must equal the acknowledged inserts.
#include <sqlite3.h>

#include <atomic>
#include <iostream>
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
constexpr const char* kText = "ingest payload, forty characters long...";

struct Pusher {
  std::atomic<int> state{0};  // 0 connecting, 1 pushing, 2 stopped (no push in flight), -1 failed
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> exceptions{0};
  std::uint64_t next_seq = 1;
  std::uint64_t last_hlc = 0;
  std::int64_t sent_us = 0;
  std::vector<std::int64_t> ack_latencies_us;
  std::string error;
};

class IngestHandler final : public WsHandler {
 public:
  IngestHandler(std::size_t clients, int batch) : m_pushers(clients), m_batch(batch) {
    for (std::size_t i = 0; i < clients; ++i)
      m_tokens.push_back(testing::ServerProcess::token("user" + std::to_string(i)));
  }

  Pusher& at(std::size_t index) { return m_pushers[index]; }
  std::size_t size() const { return m_pushers.size(); }
  void stop() { m_stop = true; }
  void set_window(std::int64_t from, std::int64_t to) {
    m_from = from;
    m_to = to;
  }

  void on_open(WsConnection& connection) override {
    Json hello = {{"type", "hello"},
                  {"protocol", 1},
                  {"token", m_tokens[connection.index()]},
                  {"client_id", "ingest-" + std::to_string(connection.index())},
                  {"checkpoint", nullptr}};
    connection.send(hello.dump());
  }

  void on_message(WsConnection& connection, std::string_view text,
                  std::int64_t received_us) override {
    if (text.starts_with(kChangesPrefix)) return;  // the client's own rows coming back
    auto& pusher = m_pushers[connection.index()];
    auto message = Json::parse(text, nullptr, false);
    if (message.is_discarded()) return;
    auto type = message.value("type", std::string());
    if (type == "welcome" && !message.value("snapshot", false)) {
      start(connection, pusher);
    } else if (type == "snapshot_end") {
      start(connection, pusher);
    } else if (type == "ack") {
      auto count = static_cast<std::uint64_t>(m_batch);
      pusher.acked.fetch_add(count);
      if (!message["exceptions"].empty()) pusher.exceptions.fetch_add(message["exceptions"].size());
      if (pusher.sent_us >= m_from.load() && received_us < m_to.load())
        pusher.ack_latencies_us.push_back(received_us - pusher.sent_us);
      if (m_stop.load()) {
        pusher.state = 2;
        return;
      }
      push(connection, pusher);
    } else if (type == "error") {
      std::lock_guard lock(m_mutex);
      pusher.error = message.dump();
      pusher.state = -1;
    }
  }

  void on_close(WsConnection& connection, const std::string& error) override {
    auto& pusher = m_pushers[connection.index()];
    std::lock_guard lock(m_mutex);
    if (pusher.state.load() == 2) return;
    if (pusher.error.empty()) pusher.error = error;
    pusher.state = -1;
  }

 private:
  void start(WsConnection& connection, Pusher& pusher) {
    pusher.state = 1;
    push(connection, pusher);
  }

  void push(WsConnection& connection, Pusher& pusher) {
    std::string text = R"({"type":"push","mutations":[)";
    const auto client = std::to_string(connection.index());
    for (int i = 0; i < m_batch; ++i) {
      auto seq = pusher.next_seq++;
      pusher.last_hlc = std::max(wall_millis() << 16, pusher.last_hlc + 1);
      if (i > 0) text += ',';
      text += R"({"client_seq":)" + std::to_string(seq) +
              R"(,"table":"ingest_rows","op":"insert","pk":{"id":"c)" + client + "-" +
              std::to_string(seq) + R"("},"values":{"a":)" + std::to_string(seq) + R"(,"b":")" +
              kText + R"(","c":1.5},"hlc":")" + hlc_hex(pusher.last_hlc) + "\"}";
    }
    text += "]}";
    pusher.sent_us = now_us();
    connection.send(std::move(text));
  }

  std::vector<Pusher> m_pushers;
  std::vector<std::string> m_tokens;
  int m_batch;
  std::atomic<bool> m_stop{false};
  std::atomic<std::int64_t> m_from{0};
  std::atomic<std::int64_t> m_to{0};
  std::mutex m_mutex;
};

std::int64_t sqlite_count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("cannot open " + path);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* statement = nullptr;
  std::int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW) {
    value = sqlite3_column_int64(statement, 0);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

void sqlite_exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "?";
    sqlite3_free(error);
    throw std::runtime_error("SQLite: " + message);
  }
}

constexpr const char* kIngestTable =
    "CREATE TABLE ingest_rows (id text PRIMARY KEY, owner_id text NOT NULL, a bigint,"
    " b text, c double precision)";

// The SQLite ceiling: one connection inserting `batch` rows per transaction, WAL mode,
// synchronous=FULL (the server's default), for `seconds`.
double sqlite_ceiling(const std::string& dir, int batch, int seconds) {
  auto path = dir + "/ceiling.db";
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite_exec(db, "PRAGMA journal_mode=WAL");
  sqlite_exec(db, "PRAGMA synchronous=FULL");
  sqlite_exec(db, kIngestTable);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO ingest_rows VALUES (?, 'user0', ?, ?, 1.5)", -1, &insert,
                     nullptr);
  std::int64_t rows = 0;
  const auto start = now_us();
  const auto end = start + static_cast<std::int64_t>(seconds) * 1'000'000;
  while (now_us() < end) {
    sqlite_exec(db, "BEGIN");
    for (int i = 0; i < batch; ++i) {
      auto id = "c0-" + std::to_string(rows + i);
      sqlite3_bind_text(insert, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert, 2, rows + i);
      sqlite3_bind_text(insert, 3, kText, -1, SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) throw std::runtime_error("SQLite insert failed");
      sqlite3_reset(insert);
    }
    sqlite_exec(db, "COMMIT");
    rows += batch;
  }
  const double elapsed = static_cast<double>(now_us() - start) / 1e6;
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return static_cast<double>(rows) / elapsed;
}

int run_backend(const CommonOptions& common, const IngestOptions& options,
                const std::string& backend, Report& report) {
  std::unique_ptr<BenchCluster> cluster;
  const testing::TempDir dir;
  const auto remove_dir = remove_on_timeout(dir);
  const auto data_dir = dir.path().string();
  std::vector<std::string> args = {"--track", "ingest_rows"};
  double ceiling = 0;
  std::string ceiling_what;
  if (backend == "postgres") {
    cluster = std::make_unique<BenchCluster>();
    exec_sql(*cluster, kIngestTable);
    exec_sql(*cluster,
             "CREATE TABLE ceiling_rows (id text PRIMARY KEY, owner_id text NOT NULL, a bigint,"
             " b text, c double precision); CREATE SEQUENCE ceiling_seq");
    // pgbench: the same rows, `batch` per INSERT statement, on as many connections as
    // there are clients.
    std::string script =
        "INSERT INTO ceiling_rows SELECT 'c' || nextval('ceiling_seq'), 'user0', g, '" +
        std::string(kText) + "', 1.5 FROM generate_series(1, " + std::to_string(options.batch) +
        ") g;";
    double tps = pgbench(*cluster, script, options.clients, 2, options.ceiling_seconds);
    ceiling = tps * options.batch;
    ceiling_what = "pgbench batched INSERT";
    args.insert(args.end(), {"--database-url", cluster->url(), "--capture", common.capture});
  } else {
    ceiling = sqlite_ceiling(data_dir, options.batch, options.ceiling_seconds);
    ceiling_what = "SQLite batched INSERT, one writer, WAL, synchronous=FULL";
    sqlite3* db = nullptr;
    sqlite3_open((data_dir + "/tandem.db").c_str(), &db);
    sqlite_exec(db, kIngestTable);
    sqlite3_close(db);
  }
  report.add("ceiling_ingest", {{"backend", backend},
                                {"what", ceiling_what},
                                {"clients", options.clients},
                                {"batch", options.batch},
                                {"rows_per_s", ceiling}});

  int status = 0;
  {
    BenchServer server(common, args, data_dir);
    IngestHandler handler(static_cast<std::size_t>(options.clients), options.batch);
    WsPool pool(common.loadgen_threads);
    const auto start = now_us();
    const auto from = start + static_cast<std::int64_t>(options.warmup_seconds * 1e6);
    const auto to = from + static_cast<std::int64_t>(options.seconds * 1e6);
    handler.set_window(from, to);
    for (std::size_t i = 0; i < handler.size(); ++i)
      pool.connect(i, source_address(i), server.port(), handler);
    auto acked = [&] {
      std::uint64_t sum = 0;
      for (std::size_t i = 0; i < handler.size(); ++i)
        sum += handler.at(i).acked.load();
      return sum;
    };
    std::this_thread::sleep_until(std::chrono::steady_clock::now() +
                                  std::chrono::microseconds(from - now_us()));
    const auto acked_before = acked();
    const auto self_before = self_cpu_seconds();
    const auto server_before = process_cpu_seconds(server.pid());
    const auto measured_from = now_us();
    std::this_thread::sleep_until(std::chrono::steady_clock::now() +
                                  std::chrono::microseconds(to - now_us()));
    const auto measured_to = now_us();
    const auto acked_after = acked();
    const auto self_cpu = self_cpu_seconds() - self_before;
    const auto server_cpu = process_cpu_seconds(server.pid()) - server_before;
    handler.stop();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::size_t stopped = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      stopped = 0;
      for (std::size_t i = 0; i < handler.size(); ++i)
        stopped += handler.at(i).state.load() == 2 || handler.at(i).state.load() < 0;
      if (stopped == handler.size()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pool.stop();
    std::uint64_t exceptions = 0;
    std::vector<std::int64_t> latencies;
    std::string first_error;
    for (std::size_t i = 0; i < handler.size(); ++i) {
      auto& pusher = handler.at(i);
      exceptions += pusher.exceptions.load();
      latencies.insert(latencies.end(), pusher.ack_latencies_us.begin(),
                       pusher.ack_latencies_us.end());
      if (pusher.state.load() < 0 && first_error.empty()) first_error = pusher.error;
    }
    const auto total_acked = acked();
    // What the database holds must match what was acknowledged.
    std::int64_t stored =
        backend == "postgres"
            ? std::stoll(query_value(*cluster, "SELECT count(*) FROM ingest_rows"))
            : sqlite_count(data_dir + "/tandem.db", "SELECT count(*) FROM ingest_rows");
    const double window = static_cast<double>(measured_to - measured_from) / 1e6;
    auto latency = percentiles(latencies);
    const double rate = static_cast<double>(acked_after - acked_before) / window;
    report.add("ingest", {{"backend", backend},
                          {"clients", options.clients},
                          {"batch", options.batch},
                          {"rows_per_s", rate},
                          {"ceiling_rows_per_s", ceiling},
                          {"fraction_of_ceiling", ceiling > 0 ? rate / ceiling : 0},
                          {"ack_p50_ms", latency.p50_ms},
                          {"ack_p99_ms", latency.p99_ms},
                          {"ack_max_ms", latency.max_ms},
                          {"acked_total", total_acked},
                          {"rows_in_table", stored},
                          {"exceptions", exceptions},
                          {"loadgen_cpu_pct", 100 * self_cpu / window},
                          {"server_cpu_pct", 100 * server_cpu / window}});
    if (!first_error.empty()) {
      std::cerr << "ingest: a client failed: " << first_error << "\n" << server.log_tail();
      status = 1;
    }
    if (stored != static_cast<std::int64_t>(total_acked) || exceptions > 0) {
      std::cerr << "ingest: " << total_acked << " acknowledged, " << stored << " rows stored, "
                << exceptions << " exceptions\n";
      status = 1;
    }
  }
  return status;
}

}  // namespace

int run_ingest(const CommonOptions& common, const IngestOptions& options, Report& report) {
  int status = 0;
  for (const auto& backend : options.backends)
    status |= run_backend(common, options, backend, report);
  return status;
}

}  // namespace tandem::bench
