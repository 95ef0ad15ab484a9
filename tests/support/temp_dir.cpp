#include "support/temp_dir.h"

#include <unistd.h>

#include <cstdlib>
#include <random>
#include <stdexcept>

namespace tandem::testing {

TempDir::TempDir() {
  std::random_device random;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = std::filesystem::temp_directory_path() /
                     ("tandem-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    if (std::filesystem::create_directory(candidate)) {
      m_path = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  // TANDEM_KEEP_TEST_DIRS=1 leaves the files for a post-mortem of a failed run.
  if (const char* keep = std::getenv("TANDEM_KEEP_TEST_DIRS"); keep && *keep == '1') return;
  std::error_code ignored;
  std::filesystem::remove_all(m_path, ignored);
}

}  // namespace tandem::testing
