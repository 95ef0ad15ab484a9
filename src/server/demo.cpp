#include "server/demo.h"

#include <fmt/format.h>

#include "common/identifier.h"
#include "common/logging.h"

namespace tandem::server {

void install_demo(storage::Datasource& datasource,
                  const std::function<void(const std::string&)>& execute,
                  const rules::RulesOptions& rules) {
  auto owner = quote_identifier(rules.owner_column);
  // Written as any other program would write: the capture triggers log these rows too.
  execute(fmt::format(
      "CREATE TABLE IF NOT EXISTS products("
      "  id TEXT PRIMARY KEY, name TEXT NOT NULL, price TEXT, image TEXT);"
      "CREATE TABLE IF NOT EXISTS past_orders("
      "  id TEXT PRIMARY KEY, item_name TEXT NOT NULL, price TEXT, quantity INTEGER NOT NULL "
      "  DEFAULT 1, {0} TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS past_orders_owner ON past_orders({0});",
      owner));
  for (const char* table : {"products", "past_orders"}) {
    auto tracked = datasource.track(table);
    if (!tracked) throw tracked.error();
  }
  execute(
      "INSERT INTO products(id, name, price, image) VALUES "
      "('p-espresso', 'Espresso beans 1kg', '24.00', 'espresso.jpg'),"
      "('p-grinder', 'Burr grinder', '129.00', 'grinder.jpg'),"
      "('p-kettle', 'Gooseneck kettle', '59.00', 'kettle.jpg'),"
      "('p-filter', 'Paper filters x100', '6.50', 'filters.jpg') ON CONFLICT DO NOTHING;");
  execute(
      fmt::format("INSERT INTO past_orders(id, item_name, price, quantity, {}) VALUES "
                  "('o-alice-1', 'Espresso beans 1kg', '24.00', 2, 'alice'),"
                  "('o-bob-1', 'Gooseneck kettle', '59.00', 1, 'bob') ON CONFLICT DO NOTHING;",
                  owner));
  log::info("demo tables ready", {{"public", "products"}, {"private", "past_orders"}});
}

}  // namespace tandem::server
