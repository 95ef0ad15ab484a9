#include "storage/datasource.h"

namespace tandem::storage {

std::vector<sync::Change> Datasource::read_changes(std::uint64_t after_seq, std::size_t limit) {
  auto head = head_seq();
  if (head <= after_seq) return {};
  auto changes = read_log(after_seq, head, limit);
  LogHead::drop_unpublished(changes, head);
  return changes;
}

std::uint64_t Datasource::wait_for_changes(std::uint64_t after_seq,
                                           std::chrono::milliseconds timeout) {
  return m_head.wait_after(after_seq, std::chrono::steady_clock::now() + timeout);
}

DatasourceHealth Datasource::health() {
  DatasourceHealth report;
  report.head_seq = head_seq();
  report.tracked_tables = tables().size();
  try {
    report.detail = probe_and_describe();
    report.oldest_seq = horizon_seq() + 1;
    report.reachable = true;
  } catch (const Error& error) {
    report.detail = std::string(error.message());
  }
  return report;
}

}  // namespace tandem::storage
