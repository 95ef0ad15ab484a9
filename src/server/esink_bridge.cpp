#include "server/esink_bridge.h"

#include "rules/permissions.h"

namespace tandem::server {

void EsinkBridge::on_batch(const ChangeBatchPtr& batch) {
  for (const auto& published : batch->changes)
    m_service->publish_change(published.change);
}

void EsinkBridge::on_catalog(const CatalogPtr& catalog) {
  // With a rules file, its rules (as reloaded) decide what sockets read; without one, Esink's
  // routing and FILTERS, translated.
  const auto* rules = catalog->permissions ? catalog->permissions->rule_set() : nullptr;
  std::lock_guard lock(m_mutex);
  if (catalog->version != 0 && catalog->version <= m_catalog_version) return;
  m_catalog_version = catalog->version;
  m_service->set_tables(catalog->tables, rules);
}

std::string esink_source_name(const config::Config& config, std::string_view datasource_kind) {
  if (datasource_kind == "mysql") return config.mysql.database;
  return std::string(datasource_kind);
}

}  // namespace tandem::server
