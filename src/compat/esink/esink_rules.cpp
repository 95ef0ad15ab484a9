#include "compat/esink/esink_rules.h"

#include "compat/esink/esink_json.h"

namespace tandem::compat::esink {

EsinkRules::EsinkRules(std::map<std::string, config::EsinkRoute> routing,
                       std::map<std::string, std::vector<std::string>> filters)
    : m_routing(routing.begin(), routing.end()), m_filters(filters.begin(), filters.end()) {}

bool EsinkRules::routed(std::string_view table) const {
  return m_routing.find(table) != m_routing.end();
}

Recipients EsinkRules::recipients(std::string_view table, const nlohmann::json& data) const {
  Recipients recipients;
  const auto route = m_routing.find(table);
  if (route == m_routing.end() || !data.is_object()) return recipients;
  if (route->second.everyone) {
    recipients.everyone = true;
    return recipients;
  }
  for (const auto& column : route->second.columns) {
    const auto value = data.find(column);
    if (value == data.end()) continue;
    auto key = routing_key(*value);
    if (!key.empty()) recipients.users.push_back(std::move(key));
  }
  return recipients;
}

void EsinkRules::filter(std::string_view table, nlohmann::json& data) const {
  const auto hidden = m_filters.find(table);
  if (hidden == m_filters.end() || !data.is_object()) return;
  for (const auto& column : hidden->second)
    data.erase(column);
}

}  // namespace tandem::compat::esink
