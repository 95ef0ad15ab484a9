// The demo of `make run` (seed 000's example): a public `products` table and a private
// `past_orders` table (owner column from the rules), created and filled when missing.
#pragma once

#include <functional>
#include <string>
#include "rules/access_rules.h"

#include "storage/datasource.h"

namespace tandem::server {

// `execute` runs SQL as any other program would (outside Tandem's write path); the SQL is
// valid in both SQLite and PostgreSQL.
void install_demo(storage::Datasource& datasource,
                  const std::function<void(const std::string&)>& execute,
                  const rules::RulesOptions& rules);

}  // namespace tandem::server
