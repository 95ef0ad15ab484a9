#include "server/metrics.h"

#include <fmt/format.h>

namespace tandem::server {

std::string Metrics::render_prometheus(std::uint64_t head_seq, std::uint64_t published_seq) const {
  std::string out;
  auto add = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  add("tandem_sessions_started_total", "counter", "Sync sessions opened.", sessions_started.load());
  add("tandem_sessions_active", "gauge", "Sync sessions open now.", sessions_active.load());
  add("tandem_auth_failures_total", "counter", "Hellos refused for their token.",
      auth_failures.load());
  add("tandem_protocol_errors_total", "counter", "Protocol errors sent to clients.",
      protocol_errors.load());
  add("tandem_frames_sent_total", "counter", "WebSocket messages sent by sync sessions.",
      frames_sent.load());
  add("tandem_bytes_sent_total", "counter", "Bytes sent by sync sessions.", bytes_sent.load());
  add("tandem_changes_delivered_total", "counter", "Changes delivered to clients.",
      changes_delivered.load());
  add("tandem_snapshot_rows_sent_total", "counter", "Snapshot rows sent.",
      snapshot_rows_sent.load());
  add("tandem_mutations_received_total", "counter", "Mutations pushed by clients.",
      mutations_received.load());
  add("tandem_mutations_rejected_total", "counter", "Mutations refused.",
      mutations_rejected.load());
  add("tandem_pushes_acked_total", "counter", "Push messages acknowledged.", pushes_acked.load());
  add("tandem_change_log_head_seq", "gauge", "Newest readable change-log position.", head_seq);
  add("tandem_change_log_published_seq", "gauge", "Newest position handed to sessions.",
      published_seq);
  return out;
}

}  // namespace tandem::server
