// Result<T>: a value or an Error, for failures that are a normal outcome of input.
// (C++20 has no std::expected; this is the small subset Tandem needs.)
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "common/error.h"

namespace tandem {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_state(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : m_state(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return std::holds_alternative<T>(m_state); }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return get_or_throw(); }
  const T& value() const& { return const_cast<Result*>(this)->get_or_throw(); }
  T&& value() && { return std::move(get_or_throw()); }
  T* operator->() { return &get_or_throw(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return get_or_throw(); }
  const T& operator*() const { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<Error>(m_state);
  }

 private:
  // Reading the value of a failed result is a programming error; it rethrows the error so
  // that it is at least reported with its code.
  T& get_or_throw() {
    if (auto* error = std::get_if<Error>(&m_state)) throw *error;
    return std::get<T>(m_state);
  }

  std::variant<T, Error> m_state;
};

// Result of an operation that yields nothing but may fail.
struct Done {};
using Status = Result<Done>;

inline Status ok_status() {
  return Done{};
}

}  // namespace tandem
