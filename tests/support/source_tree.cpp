#include "support/source_tree.h"

namespace tandem::testing {

const std::filesystem::path& source_tree() {
  static const std::filesystem::path path(TANDEM_SOURCE_DIR);
  return path;
}

}  // namespace tandem::testing
