// Zero-configuration auth for development: when no key is configured, a random HS256 secret
// is created once in the data directory (mode 0600) and reused, so that `tandem serve` and
// `tandem token` agree without any set-up. Production deployments configure a key.
#pragma once

#include "config/config.h"

namespace tandem::server {

// Fills config.jwt.hs256_secret from <data_dir>/jwt-secret (creating it) when no key source
// is configured. Returns true when it did. Throws Error(config_invalid) if the file cannot be
// read or written.
bool use_development_secret(config::Config& config);

}  // namespace tandem::server
