// Esink's two variables as they read: TABLE_AUTH_COLUMN_ROUTING (whose sockets a table's
// changes are offered to) and FILTERS (columns nobody receives). What a socket receives is
// decided by the permission engine (esink_permissions.h): these only find the candidates and
// filter payloads of tables the engine has no schema for. Immutable; thread-safe.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace tandem::compat::esink {

struct Recipients {
  bool everyone = false;
  // One entry per routing column whose value names a user: a user named by two columns is
  // listed twice and receives two events, as in Esink.
  std::vector<std::string> users;

  bool empty() const { return !everyone && users.empty(); }
};

class EsinkRules {
 public:
  EsinkRules(std::map<std::string, config::EsinkRoute> routing,
             std::map<std::string, std::vector<std::string>> filters);

  // Whether the table has a route at all: a table without one is delivered to nobody.
  bool routed(std::string_view table) const;
  // Decided on the whole row, before filtering: a filtered routing column still routes
  // (Esink filters first and then routes nowhere).
  Recipients recipients(std::string_view table, const nlohmann::json& data) const;
  // Removes the table's FILTERS columns from `data` (an object; anything else is left).
  void filter(std::string_view table, nlohmann::json& data) const;

 private:
  std::map<std::string, config::EsinkRoute, std::less<>> m_routing;
  std::map<std::string, std::vector<std::string>, std::less<>> m_filters;
};

}  // namespace tandem::compat::esink
