#include "common/row_size.h"

namespace tandem {

std::size_t approximate_size(const Row& row) noexcept {
  constexpr std::size_t kEntryOverhead = 64;  // a map node, a string and a variant
  std::size_t size = 0;
  for (const auto& [column, value] : row) {
    size += kEntryOverhead + column.size();
    if (value.kind() == Value::Kind::text) size += value.as_text().size();
    if (value.kind() == Value::Kind::blob) size += value.as_blob().size();
  }
  return size;
}

}  // namespace tandem
