// Value and Row: the column values that flow between datasources, the merge engine, the wire
// codecs and the client SDK. The value domain is SQLite's (null, integer, real, text, blob);
// richer database types are mapped onto it by each datasource (docs/protocol.md, "Values").
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tandem {

using Blob = std::vector<std::uint8_t>;

class Value {
 public:
  enum class Kind { null, integer, real, text, blob };

  Value() = default;
  Value(std::nullptr_t) {}                               // NOLINT(google-explicit-constructor)
  Value(std::int64_t v) : m_data(v) {}                   // NOLINT(google-explicit-constructor)
  Value(int v) : m_data(std::int64_t{v}) {}              // NOLINT(google-explicit-constructor)
  Value(double v) : m_data(v) {}                         // NOLINT(google-explicit-constructor)
  Value(std::string v) : m_data(std::move(v)) {}         // NOLINT(google-explicit-constructor)
  Value(std::string_view v) : m_data(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  Value(const char* v) : m_data(std::string(v)) {}       // NOLINT(google-explicit-constructor)
  Value(Blob v) : m_data(std::move(v)) {}                // NOLINT(google-explicit-constructor)

  Kind kind() const noexcept { return static_cast<Kind>(m_data.index()); }
  bool is_null() const noexcept { return kind() == Kind::null; }

  std::int64_t as_integer() const { return std::get<std::int64_t>(m_data); }
  double as_real() const { return std::get<double>(m_data); }
  const std::string& as_text() const { return std::get<std::string>(m_data); }
  const Blob& as_blob() const { return std::get<Blob>(m_data); }

  // Text form used to compare a value with a user id (owner and routing columns): integers
  // print in decimal, text as is; other kinds never equal a user id.
  std::string to_key_string() const;

  // Total order: null < integer/real (numeric order) < text < blob, as SQLite sorts.
  friend std::partial_ordering operator<=>(const Value& a, const Value& b);
  friend bool operator==(const Value& a, const Value& b);

 private:
  std::variant<std::monostate, std::int64_t, double, std::string, Blob> m_data;
};

// Column name -> value. Ordered so that encodings and hashes of a row are deterministic.
using Row = std::map<std::string, Value, std::less<>>;

}  // namespace tandem
