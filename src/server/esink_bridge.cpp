#include "server/esink_bridge.h"

namespace tandem::server {

void EsinkBridge::on_batch(const ChangeBatchPtr& batch) {
  for (const auto& published : batch->changes)
    m_service->publish_change(published.change);
}

void EsinkBridge::on_catalog(const CatalogPtr& catalog) {
  m_service->set_tables(catalog->tables);
}

std::string esink_source_name(const config::Config& config, std::string_view datasource_kind) {
  if (datasource_kind == "mysql") return config.mysql.database;
  return std::string(datasource_kind);
}

}  // namespace tandem::server
