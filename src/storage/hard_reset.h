// Hard reset (Datasource::hard_reset): a table's existing rows logged as inserts at the
// zero stamp, so that rows that existed before tracking reach clients and lose against every
// real write under the merge rule.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "storage/datasource.h"

namespace tandem::storage {

// Rows per chunk: each chunk is one writer transaction, so that pushes interleave.
inline constexpr std::size_t kHardResetChunkRows = 1000;

// The reset of a datasource whose reads and writes use separate connections: reads the
// table in key order, a chunk at a time, through `read_page` (the datasource's snapshot
// read), and hands each chunk to `log_rows`, which appends it to the log in one writer
// transaction. `progress(done, total)` follows each chunk. Runs on the caller's thread
// (an admin job's).
HardResetReport log_table_in_chunks(
    const TableSchema& table, std::uint64_t total,
    const std::function<SnapshotPage(const SnapshotRequest&)>& read_page,
    const std::function<void(std::vector<Row>& rows)>& log_rows,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress);

}  // namespace tandem::storage
