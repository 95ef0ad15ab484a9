#include "storage/hard_reset.h"

#include "common/logging.h"

namespace tandem::storage {

HardResetReport log_table_in_chunks(
    const TableSchema& table, std::uint64_t total,
    const std::function<SnapshotPage(const SnapshotRequest&)>& read_page,
    const std::function<void(std::vector<Row>& rows)>& log_rows,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  if (progress) progress(0, total);
  std::uint64_t done = 0;
  SnapshotRequest request;
  request.table = &table;
  request.limit = kHardResetChunkRows;
  for (;;) {
    auto page = read_page(request);
    if (!page.rows.empty()) {
      request.after_key = table.key_of(page.rows.back());
      done += page.rows.size();
      log_rows(page.rows);
      if (progress) progress(done, std::max(done, total));
    }
    if (page.done) break;
  }
  log::info("hard reset", {{"table", table.name}, {"rows", done}});
  return HardResetReport{done};
}

}  // namespace tandem::storage
