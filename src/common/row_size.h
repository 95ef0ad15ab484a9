// Byte sizes of rows in memory, for the byte bounds on buffers of rows.
#pragma once

#include <cstddef>

#include "common/value.h"

namespace tandem {

// Roughly how many bytes a row holds in memory: names, values and per-entry overhead.
std::size_t approximate_size(const Row& row) noexcept;

}  // namespace tandem
