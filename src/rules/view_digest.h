// What a reader's view of the data depends on in a rules file, as a short digest: their role's
// select permissions (filters, columns, the memberships they read) with every claim the
// filters read replaced by the reader's value. Two readers, or one reader before and after a
// rules reload or with a new token, get the same digest exactly when the rules choose the same
// rows and columns for them.
//
// A replica records the digest under which its rows were chosen (docs/protocol.md,
// "Checkpoints"); a session whose digest differs resends everything (a reset snapshot), so a
// replica never keeps a row its user may no longer read after the rules changed.
// Pure functions: thread-safe.
#pragma once

#include <string>

#include "auth/token.h"
#include "rules/permission_rules.h"

namespace tandem::rules {

// 16 hex digits of a SHA-256 over the reader's part of `rules`.
std::string view_digest(const RuleSet& rules, const auth::Claims& reader);

// 16 hex digits of a SHA-256 over the whole rule set: what the admin API shows as the rules'
// version (equal rule sets, however written, have equal versions).
std::string rules_digest(const RuleSet& rules);

}  // namespace tandem::rules
