#include "storage/postgres/json_text.h"

#include <cstdint>

namespace tandem::storage::postgres {

namespace {

constexpr int kMaxDepth = 1000;

class Checker {
 public:
  explicit Checker(std::string_view text) : m_text(text) {}

  bool document() {
    skip_space();
    if (!value(0)) return false;
    skip_space();
    return m_pos == m_text.size();
  }

 private:
  bool value(int depth) {
    if (depth >= kMaxDepth) return false;
    switch (peek()) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  bool object(int depth) {
    ++m_pos;
    skip_space();
    if (eat('}')) return true;
    do {
      skip_space();
      if (peek() != '"' || !string()) return false;
      skip_space();
      if (!eat(':')) return false;
      skip_space();
      if (!value(depth + 1)) return false;
      skip_space();
    } while (eat(','));
    return eat('}');
  }

  bool array(int depth) {
    ++m_pos;
    skip_space();
    if (eat(']')) return true;
    do {
      skip_space();
      if (!value(depth + 1)) return false;
      skip_space();
    } while (eat(','));
    return eat(']');
  }

  bool string() {
    ++m_pos;
    while (m_pos < m_text.size()) {
      auto c = static_cast<unsigned char>(m_text[m_pos]);
      if (c == '"') {
        ++m_pos;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (!escape()) return false;
      } else if (c < 0x80) {
        ++m_pos;
      } else if (!utf8_sequence()) {
        return false;
      }
    }
    return false;
  }

  bool escape() {
    ++m_pos;
    char c = peek();
    ++m_pos;
    switch (c) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        return true;
      case 'u':
        for (int i = 0; i < 4; ++i, ++m_pos) {
          char h = peek();
          if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
            return false;
        }
        return true;
      default:
        return false;
    }
  }

  // One multi-byte UTF-8 character: no overlong forms, surrogates or values above U+10FFFF.
  bool utf8_sequence() {
    auto byte = [&](std::size_t at) -> unsigned {
      return at < m_text.size() ? static_cast<unsigned char>(m_text[at]) : 0u;
    };
    unsigned lead = byte(m_pos);
    int length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (length == 0 || lead > 0xF4) return false;
    std::uint32_t code = lead & (0x7Fu >> length);
    for (int i = 1; i < length; ++i) {
      unsigned next = byte(m_pos + i);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      return false;
    m_pos += length;
    return true;
  }

  bool number() {
    eat('-');
    if (eat('0')) {
      // no leading zeros
    } else if (!digits()) {
      return false;
    }
    if (eat('.') && !digits()) return false;
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      if (!digits()) return false;
    }
    return true;
  }

  bool digits() {
    std::size_t start = m_pos;
    while (peek() >= '0' && peek() <= '9')
      ++m_pos;
    return m_pos > start;
  }

  bool literal(std::string_view word) {
    if (m_text.substr(m_pos, word.size()) != word) return false;
    m_pos += word.size();
    return true;
  }

  char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }
  bool eat(char c) {
    if (peek() != c || m_pos >= m_text.size()) return false;
    ++m_pos;
    return true;
  }
  void skip_space() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')
      ++m_pos;
  }

  std::string_view m_text;
  std::size_t m_pos = 0;
};

}  // namespace

bool is_json_text(std::string_view text) {
  return Checker(text).document();
}

}  // namespace tandem::storage::postgres
