#include "sync/mutation.h"

namespace tandem::sync {

std::string Stamp::to_string() const {
  return hlc.to_string() + "@" + node;
}

std::optional<Stamp> Stamp::parse(std::string_view text) {
  auto at = text.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  auto hlc = Hlc::parse(text.substr(0, at));
  if (!hlc) return std::nullopt;
  return Stamp{*hlc, std::string(text.substr(at + 1))};
}

std::string_view op_name(Op op) noexcept {
  switch (op) {
    case Op::insert:
      return "insert";
    case Op::update:
      return "update";
    case Op::remove:
      return "delete";
  }
  return "insert";
}

std::optional<Op> parse_op(std::string_view name) noexcept {
  if (name == "insert") return Op::insert;
  if (name == "update") return Op::update;
  if (name == "delete") return Op::remove;
  return std::nullopt;
}

}  // namespace tandem::sync
