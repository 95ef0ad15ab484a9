// From a rule's filter to one reader's RowFilter: claims replaced by the reader's values
// (each converted to its column's kind, as owner_value converts a user id), memberships by
// their tables. What every path then evaluates or compiles (common/row_filter.h).
#pragma once

#include <functional>
#include <string_view>

#include "auth/token.h"
#include "common/result.h"
#include "common/row_filter.h"
#include "common/table_schema.h"
#include "rules/permission_rules.h"

namespace tandem::rules {

// The schema of a table by name, or nullptr when it is not tracked.
using SchemaLookup = std::function<const TableSchema*(std::string_view table)>;

// The filter as `reader` sees rows of `table`. Refused (invalid_identifier) when the filter
// names a column `table` does not have, or a membership table or column that is not tracked:
// a filter that cannot mean what it says must hide rows, not show them (the caller denies).
// A claim the token does not carry reads as NULL, so comparisons with it never pass.
Result<RowFilter> resolve_filter(const FilterExpr& filter, const RuleSet& rules,
                                 const auth::Claims& reader, const TableSchema& table,
                                 const SchemaLookup& schema_of);

// The reader's claim of that name: `sub` is always the subject, any other comes from the
// token's claims; nullopt when the token does not carry it.
std::optional<auth::ClaimValue> find_claim(const auth::Claims& reader, std::string_view name);

// The value of `operand` for `reader`, converted for a column of `type`; NULL when the
// claim is absent, a list, or cannot be held by the column.
Value resolve_operand(const Operand& operand, const auth::Claims& reader, ColumnType type);

// A claim's or a constant's value as a column of `type` holds it: text that is an integer's
// canonical decimal form becomes that integer for an integer column, an integer becomes its
// decimal text for a text column, a uuid column takes only canonical uuid text, a decimal
// (numeric) column only text, as its values read back ("7.50"); anything the
// column cannot hold is NULL (it equals no row's value).
Value value_for_column(const Value& value, ColumnType type);

}  // namespace tandem::rules
