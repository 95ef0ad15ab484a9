#include "cli/client_command.h"

#include <fmt/format.h>

#include <signal.h>
#include <unistd.h>
#include <atomic>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "client/client.h"
#include "common/value_json.h"

namespace tandem::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::string progress_line(const client::SyncStatus& status, double seconds) {
  // Over too short a time the rate says nothing yet.
  double rate = seconds >= 0.5 ? static_cast<double>(status.snapshot_rows) / seconds : 0;
  if (status.snapshot_rows_total && *status.snapshot_rows_total > 0) {
    auto total = *status.snapshot_rows_total;
    double fraction =
        std::min(1.0, static_cast<double>(status.snapshot_rows) / static_cast<double>(total));
    int filled = static_cast<int>(fraction * 30);
    return fmt::format("\rinitial sync [{}{}] {}/{} rows  {:.0f} rows/s", std::string(filled, '#'),
                       std::string(30 - filled, '.'), status.snapshot_rows, total, rate);
  }
  return fmt::format("\rinitial sync {} rows  {:.0f} rows/s", status.snapshot_rows, rate);
}

std::string_view state_name(client::SyncState state) {
  switch (state) {
    case client::SyncState::stopped:
      return "stopped";
    case client::SyncState::connecting:
      return "connecting";
    case client::SyncState::syncing:
      return "syncing";
    case client::SyncState::live:
      return "live";
    case client::SyncState::backoff:
      return "reconnecting";
    case client::SyncState::failed:
      return "failed";
  }
  return "?";
}

std::string cell(const Value& value) {
  if (value.is_null()) return "NULL";
  if (value.kind() == Value::Kind::text) return value.as_text();
  return to_json(value).dump();
}

}  // namespace

ClientCommand::ClientCommand(CLI::App& app) {
  m_command = app.add_subcommand("client", "sync a local SQLite replica with a Tandem server");
  m_command->add_option("--url", m_url, "server URL, e.g. ws://localhost:8080/sync");
  m_command->add_option("--token", m_token, "JWT of the user to sync as")->envname("TANDEM_TOKEN");
  m_command->add_option("--db", m_db, "the local replica (SQLite file; created if missing)");
  m_command->add_flag("-q,--quiet", m_quiet, "do not print each change");
  m_command->require_subcommand(0, 1);
  m_exec = m_command->add_subcommand("exec", "run one read-only SQL statement on a replica");
  m_exec->add_option("--db", m_exec_db, "the local replica")->required()->check(CLI::ExistingFile);
  m_exec->add_option("sql", m_sql, "the SQL statement")->required();
}

int ClientCommand::run() {
  if (m_exec->parsed()) return exec();
  if (m_url.empty() || m_token.empty() || m_db.empty()) {
    throw Error(ErrorCode::bad_request, "tandem client needs --url, --token and --db");
  }
  return sync();
}

int ClientCommand::sync() {
  // The signals are taken by this thread (sigtimedwait), so they are blocked before the sync
  // thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  client::Client replica(m_db);
  // Rows of the initial sync show as the progress bar, not one line each.
  std::atomic<bool> initial_sync{true};
  if (!m_quiet) {
    replica.add_listener([&initial_sync](const client::ChangeEvent& event) {
      if (initial_sync && event.origin != client::Origin::local) return;
      std::cout << fmt::format("{} {} {}{}\n", sync::op_name(event.op), event.table,
                               to_json(event.pk).dump(),
                               event.origin == client::Origin::local ? " (local)" : "");
      std::cout.flush();
    });
  }
  replica.set_error_handler([](const client::Client::ErrorReport& report) {
    std::cerr << fmt::format("\n{}: {}{}\n", error_code_name(report.code), report.message,
                             report.table ? fmt::format(" ({} {})", *report.table,
                                                        to_json(report.pk.value_or(Row{})).dump())
                                          : "");
  });
  client::SyncOptions options;
  options.url = m_url;
  options.token = m_token;
  if (auto started = replica.start_sync(options); !started) throw started.error();
  std::cerr << fmt::format("replica {} (client id {}) syncing with {}\n", m_db, replica.client_id(),
                           m_url);

  bool was_in_snapshot = false;
  auto snapshot_start = Clock::now();
  client::SyncState last_state = client::SyncState::stopped;
  const timespec tick{0, 200'000'000};
  while (true) {
    if (sigtimedwait(&signals, nullptr, &tick) > 0) break;
    auto status = replica.status();
    if (status.in_snapshot && !was_in_snapshot) snapshot_start = Clock::now();
    if (status.in_snapshot) {
      std::chrono::duration<double> elapsed = Clock::now() - snapshot_start;
      std::cerr << progress_line(status, elapsed.count()) << std::flush;
    } else if (was_in_snapshot) {
      std::chrono::duration<double> elapsed = Clock::now() - snapshot_start;
      std::cerr << progress_line(status, elapsed.count())
                << fmt::format("  done in {:.1f} s\n", elapsed.count());
    }
    was_in_snapshot = status.in_snapshot;
    if (status.state == client::SyncState::live) initial_sync = false;
    if (status.state != last_state) {
      // Below the progress line, which stays where it is.
      std::cerr << fmt::format("{}{} (checkpoint {}, {} pending uploads)\n",
                               status.in_snapshot ? "\n" : "", state_name(status.state),
                               status.checkpoint_seq.value_or(0), status.pending_uploads);
      last_state = status.state;
    }
  }
  std::cerr << "stopping\n";
  replica.stop_sync();
  return 0;
}

int ClientCommand::exec() {
  client::Client replica(m_exec_db);
  bool header = false;
  auto status = replica.query(m_sql, {}, [&](const auto& names, const auto& row) {
    if (!header) {
      std::cout << fmt::format("{}\n", fmt::join(names, "\t"));
      header = true;
    }
    std::vector<std::string> cells;
    cells.reserve(row.size());
    for (const auto& value : row)
      cells.push_back(cell(value));
    std::cout << fmt::format("{}\n", fmt::join(cells, "\t"));
    return true;
  });
  if (!status) throw status.error();
  return 0;
}

}  // namespace tandem::cli
