#include "storage/postgres/pg_array.h"

#include "storage/postgres/json_text.h"
#include "storage/postgres/pg_datetime.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace tandem::storage::postgres::array {

namespace {

// PostgreSQL's MAXDIM; also bounds the recursion on hostile input.
constexpr int kMaxDimensions = 6;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

std::optional<datetime::Kind> datetime_kind(ElementKind kind) {
  switch (kind) {
    case ElementKind::date:
      return datetime::Kind::date;
    case ElementKind::timestamp:
      return datetime::Kind::timestamp;
    case ElementKind::timestamptz:
      return datetime::Kind::timestamptz;
    default:
      return std::nullopt;
  }
}

bool is_special_number(std::string_view text) {
  return text == "NaN" || text == "Infinity" || text == "-Infinity";
}

// RFC 8259 number grammar.
bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  auto digit = [&](std::size_t at) { return at < s.size() && s[at] >= '0' && s[at] <= '9'; };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i))
      ++i;
  }
  if (i < s.size() && s[i] == '.') {
    if (!digit(++i)) return false;
    while (digit(i))
      ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i))
      ++i;
  }
  return i == s.size();
}

// ---- PostgreSQL literal -> JSON --------------------------------------------------------

class LiteralReader {
 public:
  LiteralReader(std::string_view text, ElementKind kind, char delimiter)
      : m_text(text), m_kind(kind), m_delimiter(delimiter) {}

  std::string read() {
    skip_space();
    if (peek() == '[') fail("arrays with explicit bounds ([lo:hi]=) are not supported");
    std::string out;
    read_array(out, 1);
    skip_space();
    if (m_pos != m_text.size()) fail("unexpected text after the array");
    return out;
  }

  struct Failure {
    std::string message;
  };

 private:
  void read_array(std::string& out, int depth) {
    if (depth > kMaxDimensions) fail("more than 6 dimensions");
    if (!eat('{')) fail("expected '{'");
    out += '[';
    skip_space();
    if (eat('}')) {
      out += ']';
      return;
    }
    for (bool first = true;; first = false) {
      if (!first) out += ',';
      skip_space();
      if (peek() == '{') {
        read_array(out, depth + 1);
      } else {
        read_element(out);
      }
      skip_space();
      if (eat('}')) break;
      if (!eat(m_delimiter)) fail(fmt::format("expected '{}' or '}}'", m_delimiter));
    }
    out += ']';
  }

  void read_element(std::string& out) {
    std::string text;
    bool quoted = peek() == '"';
    bool escaped = false;
    if (quoted) {
      ++m_pos;
      for (;;) {
        if (m_pos >= m_text.size()) fail("unterminated quoted element");
        char c = m_text[m_pos++];
        if (c == '"') break;
        if (c == '\\') {
          if (m_pos >= m_text.size()) fail("unterminated quoted element");
          c = m_text[m_pos++];
        }
        text += c;
      }
    } else {
      std::size_t kept = 0;  // length without trailing unescaped whitespace
      while (m_pos < m_text.size()) {
        char c = m_text[m_pos];
        if (c == m_delimiter || c == '}' || c == '{' || c == '"') break;
        ++m_pos;
        if (c == '\\') {
          if (m_pos >= m_text.size()) fail("backslash at the end");
          text += m_text[m_pos++];
          escaped = true;
          kept = text.size();
          continue;
        }
        text += c;
        if (!is_space(c)) kept = text.size();
      }
      text.resize(kept);
      if (text.empty()) fail("empty unquoted element");
    }
    if (!quoted && !escaped && iequals(text, "NULL")) {
      out += "null";
      return;
    }
    write_element(out, text);
  }

  void write_element(std::string& out, const std::string& text) {
    switch (m_kind) {
      case ElementKind::number:
        if (is_json_number(text)) {
          out += text;
          return;
        }
        if (is_special_number(text)) break;
        fail(fmt::format("element '{}' is not a number", text));
      case ElementKind::boolean:
        if (text == "t" || text == "f") {
          out += text == "t" ? "true" : "false";
          return;
        }
        fail(fmt::format("element '{}' is not a boolean", text));
      case ElementKind::date:
      case ElementKind::timestamp:
      case ElementKind::timestamptz: {
        auto wire = datetime::from_pg(*datetime_kind(m_kind), text);
        if (!wire) fail(std::string(wire.error().message()));
        out += nlohmann::json(*wire).dump();
        return;
      }
      case ElementKind::json:
      case ElementKind::string:
        break;
    }
    try {
      out += nlohmann::json(text).dump();
    } catch (const nlohmann::json::exception&) {
      fail("an element is not valid UTF-8");
    }
  }

  char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }
  bool eat(char c) {
    if (m_pos < m_text.size() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }
  void skip_space() {
    while (m_pos < m_text.size() && is_space(m_text[m_pos]))
      ++m_pos;
  }
  [[noreturn]] void fail(const std::string& problem) const {
    throw Failure{fmt::format("{} at offset {}", problem, m_pos)};
  }

  std::string_view m_text;
  ElementKind m_kind;
  char m_delimiter;
  std::size_t m_pos = 0;
};

// ---- JSON -> PostgreSQL literal --------------------------------------------------------

// Walks JSON text that is_json_text has already accepted, keeping each value's source
// span: numbers and objects go to PostgreSQL verbatim.
class JsonWriter {
 public:
  JsonWriter(std::string_view json, ElementKind kind, char delimiter)
      : m_json(json), m_kind(kind), m_delimiter(delimiter) {}

  std::string write() {
    skip_space();
    if (peek() != '[') fail("the value must be a JSON array");
    std::string out;
    write_array(out, 1);
    return out;
  }

  struct Failure {
    std::string message;
  };

 private:
  // Returns the shape of the array: its length, then the shape of its sub-arrays.
  std::vector<std::size_t> write_array(std::string& out, int depth) {
    if (depth > kMaxDimensions) fail("more than 6 nested arrays");
    ++m_pos;  // '['
    out += '{';
    std::vector<std::size_t> inner;
    std::optional<bool> nested;
    std::size_t count = 0;
    skip_space();
    if (peek() == ']') {
      ++m_pos;
      out += '}';
      return {0};
    }
    for (;; ++count) {
      if (count > 0) out += m_delimiter;
      skip_space();
      bool is_array = peek() == '[';
      if (nested && *nested != is_array)
        fail("arrays and scalars are mixed at the same level (PostgreSQL arrays are rectangular)");
      nested = is_array;
      if (is_array) {
        auto shape = write_array(out, depth + 1);
        if (count > 0 && shape != inner)
          fail("sub-arrays differ in length (PostgreSQL arrays are rectangular)");
        inner = std::move(shape);
      } else {
        write_element(out, count);
      }
      skip_space();
      if (peek() == ']') break;
      ++m_pos;  // ','
    }
    ++m_pos;  // ']'
    out += '}';
    inner.insert(inner.begin(), count + 1);
    return inner;
  }

  void write_element(std::string& out, std::size_t index) {
    char c = peek();
    if (c == 'n') {
      m_pos += 4;
      out += "NULL";
      return;
    }
    if (c == 't' || c == 'f') {
      bool value = c == 't';
      m_pos += value ? 4 : 5;
      write_boolean(out, value, index);
      return;
    }
    if (c == '"') {
      write_string(out, read_string(), index);
      return;
    }
    if (c == '{') {
      auto span = object_span();
      if (m_kind != ElementKind::json) fail(fmt::format("element {} is an object", index));
      quote(out, span);
      return;
    }
    write_number(out, number_span(), index);
  }

  void write_boolean(std::string& out, bool value, std::size_t index) {
    switch (m_kind) {
      case ElementKind::boolean:
        out += value ? 't' : 'f';
        return;
      case ElementKind::number:
        fail(fmt::format("element {} is a boolean, not a number", index));
      case ElementKind::date:
      case ElementKind::timestamp:
      case ElementKind::timestamptz:
        fail(fmt::format("element {} is a boolean, not a date/time", index));
      case ElementKind::json:
      case ElementKind::string:
        quote(out, value ? "true" : "false");
        return;
    }
  }

  void write_number(std::string& out, std::string_view number, std::size_t index) {
    switch (m_kind) {
      case ElementKind::number:
        out += number;
        return;
      case ElementKind::boolean:
        if (number == "0" || number == "1") {
          out += number == "1" ? 't' : 'f';
          return;
        }
        fail(fmt::format("element {} ({}) is not a boolean (0 or 1)", index, number));
      case ElementKind::date:
      case ElementKind::timestamp:
      case ElementKind::timestamptz:
        fail(fmt::format("element {} is a number, not a date/time", index));
      case ElementKind::json:
      case ElementKind::string:
        quote(out, number);
        return;
    }
  }

  void write_string(std::string& out, const std::string& text, std::size_t index) {
    switch (m_kind) {
      case ElementKind::number:
        if (!is_special_number(text))
          fail(fmt::format("element {} is a string, not a number", index));
        break;
      case ElementKind::boolean:
        if (iequals(text, "true") || iequals(text, "t") || iequals(text, "false") ||
            iequals(text, "f")) {
          out += iequals(text, "true") || iequals(text, "t") ? 't' : 'f';
          return;
        }
        fail(fmt::format("element {} is not a boolean", index));
      case ElementKind::date:
      case ElementKind::timestamp:
      case ElementKind::timestamptz: {
        auto pg = datetime::to_pg(*datetime_kind(m_kind), text);
        if (!pg) fail(fmt::format("element {}: {}", index, pg.error().message()));
        quote(out, *pg);
        return;
      }
      case ElementKind::json:
      case ElementKind::string:
        break;
    }
    if (text.find('\0') != std::string::npos)
      fail(fmt::format("element {} holds a NUL character, which PostgreSQL text cannot", index));
    quote(out, text);
  }

  static void quote(std::string& out, std::string_view text) {
    out += '"';
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }

  std::string read_string() {
    std::size_t start = m_pos++;
    while (m_json[m_pos] != '"')
      m_pos += m_json[m_pos] == '\\' ? 2 : 1;
    ++m_pos;
    try {
      return nlohmann::json::parse(m_json.substr(start, m_pos - start)).get<std::string>();
    } catch (const nlohmann::json::exception&) {
      fail("a string has an invalid \\u escape (a lone surrogate)");
    }
  }

  std::string_view number_span() {
    std::size_t start = m_pos;
    while (m_pos < m_json.size() &&
           std::string_view("+-0123456789.eE").find(m_json[m_pos]) != std::string_view::npos)
      ++m_pos;
    return m_json.substr(start, m_pos - start);
  }

  std::string_view object_span() {
    std::size_t start = m_pos;
    int depth = 0;
    do {
      char c = m_json[m_pos];
      if (c == '"') {
        read_string();
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++m_pos;
    } while (depth > 0);
    return m_json.substr(start, m_pos - start);
  }

  char peek() const { return m_pos < m_json.size() ? m_json[m_pos] : '\0'; }
  void skip_space() {
    while (m_pos < m_json.size() && is_space(m_json[m_pos]))
      ++m_pos;
  }
  [[noreturn]] void fail(const std::string& problem) const { throw Failure{problem}; }

  std::string_view m_json;
  ElementKind m_kind;
  char m_delimiter;
  std::size_t m_pos = 0;
};

}  // namespace

Result<std::string> to_json(std::string_view literal, ElementKind kind, char delimiter) {
  try {
    return LiteralReader(literal, kind, delimiter).read();
  } catch (const LiteralReader::Failure& failure) {
    return Error(ErrorCode::internal,
                 fmt::format("cannot read PostgreSQL array '{}': {}", literal, failure.message));
  }
}

Result<std::string> from_json(std::string_view json, ElementKind kind, char delimiter) {
  if (!is_json_text(json))
    return Error(ErrorCode::invalid_mutation, "an array value must be JSON text; this is not JSON");
  try {
    return JsonWriter(json, kind, delimiter).write();
  } catch (const JsonWriter::Failure& failure) {
    return Error(ErrorCode::invalid_mutation, "array value: " + failure.message);
  }
}

}  // namespace tandem::storage::postgres::array
