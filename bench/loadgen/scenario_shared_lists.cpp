// Shared lists: the fan-out of permission rules (issue 15; docs/benchmarks.md, "Permissions
// fan-out"). N subscribers, each its own user u<i> and a member of K of L lists, on one
// `tandem serve --rules`, in one run:
//   1. the owner case: a writer inserts `notes` rows, each readable by its owner only
//      (`owner_id _eq claim sub`);
//   2. shared lists: it inserts `items` rows into random lists, each readable by the list's
//      members (`list_id _in_membership list_members`), about N*K/L subscribers per row;
//   3. membership changes: a `list_members` row adds one connected user to a list that holds
//      items, then is deleted; timed until all the list's items have entered (left) that
//      user's view.
// Before them, on its own server without a rules file, the owner-column default runs phase 1
// as a reference (--no-default-owner skips it). Rows carry sent_us as in scenario_fanout.cpp;
// a subscriber checks every row it gets against what its user may read.
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "loadgen/bench_cluster.h"
#include "loadgen/bench_server.h"
#include "loadgen/rate_writer.h"
#include "loadgen/scenarios.h"
#include "loadgen/sync_subscribers.h"

namespace tandem::bench {
namespace {

constexpr const char* kRules = R"(version = 1

[memberships.list_members]
key = "list_id"
member = "user_id"

[tables.list_members.user]
select.filter = { user_id = { _eq = { _claim = "sub" } } }

[tables.lists.user]
select.filter = { id = { _in_membership = "list_members" } }

[tables.items.user]
select.filter = { list_id = { _in_membership = "list_members" } }

[tables.notes.user]
select.filter = { owner_id = { _eq = { _claim = "sub" } } }
)";

// `owner_id` is the default owner column, so the reference server without rules reads the
// same table as a private one.
constexpr const char* kSchema = R"(
CREATE TABLE lists (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE list_members (id bigint PRIMARY KEY, list_id int NOT NULL, user_id text NOT NULL);
CREATE INDEX ON list_members (user_id);
CREATE TABLE items (id bigint PRIMARY KEY, list_id int NOT NULL, sent_us bigint NOT NULL,
  payload text NOT NULL DEFAULT 'shared-list payload: sixty-four bytes of text to look real.');
CREATE INDEX ON items (list_id);
CREATE TABLE notes (id bigint PRIMARY KEY, owner_id text NOT NULL, sent_us bigint NOT NULL,
  payload text NOT NULL DEFAULT 'owner-note payload: sixty-four bytes of text to look real..');
)";

constexpr const char* kInsertNotes =
    "INSERT INTO notes (id, owner_id, sent_us)"
    " SELECT unnest($1::bigint[]), unnest($3::text[]), $2::bigint";
constexpr const char* kInsertItems =
    "INSERT INTO items (id, list_id, sent_us)"
    " SELECT unnest($1::bigint[]), unnest($3::int[]), $2::bigint";

constexpr std::int64_t kWriterFirstId = 100'000'000;   // seeded items are below
constexpr std::int64_t kProbeFirstId = 1'000'000'000;  // membership rows added by phase 3

// Who is in which list: user u is in lists (u mod L + k * floor(L / K)) mod L for k < K,
// K distinct lists, and each list has about N*K/L members.
class Layout {
 public:
  explicit Layout(const SharedListsOptions& options)
      : m_users(options.subscribers),
        m_lists(options.lists),
        m_per_user(options.lists_per_user),
        m_members(static_cast<std::size_t>(options.lists), 0) {
    for (int user = 0; user < m_users; ++user)
      for (int k = 0; k < m_per_user; ++k)
        ++m_members[static_cast<std::size_t>(list_of(user, k))];
  }

  int lists() const { return m_lists; }
  int list_of(int user, int k) const {
    return (user % m_lists + k * (m_lists / m_per_user)) % m_lists;
  }
  bool member(int user, int list) const {
    for (int k = 0; k < m_per_user; ++k)
      if (list_of(user, k) == list) return true;
    return false;
  }
  std::int64_t members(int list) const { return m_members[static_cast<std::size_t>(list)]; }

  std::string insert_memberships_sql() const {
    const auto k = std::to_string(m_per_user);
    return "INSERT INTO list_members (id, list_id, user_id) SELECT g * " + k + " + k, (g % " +
           std::to_string(m_lists) + " + k * " + std::to_string(m_lists / m_per_user) + ") % " +
           std::to_string(m_lists) + ", 'u' || g FROM generate_series(0, " +
           std::to_string(m_users - 1) + ") g, generate_series(0, " + k + " - 1) k";
  }

 private:
  int m_users;
  int m_lists;
  int m_per_user;
  std::vector<std::int64_t> m_members;
};

// The list a written item goes to: a fixed mix of its id (random-looking, repeatable).
int list_of_item(std::int64_t id, int lists) {
  auto x = static_cast<std::uint64_t>(id) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 31;
  return static_cast<int>(x % static_cast<std::uint64_t>(lists));
}

// One change of a `changes` frame, found by the keys nlohmann::json writes in sorted order
// ("op", "pk", "row", "seq", "table"): no JSON parse per change.
struct ChangeText {
  std::string_view op;
  std::string_view row;
  std::string_view table;
};

bool next_change(std::string_view frame, std::size_t& at, ChangeText& change) {
  constexpr std::string_view kOp = R"("op":")";
  constexpr std::string_view kRow = R"("row":)";
  constexpr std::string_view kSeq = R"(,"seq":)";
  constexpr std::string_view kTable = R"("table":")";
  auto op = frame.find(kOp, at);
  if (op == std::string_view::npos) return false;
  op += kOp.size();
  auto row = frame.find(kRow, op);
  auto seq = frame.find(kSeq, row);
  auto table = frame.find(kTable, seq);
  if (table == std::string_view::npos) return false;
  table += kTable.size();
  auto table_end = frame.find('"', table);
  change.op = frame.substr(op, frame.find('"', op) - op);
  change.row = frame.substr(row + kRow.size(), seq - row - kRow.size());
  change.table = frame.substr(table, table_end - table);
  at = table_end;
  return true;
}

std::int64_t row_number(std::string_view row, std::string_view key) {
  std::size_t at = 0;
  return next_number(row, key, at).value_or(-1);
}

// The one membership change under way: whose, which list, and what it should bring.
struct Probe {
  std::atomic<std::int64_t> subscriber{-1};
  std::atomic<int> list{-1};
  std::atomic<bool> entering{true};  // inserts expected, else deletes
  std::atomic<std::int64_t> expected{0};
  std::atomic<std::int64_t> received{0};
  std::atomic<std::int64_t> done_us{0};  // when the last expected row arrived
};

struct Member {
  std::atomic<std::uint64_t> events{0};  // the writer's rows received in this phase
  std::atomic<std::uint64_t> frames{0};
  std::mutex mutex;
  std::vector<std::int64_t> latencies_us;  // rows sent inside the measured window
};

class SharedListsHandler final : public SyncSubscribers {
 public:
  SharedListsHandler(const Layout& layout, std::size_t count)
      : SyncSubscribers(count, "shared-"), m_layout(layout), m_members(count) {
    m_tokens.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
      m_tokens.push_back(testing::ServerProcess::token("u" + std::to_string(i)));
  }

  // A writer phase starts (no writer running): counts restart; rows sent before `run_from`
  // are not the writer's; latencies are kept for rows sent in [from, to).
  void start_phase(std::int64_t run_from, std::int64_t from_us, std::int64_t to_us) {
    for (auto& member : m_members) {
      member.events = 0;
      std::lock_guard lock(member.mutex);
      member.latencies_us.clear();
    }
    m_run_from = run_from;
    m_window_from = from_us;
    m_window_to = to_us;
  }

  std::uint64_t events() const { return sum(&Member::events); }
  std::uint64_t frames() const { return sum(&Member::frames); }
  std::uint64_t foreign() const { return m_foreign.load(); }
  std::uint64_t unexpected() const { return m_unexpected.load(); }
  std::vector<std::int64_t> latencies() {
    std::vector<std::int64_t> all;
    for (auto& member : m_members) {
      std::lock_guard lock(member.mutex);
      all.insert(all.end(), member.latencies_us.begin(), member.latencies_us.end());
    }
    return all;
  }

  // Subscriber `index` is about to gain (`entering`) or lose `list`, which holds `expected`
  // items. Only one probe at a time.
  void probe(std::size_t index, int list, bool entering, std::int64_t expected) {
    m_probe.subscriber = -1;
    m_probe.list = list;
    m_probe.entering = entering;
    m_probe.expected = expected;
    m_probe.received = 0;
    m_probe.done_us = 0;
    m_probe.subscriber = static_cast<std::int64_t>(index);
  }
  void clear_probe() { m_probe.subscriber = -1; }
  std::int64_t probe_done_us() const { return m_probe.done_us.load(); }
  std::int64_t probe_received() const { return m_probe.received.load(); }

 protected:
  std::string token(std::size_t index) const override { return m_tokens[index]; }

  void on_changes(std::size_t index, std::string_view frame, std::int64_t received_us) override {
    auto& member = m_members[index];
    member.frames.fetch_add(1, std::memory_order_relaxed);
    std::vector<std::int64_t> latencies;
    std::size_t at = 0;
    ChangeText change;
    while (next_change(frame, at, change)) {
      if (change.table == "items") on_item(index, change, received_us, latencies);
      if (change.table == "notes") on_note(index, change, received_us, latencies);
      // lists and list_members: the user's own memberships, not counted
    }
    if (latencies.empty()) return;
    std::lock_guard lock(member.mutex);
    member.latencies_us.insert(member.latencies_us.end(), latencies.begin(), latencies.end());
  }

 private:
  void on_note(std::size_t index, const ChangeText& change, std::int64_t received_us,
               std::vector<std::int64_t>& latencies) {
    if (row_number(change.row, R"("owner_id":"u)") != static_cast<std::int64_t>(index)) {
      ++m_foreign;
      return;
    }
    count_written(index, change, received_us, latencies);
  }

  void on_item(std::size_t index, const ChangeText& change, std::int64_t received_us,
               std::vector<std::int64_t>& latencies) {
    const auto list = static_cast<int>(row_number(change.row, R"("list_id":)"));
    if (m_probe.subscriber.load() == static_cast<std::int64_t>(index) &&
        m_probe.list.load() == list) {
      on_probed_item(change, received_us);
      return;
    }
    if (!m_layout.member(static_cast<int>(index), list)) {
      ++m_foreign;
      return;
    }
    count_written(index, change, received_us, latencies);
  }

  void on_probed_item(const ChangeText& change, std::int64_t received_us) {
    if (change.op != (m_probe.entering.load() ? "insert" : "delete")) {
      ++m_unexpected;
      return;
    }
    if (m_probe.received.fetch_add(1) + 1 == m_probe.expected.load()) m_probe.done_us = received_us;
  }

  // A row the user may read: one of the writer's inserts, or unexpected.
  void count_written(std::size_t index, const ChangeText& change, std::int64_t received_us,
                     std::vector<std::int64_t>& latencies) {
    const auto sent = row_number(change.row, R"("sent_us":)");
    if (change.op != "insert" || sent < m_run_from.load(std::memory_order_relaxed)) {
      ++m_unexpected;
      return;
    }
    m_members[index].events.fetch_add(1, std::memory_order_relaxed);
    if (sent >= m_window_from.load(std::memory_order_relaxed) &&
        sent < m_window_to.load(std::memory_order_relaxed))
      latencies.push_back(received_us - sent);
  }

  std::uint64_t sum(std::atomic<std::uint64_t> Member::*counter) const {
    std::uint64_t total = 0;
    for (const auto& member : m_members)
      total += (member.*counter).load(std::memory_order_relaxed);
    return total;
  }

  const Layout& m_layout;
  std::vector<Member> m_members;
  std::vector<std::string> m_tokens;
  std::atomic<std::int64_t> m_run_from{std::numeric_limits<std::int64_t>::max()};
  std::atomic<std::int64_t> m_window_from{0};
  std::atomic<std::int64_t> m_window_to{0};
  std::atomic<std::uint64_t> m_foreign{0};     // rows the user may not read
  std::atomic<std::uint64_t> m_unexpected{0};  // rows no phase sent it
  Probe m_probe;
};

// What the phases share: one cluster, one server, its subscribers.
struct Run {
  const CommonOptions& common;
  const SharedListsOptions& options;
  BenchCluster& cluster;
  const Layout& layout;
  BenchServer& server;
  SharedListsHandler& handler;
  std::vector<std::int64_t>& items_in_list;  // what a membership change brings
  Report& report;
};

// A phase of the writer: `sql` (a RateWriter statement with `column`) at `rate`.
struct WriterPhase {
  std::string figure;
  const char* sql;
  RateWriter::ColumnValue column;
  double rate;
  std::int64_t first_id;
};

// Runs the writer for the warm-up and the measured window, waits until every row has
// reached every reader (`expected_events(writer)` in all), and reports `figures` and what
// was measured. Non-zero when events are missing or reached a user who may not read them.
int run_writer_phase(Run& run, const WriterPhase& phase,
                     const std::function<std::uint64_t(const RateWriter&)>& expected_events,
                     nlohmann::json figures) {
  RateWriter writer(run.cluster.url(), phase.first_id, phase.sql, phase.column);
  std::atomic<bool> stop{false};
  const auto run_start = now_us();
  const auto window_from = run_start + static_cast<std::int64_t>(run.options.warmup_seconds * 1e6);
  const auto window_to = window_from + static_cast<std::int64_t>(run.options.seconds * 1e6);
  const auto foreign_before = run.handler.foreign();
  const auto unexpected_before = run.handler.unexpected();
  run.handler.start_phase(run_start, window_from, window_to);
  std::string writer_error;
  std::thread writer_thread([&] {
    try {
      writer.run(phase.rate, stop);
    } catch (const std::exception& e) {
      writer_error = e.what();
      stop = true;
    }
  });
  const auto window = measure_window(
      run.server.pid(), window_from, window_to, [&] { return run.handler.events(); },
      [&] { return run.handler.frames(); });
  const auto measured_to = now_us();
  stop = true;
  writer_thread.join();
  if (!writer_error.empty()) throw std::runtime_error(writer_error);

  const auto expected = expected_events(writer);
  const auto drained_at =
      wait_for_events([&] { return run.handler.events(); }, expected, run.options.drain_seconds);
  auto latencies = run.handler.latencies();
  const auto latency = percentiles(latencies);
  const auto commit = percentiles(writer.commit_latencies());
  const auto received = run.handler.events();
  const auto foreign = run.handler.foreign() - foreign_before;
  const auto delivered = static_cast<double>(window.events);
  figures.update(
      {{"subscribers", run.handler.size()},
       {"rate_rows_per_s", phase.rate},
       {"rows_written", writer.written()},
       {"writer_commit_p50_ms", commit.p50_ms},
       {"delivered_events_per_s", delivered / window.seconds},
       {"frames_per_s", static_cast<double>(window.frames) / window.seconds},
       {"latency_samples", latency.count},
       {"latency_p50_ms", latency.p50_ms},
       {"latency_p99_ms", latency.p99_ms},
       {"latency_max_ms", latency.max_ms},
       {"expected_events", expected},
       {"received_events", received},
       {"missing_events", received < expected ? expected - received : 0},
       {"foreign_events", foreign},
       {"unexpected_events", run.handler.unexpected() - unexpected_before},
       {"drain_s", static_cast<double>(drained_at - measured_to) / 1e6},
       {"loadgen_cpu_pct", window.loadgen_cpu_pct},
       {"server_cpu_pct", window.server_cpu_pct},
       // The server's cost per delivered event and per written row.
       {"server_us_per_event", delivered > 0 ? 1e6 * window.server_cpu_seconds / delivered : 0},
       {"server_us_per_row", 1e6 * window.server_cpu_seconds / (phase.rate * window.seconds)},
       {"server_rss_kib", window.server_memory.rss_kib}});
  run.report.add(phase.figure, std::move(figures));
  if (received < expected)
    std::cerr << "shared-lists " << phase.figure << ": " << expected - received
              << " events missing after the drain\n";
  if (foreign > 0)
    std::cerr << "shared-lists " << phase.figure << ": " << foreign
              << " rows delivered to a user who may not read them\n";
  return received < expected || foreign > 0 ? 1 : 0;
}

int run_owner_phase(Run& run, const std::string& figure, std::int64_t first_id) {
  const auto users = static_cast<std::int64_t>(run.handler.size());
  WriterPhase phase{figure, kInsertNotes,
                    [users](std::int64_t id) { return "u" + std::to_string(id % users); },
                    run.options.owner_rate, first_id};
  // Each note reaches its owner only.
  return run_writer_phase(
      run, phase,
      [](const RateWriter& writer) { return static_cast<std::uint64_t>(writer.written()); },
      {{"readers_per_row", 1}});
}

int run_shared_phase(Run& run, std::int64_t first_id) {
  const int lists = run.layout.lists();
  std::vector<std::int64_t> written_to(static_cast<std::size_t>(lists), 0);
  WriterPhase phase{"shared_lists", kInsertItems,
                    [&written_to, lists](std::int64_t id) {
                      const int list = list_of_item(id, lists);
                      ++written_to[static_cast<std::size_t>(list)];
                      return std::to_string(list);
                    },
                    run.options.shared_rate, first_id};
  // Each item reaches its list's members (read once the writer has stopped).
  auto expected = [&](const RateWriter&) {
    std::uint64_t sum = 0;
    for (int list = 0; list < lists; ++list)
      sum += static_cast<std::uint64_t>(written_to[static_cast<std::size_t>(list)] *
                                        run.layout.members(list));
    return sum;
  };
  std::int64_t members = 0;
  for (int list = 0; list < lists; ++list)
    members += run.layout.members(list);
  const int status = run_writer_phase(run, phase, expected,
                                      {{"lists", lists},
                                       {"lists_per_user", run.options.lists_per_user},
                                       {"readers_per_row", static_cast<double>(members) / lists}});
  for (int list = 0; list < lists; ++list)
    run.items_in_list[static_cast<std::size_t>(list)] += written_to[static_cast<std::size_t>(list)];
  return status;
}

// libpq statements of the membership phase, timed around their commit.
class SqlSession {
 public:
  explicit SqlSession(const std::string& conninfo) : m_conn(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(m_conn) != CONNECTION_OK)
      throw std::runtime_error(std::string("membership writer: ") + PQerrorMessage(m_conn));
  }
  ~SqlSession() { PQfinish(m_conn); }
  SqlSession(const SqlSession&) = delete;
  SqlSession& operator=(const SqlSession&) = delete;

  // Runs `sql` (autocommit); returns now_us() once it has committed.
  std::int64_t exec(const std::string& sql) {
    PGresult* result = PQexec(m_conn, sql.c_str());
    const auto committed = now_us();
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    std::string error = PQresultErrorMessage(result);
    PQclear(result);
    if (!ok) throw std::runtime_error("membership change failed: " + error);
    return committed;
  }

 private:
  PGconn* m_conn;
};

struct ChangeSamples {
  std::vector<std::int64_t> from_commit_us;
  std::vector<std::int64_t> from_send_us;
  std::vector<std::int64_t> commit_us;
  std::int64_t rows = 0;
  std::int64_t timeouts = 0;    // the rows did not all arrive in time
  std::int64_t duplicates = 0;  // more rows than the list holds
};

// One membership change of the probed user: `sql`, then wait until `expected` rows came.
void time_change(Run& run, SqlSession& session, const std::string& sql, std::int64_t expected,
                 ChangeSamples& samples) {
  const auto sent = now_us();
  const auto committed = session.exec(sql);
  const auto deadline =
      committed + static_cast<std::int64_t>(run.options.membership_timeout_s * 1e6);
  while (run.handler.probe_done_us() == 0 && now_us() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  const auto done = run.handler.probe_done_us();
  samples.rows += expected;
  samples.commit_us.push_back(committed - sent);
  if (done == 0) {
    ++samples.timeouts;
    return;
  }
  // The rows may arrive before libpq has read the commit's reply.
  samples.from_commit_us.push_back(std::max<std::int64_t>(0, done - committed));
  samples.from_send_us.push_back(done - sent);
}

void report_changes(Run& run, const std::string& figure, ChangeSamples& samples) {
  const auto from_commit = percentiles(samples.from_commit_us);
  const auto from_send = percentiles(samples.from_send_us);
  const auto commit = percentiles(samples.commit_us);
  const auto changes = static_cast<double>(samples.commit_us.size());
  run.report.add(figure, {{"subscribers", run.handler.size()},
                          {"changes", samples.commit_us.size()},
                          {"rows_per_change", changes > 0 ? samples.rows / changes : 0},
                          {"latency_p50_ms", from_commit.p50_ms},
                          {"latency_p99_ms", from_commit.p99_ms},
                          {"latency_max_ms", from_commit.max_ms},
                          {"from_send_p50_ms", from_send.p50_ms},
                          {"from_send_p99_ms", from_send.p99_ms},
                          {"from_send_max_ms", from_send.max_ms},
                          {"commit_p50_ms", commit.p50_ms},
                          {"timeouts", samples.timeouts},
                          {"duplicates", samples.duplicates}});
}

// The user and the list of membership change `n`: spread over users and lists, always a
// list the user is not in.
std::pair<int, int> probe_target(const Run& run, int n) {
  const int users = static_cast<int>(run.handler.size());
  const int user = static_cast<int>((static_cast<std::int64_t>(n) * 7919 + 13) % users);
  int list = (n * 37 + 11) % run.layout.lists();
  while (run.layout.member(user, list))
    list = (list + 1) % run.layout.lists();
  return {user, list};
}

int run_membership_phase(Run& run) {
  SqlSession session(run.cluster.url());
  ChangeSamples added;
  ChangeSamples removed;
  const auto gap =
      std::chrono::microseconds(static_cast<std::int64_t>(run.options.membership_gap_ms * 1000));
  const auto unexpected_before = run.handler.unexpected();
  const auto foreign_before = run.handler.foreign();
  const auto server_cpu_before = process_cpu_seconds(run.server.pid());
  const auto start = now_us();
  for (int n = 0; n < run.options.membership_changes; ++n) {
    const auto [user, list] = probe_target(run, n);
    const auto id = std::to_string(kProbeFirstId + n);
    const auto expected = run.items_in_list[static_cast<std::size_t>(list)];
    run.handler.probe(static_cast<std::size_t>(user), list, true, expected);
    time_change(run, session,
                "INSERT INTO list_members (id, list_id, user_id) VALUES (" + id + ", " +
                    std::to_string(list) + ", 'u" + std::to_string(user) + "')",
                expected, added);
    std::this_thread::sleep_for(gap);
    if (run.handler.probe_received() > expected) ++added.duplicates;
    run.handler.probe(static_cast<std::size_t>(user), list, false, expected);
    time_change(run, session, "DELETE FROM list_members WHERE id = " + id, expected, removed);
    std::this_thread::sleep_for(gap);
    if (run.handler.probe_received() > expected) ++removed.duplicates;
  }
  run.handler.clear_probe();
  const auto seconds = static_cast<double>(now_us() - start) / 1e6;
  const auto server_cpu = process_cpu_seconds(run.server.pid()) - server_cpu_before;
  report_changes(run, "membership_add", added);
  report_changes(run, "membership_remove", removed);
  run.report.add("membership_phase",
                 {{"seconds", seconds},
                  {"server_cpu_pct", 100 * server_cpu / seconds},
                  {"foreign_events", run.handler.foreign() - foreign_before},
                  {"unexpected_events", run.handler.unexpected() - unexpected_before}});
  const bool valid =
      added.timeouts + removed.timeouts + added.duplicates + removed.duplicates == 0 &&
      run.handler.foreign() == foreign_before;
  if (!valid) std::cerr << "shared-lists: membership changes timed out, duplicated or leaked\n";
  return valid ? 0 : 1;
}

// Connects every subscriber; false (reported) when some did not go live.
bool connect_all(WsPool& pool, BenchServer& server, SharedListsHandler& handler,
                 const std::string& figure, Report& report) {
  const auto connected = connect_subscribers(pool, server.port(), handler);
  report.add(figure, {{"subscribers", handler.size()},
                      {"ready", connected.ready},
                      {"failed", connected.failed},
                      {"connect_s", connected.seconds}});
  if (!connected.complete(handler.size())) {
    std::cerr << "shared-lists: " << connected.ready << " of " << handler.size()
              << " subscribers ready, " << connected.failed << " failed (" << connected.first_error
              << ")\n";
    return false;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // sessions go live
  return true;
}

void create_tables(BenchCluster& cluster, const Layout& layout, const SharedListsOptions& options) {
  exec_sql(cluster, kSchema);
  exec_sql(cluster, "INSERT INTO lists SELECT g, 'list ' || g FROM generate_series(0, " +
                        std::to_string(options.lists - 1) + ") g");
  exec_sql(cluster, layout.insert_memberships_sql());
  // The items a membership change moves; sent_us 0 marks them as not the writer's.
  exec_sql(cluster, "INSERT INTO items (id, list_id, sent_us) SELECT g, g % " +
                        std::to_string(options.lists) + ", 0 FROM generate_series(0, " +
                        std::to_string(options.lists * options.items_per_list - 1) + ") g");
}

// The reference: the owner column default (no rules file) on its own server.
int run_default_owner(const CommonOptions& common, const SharedListsOptions& options,
                      BenchCluster& cluster, const Layout& layout,
                      std::vector<std::int64_t>& items_in_list, Report& report) {
  BenchServer server(
      common, {"--database-url", cluster.url(), "--capture", common.capture, "--track", "notes"});
  SharedListsHandler handler(layout, static_cast<std::size_t>(options.subscribers));
  WsPool pool(common.loadgen_threads);
  if (!connect_all(pool, server, handler, "connect_default", report)) return 1;
  Run run{common, options, cluster, layout, server, handler, items_in_list, report};
  return run_owner_phase(run, "owner_default", 1);
}

int run_with_rules(const CommonOptions& common, const SharedListsOptions& options,
                   BenchCluster& cluster, const Layout& layout,
                   std::vector<std::int64_t>& items_in_list, Report& report) {
  testing::TempDir rules_dir;
  const auto cleanup = remove_on_timeout(rules_dir);
  std::ofstream(rules_dir.file("rules.toml")) << kRules;
  BenchServer server(common,
                     {"--database-url", cluster.url(), "--capture", common.capture, "--rules",
                      rules_dir.file("rules.toml"), "--track", "lists,list_members,items,notes"});
  SharedListsHandler handler(layout, static_cast<std::size_t>(options.subscribers));
  WsPool pool(common.loadgen_threads);
  if (!connect_all(pool, server, handler, "connect_rules", report)) return 1;
  Run run{common, options, cluster, layout, server, handler, items_in_list, report};
  int status = run_owner_phase(run, "owner_rules", kWriterFirstId);
  status |= run_shared_phase(run, kWriterFirstId);
  status |= run_membership_phase(run);
  return status;
}

}  // namespace

int run_shared_lists(const CommonOptions& common, const SharedListsOptions& options,
                     Report& report) {
  if (options.subscribers < 1 || options.lists_per_user < 1 ||
      options.lists <= options.lists_per_user || options.items_per_list < 1)
    throw std::runtime_error(
        "shared-lists needs subscribers >= 1, lists > lists-per-user >= 1, items-per-list >= 1");
  raise_fd_limit(static_cast<std::uint64_t>(options.subscribers) + 1024);
  Layout layout(options);
  BenchCluster cluster;
  create_tables(cluster, layout, options);
  std::vector<std::int64_t> items_in_list(static_cast<std::size_t>(options.lists),
                                          options.items_per_list);
  int status = 0;
  // Notes of the reference run start at 1, the rules run's at kWriterFirstId.
  if (options.default_owner)
    status |= run_default_owner(common, options, cluster, layout, items_in_list, report);
  status |= run_with_rules(common, options, cluster, layout, items_in_list, report);
  return status;
}

}  // namespace tandem::bench
