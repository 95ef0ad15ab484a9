// PostgreSQL values in text form, both ways: what the server prints (read by snapshots, the
// change log and pgoutput) and what a client pushes (written as a parameter, where a client's
// text reaches the date, array and JSON parsers). The first byte picks the column type, the
// second the direction (and the kind of the pushed value); the rest is the text. A value read
// from a type whose reading validates must be writable back.
#include <cstring>
#include <vector>

#include "fuzz_check.h"
#include "storage/postgres/pg_types.h"

namespace {

using namespace tandem;
using namespace tandem::storage::postgres;

std::vector<PgType> column_types() {
  std::vector<PgType> types;
  for (std::uint32_t oid = 0; oid < 4000; ++oid) {
    if (auto type = builtin_pg_type(oid)) types.push_back(*type);
  }
  types.push_back({90001, "mood", 'E', 0, "", 0, ','});              // an enum
  types.push_back({90002, "point", 'G', 0, "", 0, ','});             // no mapping: text
  types.push_back({90003, "mood[]", 'A', 90001, "mood", 'E', ','});  // an array of an enum
  types.push_back({1020, "box[]", 'A', 603, "box", 'G', ';'});       // ';' between elements
  types.push_back({90004, "numeric(10,2)[]", 'A', pg_oid::numeric, "numeric(10,2)", 'N', ','});
  return types;
}

// Reading checks the text's form for these; the others keep it as sent. (Integers and reals
// are read as 64-bit and double whatever their width, so an int4 read may not fit back.)
bool read_validates(const PgType& type) {
  switch (portable_type(type)) {
    case ColumnType::boolean:
    case ColumnType::timestamp:
    case ColumnType::date:
    case ColumnType::blob:
      return true;
    default:
      return type.is_array();
  }
}

template <typename T>
T load(std::string_view bytes) {
  T value{};
  std::memcpy(&value, bytes.data(), std::min(sizeof value, bytes.size()));
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<PgType> types = column_types();
  if (size < 2) return 0;
  const PgType& type = types[data[0] % types.size()];
  const int mode = data[1] % 5;
  const std::string_view text = fuzz::as_text(data + 2, size - 2);

  if (mode == 0) {
    // PostgreSQL's output never holds a NUL byte (its text types cannot).
    if (text.find('\0') != std::string_view::npos) return 0;
    auto value = value_from_pg_text(type, text);
    if (!value) {
      FUZZ_CHECK(value.error().code() == ErrorCode::internal, value.error().message());
      return 0;
    }
    if (read_validates(type)) {
      auto written = value_to_pg_text(type, *value);
      // PostgreSQL prints only rectangular arrays; the reader does not check it, the writer does.
      if (!written && written.error().message().find("rectangular") != std::string_view::npos) {
        return 0;
      }
      FUZZ_CHECK(written.ok(), type.name + " '" + std::string(text) +
                                   "': " + std::string(written.error().message()));
    }
    return 0;
  }
  Value pushed;
  switch (mode) {
    case 1:
      pushed = Value{std::string(text)};
      break;
    case 2:
      pushed = Value{load<std::int64_t>(text)};
      break;
    case 3:
      pushed = Value{load<double>(text)};
      break;
    default:
      pushed = Value{Blob(text.begin(), text.end())};
      break;
  }
  auto written = value_to_pg_text(type, pushed);
  if (!written) {
    FUZZ_CHECK(written.error().code() == ErrorCode::invalid_mutation, written.error().message());
  }
  return 0;
}
