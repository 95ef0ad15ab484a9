// Esink's event and session ids: random (version 4) UUIDs.
#pragma once

#include <string>

namespace tandem::compat::esink {

// Thread-safe; from a per-thread generator seeded by the operating system.
std::string new_uuid();

}  // namespace tandem::compat::esink
