// Opens the datasource the configuration names (embedded SQLite by default, PostgreSQL for a
// postgres:// URL), installs the demo when asked and tracks the configured tables.
#pragma once

#include <memory>

#include "config/config.h"
#include "storage/datasource.h"
#include "sync/hlc.h"

namespace tandem::server {

std::unique_ptr<storage::Datasource> open_datasource(const config::Config& config,
                                                     sync::HlcClock& clock);

}  // namespace tandem::server
