#include "storage/postgres/pg_datetime.h"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

namespace tandem::storage::postgres::datetime {

namespace {

constexpr std::int64_t kSecondsPerDay = 86'400;
// PostgreSQL's dates reach year 5874897; seven digits bound every year we accept.
constexpr int kMaxYearDigits = 7;

// A moment in the proleptic Gregorian calendar, astronomical year numbering.
struct Civil {
  std::int64_t year = 0;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int micros = 0;
};

bool is_leap(std::int64_t year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(std::int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Days since 1970-01-01 (H. Hinnant's days_from_civil, valid for any year in range).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<std::int64_t>(y - era * 400);
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(std::int64_t z, Civil& c) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2);
}

// Moves the time of day by `seconds` (an offset from UTC), carrying into the date.
void shift(Civil& c, std::int64_t seconds) {
  std::int64_t total = days_from_civil(c.year, c.month, c.day) * kSecondsPerDay +
                       std::int64_t{c.hour} * 3600 + std::int64_t{c.minute} * 60 + c.second +
                       seconds;
  std::int64_t days = total / kSecondsPerDay;
  std::int64_t rest = total % kSecondsPerDay;
  if (rest < 0) {
    rest += kSecondsPerDay;
    --days;
  }
  civil_from_days(days, c);
  c.hour = static_cast<int>(rest / 3600);
  c.minute = static_cast<int>(rest / 60 % 60);
  c.second = static_cast<int>(rest % 60);
}

class Cursor {
 public:
  explicit Cursor(std::string_view text) : m_text(text) {}

  bool eat(char c) {
    if (m_pos < m_text.size() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }
  bool eat(std::string_view s) {
    if (m_text.substr(m_pos, s.size()) != s) return false;
    m_pos += s.size();
    return true;
  }
  std::optional<char> peek() const {
    if (m_pos < m_text.size()) return m_text[m_pos];
    return std::nullopt;
  }
  // Between `min` and `max` decimal digits.
  std::optional<std::int64_t> digits(int min, int max, int* count = nullptr) {
    std::int64_t value = 0;
    int n = 0;
    while (n < max && m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') {
      value = value * 10 + (m_text[m_pos++] - '0');
      ++n;
    }
    if (count) *count = n;
    if (n < min) return std::nullopt;
    return value;
  }
  bool at_end() const { return m_pos == m_text.size(); }

 private:
  std::string_view m_text;
  std::size_t m_pos = 0;
};

bool read_date(Cursor& in, Civil& c, bool signed_year) {
  bool negative = signed_year && in.eat('-');
  if (signed_year && !negative) in.eat('+');
  auto year = in.digits(4, kMaxYearDigits);
  if (!year || !in.eat('-')) return false;
  auto month = in.digits(2, 2);
  if (!month || !in.eat('-')) return false;
  auto day = in.digits(2, 2);
  if (!day) return false;
  c.year = negative ? -*year : *year;
  c.month = static_cast<int>(*month);
  c.day = static_cast<int>(*day);
  return true;
}

bool read_fraction(Cursor& in, Civil& c) {
  if (!in.eat('.')) return true;
  int count = 0;
  auto fraction = in.digits(1, 6, &count);
  if (!fraction || (in.peek() >= '0' && in.peek() <= '9')) return false;
  c.micros = static_cast<int>(*fraction);
  for (int i = count; i < 6; ++i)
    c.micros *= 10;
  return true;
}

bool read_time(Cursor& in, Civil& c, bool seconds_optional) {
  auto hour = in.digits(2, 2);
  if (!hour || !in.eat(':')) return false;
  auto minute = in.digits(2, 2);
  if (!minute) return false;
  c.hour = static_cast<int>(*hour);
  c.minute = static_cast<int>(*minute);
  if (!in.eat(':')) return seconds_optional;
  auto second = in.digits(2, 2);
  if (!second) return false;
  c.second = static_cast<int>(*second);
  return read_fraction(in, c);
}

// `+HH`, `+HH:MM`, `+HH:MM:SS` (PostgreSQL) or, with `compact`, also `+HHMM` (ISO 8601);
// returns the offset east of UTC in seconds.
std::optional<std::int64_t> read_offset(Cursor& in, bool compact) {
  int sign = in.eat('+') ? 1 : in.eat('-') ? -1 : 0;
  if (sign == 0) return std::nullopt;
  auto hours = in.digits(2, 2);
  if (!hours || *hours > 15) return std::nullopt;
  std::int64_t minutes = 0;
  std::int64_t seconds = 0;
  bool colon = in.eat(':');
  if (colon || (compact && in.peek() >= '0' && in.peek() <= '9')) {
    auto m = in.digits(2, 2);
    if (!m || *m > 59) return std::nullopt;
    minutes = *m;
    if (colon && !compact && in.eat(':')) {
      auto s = in.digits(2, 2);
      if (!s || *s > 59) return std::nullopt;
      seconds = *s;
    }
  }
  return sign * (*hours * 3600 + minutes * 60 + seconds);
}

bool valid(const Civil& c) {
  return c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= days_in_month(c.year, c.month) &&
         c.hour <= 23 && c.minute <= 59 && c.second <= 59;
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::date:
      return "date";
    case Kind::timestamp:
      return "timestamp";
    case Kind::timestamptz:
      return "timestamptz";
  }
  return "?";
}

std::string wire_year(std::int64_t year) {
  if (year >= 0 && year <= 9999) return fmt::format("{:04}", year);
  return fmt::format("{}{:06}", year < 0 ? '-' : '+', year < 0 ? -year : year);
}

std::string wire_form(Kind kind, const Civil& c) {
  std::string out = fmt::format("{}-{:02}-{:02}", wire_year(c.year), c.month, c.day);
  if (kind == Kind::date) return out;
  out += fmt::format("T{:02}:{:02}:{:02}", c.hour, c.minute, c.second);
  if (c.micros != 0) {
    auto fraction = fmt::format("{:06}", c.micros);
    fraction.erase(fraction.find_last_not_of('0') + 1);
    out += '.' + fraction;
  }
  if (kind == Kind::timestamptz) out += 'Z';
  return out;
}

std::string pg_form(Kind kind, const Civil& c) {
  bool bc = c.year <= 0;
  std::string out = fmt::format("{:04}-{:02}-{:02}", bc ? 1 - c.year : c.year, c.month, c.day);
  if (kind != Kind::date) {
    out += fmt::format(" {:02}:{:02}:{:02}.{:06}", c.hour, c.minute, c.second, c.micros);
    if (kind == Kind::timestamptz) out += "+00";
  }
  if (bc) out += " BC";
  return out;
}

}  // namespace

Result<std::string> from_pg(Kind kind, std::string_view text) {
  if (text == "infinity" || text == "-infinity") return std::string(text);
  auto bad = [&] {
    return Error(ErrorCode::internal,
                 fmt::format("cannot read PostgreSQL {} output '{}' (expected DateStyle ISO)",
                             kind_name(kind), text));
  };
  Cursor in(text);
  Civil c;
  if (!read_date(in, c, false) || c.year < 1) return bad();
  std::int64_t offset = 0;
  if (kind != Kind::date) {
    if (!in.eat(' ') || !read_time(in, c, false)) return bad();
    if (kind == Kind::timestamptz) {
      auto parsed = read_offset(in, false);
      if (!parsed) return bad();
      offset = *parsed;
    }
  }
  if (in.eat(" BC")) c.year = 1 - c.year;
  if (!in.at_end() || !valid(c)) return bad();
  if (offset != 0) shift(c, -offset);
  return wire_form(kind, c);
}

Result<std::string> to_pg(Kind kind, std::string_view text) {
  if (text == "infinity" || text == "-infinity") return std::string(text);
  auto bad = [&](std::string_view expected) {
    return Error(ErrorCode::invalid_mutation,
                 fmt::format("'{}' is not a {} (expected {})", text, kind_name(kind), expected));
  };
  std::string_view expected = kind == Kind::date        ? "YYYY-MM-DD"
                              : kind == Kind::timestamp ? "YYYY-MM-DDTHH:MM:SS[.ffffff]"
                                                        : "YYYY-MM-DDTHH:MM:SS[.ffffff]Z";
  Cursor in(text);
  Civil c;
  if (!read_date(in, c, true)) return bad(expected);
  std::int64_t offset = 0;
  if (kind != Kind::date && !in.at_end()) {
    if (!(in.eat('T') || in.eat('t') || in.eat(' ')) || !read_time(in, c, true))
      return bad(expected);
    if (kind == Kind::timestamptz && !in.at_end() && !in.eat('Z') && !in.eat('z')) {
      auto parsed = read_offset(in, true);
      if (!parsed) return bad(expected);
      offset = *parsed;
    }
  }
  if (!in.at_end()) return bad(expected);
  if (!valid(c)) return bad("a valid calendar date and time");
  if (offset != 0) shift(c, -offset);
  return pg_form(kind, c);
}

}  // namespace tandem::storage::postgres::datetime
