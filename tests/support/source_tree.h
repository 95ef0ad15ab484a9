// Where the project's sources are, for tests that read files of the tree (docs, JS tests,
// C programs). Only source_tree.cpp is compiled with the path, so that the other test files
// compile the same in every clone (and ccache shares them).
#pragma once

#include <filesystem>

namespace tandem::testing {

const std::filesystem::path& source_tree();

}  // namespace tandem::testing
