#include "support/sync_test_client.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "sync/hlc.h"

namespace tandem::testing {

SyncTestClient::SyncTestClient(std::uint16_t port, std::string token, std::string client_id)
    : m_token(std::move(token)), m_client_id(std::move(client_id)) {
  m_socket.connect("127.0.0.1", port, "/sync");
}

SyncTestClient::Json SyncTestClient::hello(std::optional<Json> checkpoint_override) {
  Json hello = {{"type", "hello"},
                {"protocol", 1},
                {"token", m_token},
                {"client_id", m_client_id},
                {"checkpoint", checkpoint_override ? *checkpoint_override : m_checkpoint}};
  m_socket.send_text(hello.dump());
  auto reply = receive(std::chrono::seconds(10));
  if (!reply) throw std::runtime_error("no answer to hello");
  return *reply;
}

std::optional<SyncTestClient::Json> SyncTestClient::receive(std::chrono::milliseconds timeout) {
  auto text = m_socket.receive(timeout);
  if (!text) return std::nullopt;
  auto message = Json::parse(*text);
  // TANDEM_TEST_TRACE=1 prints every message a test client receives.
  static const bool trace = std::getenv("TANDEM_TEST_TRACE") != nullptr;
  if (trace)
    std::fprintf(stderr, "[%s] <- %s\n", m_client_id.c_str(), text->substr(0, 400).c_str());
  apply(message);
  return message;
}

static std::string key_of(const nlohmann::json& pk) {
  return pk.dump();
}

void SyncTestClient::apply(const Json& message) {
  const auto& type = message.at("type");
  if (type == "welcome") {
    m_welcome = message;
    // snapshot_begin follows a moment later; the snapshot is under way from now on.
    m_in_snapshot = message.value("snapshot", false);
  } else if (type == "snapshot_begin") {
    m_in_snapshot = true;
    m_snapshot_begin = message;
  } else if (type == "snapshot_rows") {
    auto& table = m_replica[message.at("table").get<std::string>()];
    for (const auto& row : message.at("rows")) {
      // The tests' tables have one key column called "id".
      table[key_of(Json{{"id", row.at("id")}})] = row;
    }
    m_checkpoint = message.at("checkpoint");
  } else if (type == "snapshot_end") {
    m_in_snapshot = false;
    m_checkpoint = message.at("checkpoint");
  } else if (type == "changes") {
    for (const auto& change : message.at("changes")) {
      m_events.push_back("change " + change.at("table").get<std::string>());
      m_changes.push_back(change);
      auto& table = m_replica[change.at("table").get<std::string>()];
      auto key = key_of(change.at("pk"));
      if (change.at("op") == "delete") {
        table.erase(key);
      } else {
        table[key] = change.at("row");
      }
      ++m_changes_received;
    }
    m_checkpoint = message.at("checkpoint");
  } else if (type == "schema") {
    m_schemas.push_back(message);
    m_events.push_back("schema");
  } else if (type == "error") {
    m_errors.push_back(message);
  } else if (type == "ack") {
    m_acks.push_back(message);
  } else if (type == "pong") {
    ++m_pongs;
  }
}

bool SyncTestClient::sync_until(std::optional<std::uint64_t> seq,
                                std::chrono::milliseconds timeout) {
  std::uint64_t target = seq ? *seq : m_welcome.value("server_seq", std::uint64_t{0});
  return wait_for([&] { return !m_in_snapshot && !m_checkpoint.is_null() && cursor() >= target; },
                  timeout);
}

bool SyncTestClient::wait_for(const std::function<bool()>& predicate,
                              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    receive(left);
  }
  return true;
}

bool SyncTestClient::ping(std::chrono::milliseconds timeout) {
  auto before = m_pongs;
  m_socket.send_text(R"({"type":"ping"})");
  return wait_for([&] { return m_pongs > before; }, timeout);
}

std::uint64_t SyncTestClient::cursor() const {
  return m_checkpoint.is_null() ? 0 : m_checkpoint.at("seq").get<std::uint64_t>();
}

std::string SyncTestClient::next_hlc() {
  auto now = sync::Hlc::from_parts(sync::HlcClock::system_millis(), 0).raw();
  m_last_hlc = std::max(now, m_last_hlc + 1);
  return sync::Hlc(m_last_hlc).to_string();
}

SyncTestClient::Json SyncTestClient::push(std::vector<Json> mutations,
                                          std::chrono::milliseconds timeout) {
  Json array = Json::array();
  for (auto& mutation : mutations) {
    mutation["client_seq"] = m_next_seq++;
    if (!mutation.contains("hlc")) mutation["hlc"] = next_hlc();
    array.push_back(std::move(mutation));
  }
  return push_raw(Json{{"type", "push"}, {"mutations", std::move(array)}}, timeout);
}

SyncTestClient::Json SyncTestClient::push_raw(Json push_message,
                                              std::chrono::milliseconds timeout) {
  auto acks = m_acks.size();
  auto errors = m_errors.size();
  m_socket.send_text(push_message.dump());
  if (!wait_for([&] { return m_acks.size() > acks || m_errors.size() > errors; }, timeout)) {
    throw std::runtime_error("no ack for a push");
  }
  return m_acks.size() > acks ? m_acks.back() : m_errors.back();
}

SyncTestClient::Json SyncTestClient::insert(const std::string& table, Json pk, Json values) {
  return Json{
      {"table", table}, {"op", "insert"}, {"pk", std::move(pk)}, {"values", std::move(values)}};
}
SyncTestClient::Json SyncTestClient::update(const std::string& table, Json pk, Json values) {
  return Json{
      {"table", table}, {"op", "update"}, {"pk", std::move(pk)}, {"values", std::move(values)}};
}
SyncTestClient::Json SyncTestClient::remove(const std::string& table, Json pk) {
  return Json{{"table", table}, {"op", "delete"}, {"pk", std::move(pk)}};
}

std::size_t SyncTestClient::rows(const std::string& table) const {
  auto it = m_replica.find(table);
  return it == m_replica.end() ? 0 : it->second.size();
}

const SyncTestClient::Json* SyncTestClient::row(const std::string& table, const Json& pk) const {
  auto it = m_replica.find(table);
  if (it == m_replica.end()) return nullptr;
  auto found = it->second.find(key_of(pk));
  return found == it->second.end() ? nullptr : &found->second;
}

}  // namespace tandem::testing
