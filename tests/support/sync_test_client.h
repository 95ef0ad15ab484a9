// A protocol-level client for end-to-end tests: speaks sync protocol v1 over a real
// WebSocket, keeps a replica of what it received (table -> primary key -> row) and its
// checkpoint, so that tests can state what a user sees.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/ws_client.h"

namespace tandem::testing {

class SyncTestClient {
 public:
  using Json = nlohmann::json;
  using Replica = std::map<std::string, std::map<std::string, Json>>;  // table -> key -> row

  SyncTestClient(std::uint16_t port, std::string token, std::string client_id);

  // Sends hello with the current checkpoint (none for a new client); returns the welcome
  // or the error message the server answered with.
  Json hello(std::optional<Json> checkpoint_override = std::nullopt);
  // Reads messages, applying them, until the snapshot (if any) is done and the client has
  // caught up to at least `seq` (default: the welcome's server_seq). False on timeout.
  bool sync_until(std::optional<std::uint64_t> seq = std::nullopt,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads and applies messages for a while (or until `predicate` holds).
  bool wait_for(const std::function<bool()>& predicate,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Sends a push of mutations (JSON objects without client_seq: it is assigned) and waits
  // for its ack; returns the ack (or the error message).
  Json push(std::vector<Json> mutations,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends a raw push (client_seq included) and returns the next ack or error.
  Json push_raw(Json push_message, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::optional<Json> receive(std::chrono::milliseconds timeout);
  void send_raw(const std::string& text) { m_socket.send_text(text); }
  WsClient& socket() { return m_socket; }

  static Json insert(const std::string& table, Json pk, Json values);
  static Json update(const std::string& table, Json pk, Json values);
  static Json remove(const std::string& table, Json pk);

  const Replica& replica() const { return m_replica; }
  std::size_t rows(const std::string& table) const;
  const Json* row(const std::string& table, const Json& pk) const;
  const Json& checkpoint() const { return m_checkpoint; }
  void set_checkpoint(Json checkpoint) { m_checkpoint = std::move(checkpoint); }
  std::uint64_t cursor() const;
  const std::vector<Json>& errors() const { return m_errors; }
  std::size_t changes_received() const { return m_changes_received; }
  std::size_t pongs() const { return m_pongs; }
  // Sends a ping and waits for its pong.
  bool ping(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  const Json& welcome() const { return m_welcome; }
  const Json& snapshot_begin() const { return m_snapshot_begin; }
  // Every `schema` message received, in order.
  const std::vector<Json>& schemas() const { return m_schemas; }
  // What arrived, in order: "schema", or "change <table>" for each change.
  const std::vector<std::string>& events() const { return m_events; }
  // Every change received, in order.
  const std::vector<Json>& changes() const { return m_changes; }

 private:
  void apply(const Json& message);
  std::string next_hlc();

  WsClient m_socket;
  std::string m_token;
  std::string m_client_id;
  Replica m_replica;
  Json m_checkpoint;  // null until the first checkpoint
  Json m_welcome;
  Json m_snapshot_begin;
  bool m_in_snapshot = false;
  std::vector<Json> m_errors;
  std::vector<Json> m_schemas;
  std::vector<std::string> m_events;
  std::vector<Json> m_changes;
  std::vector<Json> m_acks;
  std::uint64_t m_next_seq = 1;
  std::uint64_t m_last_hlc = 0;
  std::size_t m_changes_received = 0;
  std::size_t m_pongs = 0;
};

}  // namespace tandem::testing
