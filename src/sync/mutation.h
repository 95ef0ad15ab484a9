// Mutations: the unit of change that clients push and that the merge engine applies.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "common/value.h"
#include "sync/hlc.h"

namespace tandem::sync {

// The total order of writes: by clock, then by the id of the node that wrote (client ids
// are unique, and one node never reuses a clock), so that two replicas always agree which
// of two writes is later.
struct Stamp {
  Hlc hlc;
  std::string node;

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  friend auto operator<=>(const Stamp&, const Stamp&) = default;

  // "<16 hex digits>@<node>"
  std::string to_string() const;
  static std::optional<Stamp> parse(std::string_view text);
};

enum class Op { insert, update, remove };

std::string_view op_name(Op op) noexcept;  // "insert", "update", "delete"
std::optional<Op> parse_op(std::string_view name) noexcept;

struct Mutation {
  std::string table;
  Op op = Op::insert;
  Row pk;      // every primary-key column, nothing else
  Row values;  // insert: the columns it writes; update: the columns it changes; delete: empty
  Stamp stamp;
};

}  // namespace tandem::sync
