#include "loadgen/sync_subscribers.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "loadgen/measure.h"
#include "loadgen/scenarios.h"

namespace tandem::bench {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kChangesPrefix = R"({"type":"changes")";

}  // namespace

SyncSubscribers::SyncSubscribers(std::size_t count, std::string client_prefix)
    : m_sessions(count), m_client_prefix(std::move(client_prefix)) {}

std::string SyncSubscribers::error(std::size_t index) {
  std::lock_guard lock(m_mutex);
  return m_sessions[index].error;
}

std::optional<std::uint64_t> SyncSubscribers::server_seq() {
  std::lock_guard lock(m_mutex);
  return m_server_seq;
}

void SyncSubscribers::on_open(WsConnection& connection) {
  Json hello = {{"type", "hello"},
                {"protocol", 1},
                {"token", token(connection.index())},
                {"client_id", m_client_prefix + std::to_string(connection.index())},
                {"checkpoint", Json::parse(m_checkpoint)}};
  connection.send(hello.dump());
}

void SyncSubscribers::on_message(WsConnection& connection, std::string_view text,
                                 std::int64_t received_us) {
  if (text.starts_with(kChangesPrefix)) return on_changes(connection.index(), text, received_us);
  on_control(m_sessions[connection.index()], text);
}

void SyncSubscribers::on_control(Session& session, std::string_view text) {
  auto message = Json::parse(text, nullptr, false);
  if (message.is_discarded()) return;
  auto type = message.value("type", std::string());
  if (type == "welcome") {
    {
      std::lock_guard lock(m_mutex);
      if (!m_server_seq) m_server_seq = message.value("server_seq", std::uint64_t{0});
    }
    session.state = message.value("snapshot", false) ? snapshot : ready;
  } else if (type == "snapshot_end") {
    session.state = ready;
  } else if (type == "error") {
    std::lock_guard lock(m_mutex);
    session.error = message.dump();
    session.state = failed;
  }
}

void SyncSubscribers::on_close(WsConnection& connection, const std::string& error) {
  auto& session = m_sessions[connection.index()];
  std::lock_guard lock(m_mutex);
  if (session.error.empty()) session.error = error;
  session.state = failed;
}

ConnectOutcome connect_subscribers(WsPool& pool, std::uint16_t port, SyncSubscribers& subscribers,
                                   std::size_t in_flight, std::chrono::seconds timeout) {
  pool.connect(0, source_address(0), port, subscribers);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (subscribers.state(0) != SyncSubscribers::ready) {
    if (subscribers.state(0) < 0 || std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("first subscriber failed: " + subscribers.error(0));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  subscribers.set_checkpoint(Json{{"seq", *subscribers.server_seq()}}.dump());
  ConnectOutcome outcome;
  const auto start = now_us();
  std::size_t launched = 1;
  outcome.ready = 1;
  deadline = std::chrono::steady_clock::now() + timeout;
  while (outcome.ready + outcome.failed < subscribers.size()) {
    outcome.ready = 0;
    outcome.failed = 0;
    for (std::size_t i = 0; i < launched; ++i) {
      auto state = subscribers.state(i);
      outcome.ready += state == SyncSubscribers::ready;
      outcome.failed += state == SyncSubscribers::failed;
    }
    while (launched < subscribers.size() && launched - outcome.ready - outcome.failed < in_flight) {
      pool.connect(launched, source_address(launched), port, subscribers);
      ++launched;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  outcome.seconds = static_cast<double>(now_us() - start) / 1e6;
  for (std::size_t i = 0; i < subscribers.size() && outcome.failed > 0; ++i) {
    outcome.first_error = subscribers.error(i);
    if (!outcome.first_error.empty()) break;
  }
  return outcome;
}

std::int64_t wait_for_events(const std::function<std::uint64_t()>& received, std::uint64_t expected,
                             double max_seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long>(max_seconds * 1000));
  auto last_progress = std::chrono::steady_clock::now();
  for (auto seen = received(); seen < expected;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline || now - last_progress > std::chrono::seconds(15)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (auto current = received(); current != seen) {
      seen = current;
      last_progress = std::chrono::steady_clock::now();
    }
  }
  return now_us();
}

std::optional<std::int64_t> next_number(std::string_view text, std::string_view key,
                                        std::size_t& at) {
  at = text.find(key, at);
  if (at == std::string_view::npos) return std::nullopt;
  at += key.size();
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data() + at, text.data() + text.size(), value);
  if (ec != std::errc()) return std::nullopt;
  at = static_cast<std::size_t>(end - text.data());
  return value;
}

}  // namespace tandem::bench
