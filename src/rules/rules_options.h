// The rules' settings: plain settings, read by config without linking rules.
#pragma once

#include <string>

namespace tandem::rules {

struct RulesOptions {
  std::string owner_column = "owner_id";
};

}  // namespace tandem::rules
