// The demo of `make run` (seed 000's example): a public `products` table and a private
// `past_orders` table (owner column from the rules), created and filled when missing.
#pragma once

#include "rules/access_rules.h"
#include "storage/sqlite/sqlite_datasource.h"

namespace tandem::server {

void install_demo(storage::SqliteDatasource& datasource, const rules::RulesOptions& rules);

}  // namespace tandem::server
