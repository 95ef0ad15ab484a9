#include "common/value.h"

#include <cmath>

namespace tandem {

std::string Value::to_key_string() const {
  switch (kind()) {
    case Kind::integer:
      return std::to_string(as_integer());
    case Kind::text:
      return as_text();
    default:
      return {};
  }
}

namespace {

int kind_rank(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::null:
      return 0;
    case Value::Kind::integer:
    case Value::Kind::real:
      return 1;
    case Value::Kind::text:
      return 2;
    case Value::Kind::blob:
      return 3;
  }
  return 4;
}

double numeric(const Value& v) {
  return v.kind() == Value::Kind::integer ? static_cast<double>(v.as_integer()) : v.as_real();
}

}  // namespace

std::partial_ordering operator<=>(const Value& a, const Value& b) {
  int rank_a = kind_rank(a.kind());
  int rank_b = kind_rank(b.kind());
  if (rank_a != rank_b) return rank_a <=> rank_b;
  switch (a.kind()) {
    case Value::Kind::null:
      return std::partial_ordering::equivalent;
    case Value::Kind::integer:
      if (b.kind() == Value::Kind::integer) return a.as_integer() <=> b.as_integer();
      return numeric(a) <=> numeric(b);
    case Value::Kind::real:
      return numeric(a) <=> numeric(b);
    case Value::Kind::text:
      return a.as_text().compare(b.as_text()) <=> 0;
    case Value::Kind::blob:
      return a.as_blob() <=> b.as_blob();
  }
  return std::partial_ordering::unordered;
}

bool operator==(const Value& a, const Value& b) {
  return a.m_data == b.m_data;
}

}  // namespace tandem
