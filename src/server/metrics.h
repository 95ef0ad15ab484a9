// Process-wide counters, exposed at GET /metrics in the Prometheus text format.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace tandem::server {

struct Metrics {
  std::atomic<std::uint64_t> sessions_started{0};
  std::atomic<std::int64_t> sessions_active{0};
  std::atomic<std::uint64_t> auth_failures{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::atomic<std::uint64_t> frames_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> changes_delivered{0};
  std::atomic<std::uint64_t> snapshot_rows_sent{0};
  std::atomic<std::uint64_t> mutations_received{0};
  std::atomic<std::uint64_t> mutations_rejected{0};
  std::atomic<std::uint64_t> pushes_acked{0};

  std::string render_prometheus(std::uint64_t head_seq, std::uint64_t published_seq) const;
};

}  // namespace tandem::server
