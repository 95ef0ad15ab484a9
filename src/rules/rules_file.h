// Reading a rules file (TOML, docs/permissions.md) into a RuleSet. Every mistake is refused
// with config_invalid and the place it was found ("tables.items.user.select.filter.owner_id:
// unknown operator _like"), never guessed at: a rule that does not say what its author meant
// must not silently grant or hide rows.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "rules/permission_rules.h"

namespace tandem::rules {

// `source` names the text in messages (a file path).
Result<RuleSet> parse_rules(std::string_view toml_text, std::string_view source = "rules");
Result<RuleSet> read_rules_file(const std::string& path);

}  // namespace tandem::rules
