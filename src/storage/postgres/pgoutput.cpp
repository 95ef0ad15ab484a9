#include "storage/postgres/pgoutput.h"

#include <fmt/format.h>

#include <charconv>

namespace tandem::storage::postgres {

namespace {

// Thrown by Reader when the input does not hold what the message format says; turned into
// a malformed_message result at the decode functions, never escapes this file.
struct DecodeFailure {
  std::string message;
};

// Big-endian reads over a byte range, each checked against the end.
class Reader {
 public:
  Reader(std::string_view bytes, std::string_view what) : m_bytes(bytes), m_what(what) {}

  std::uint8_t u8(std::string_view field) { return static_cast<std::uint8_t>(take(1, field)[0]); }
  char byte(std::string_view field) { return take(1, field)[0]; }
  std::uint16_t u16(std::string_view field) {
    return static_cast<std::uint16_t>(big_endian(2, field));
  }
  std::uint32_t u32(std::string_view field) {
    return static_cast<std::uint32_t>(big_endian(4, field));
  }
  std::int32_t i32(std::string_view field) { return static_cast<std::int32_t>(u32(field)); }
  std::uint64_t u64(std::string_view field) { return big_endian(8, field); }
  std::int64_t i64(std::string_view field) { return static_cast<std::int64_t>(u64(field)); }

  // A NUL-terminated string.
  std::string cstring(std::string_view field) {
    auto end = m_bytes.find('\0', m_offset);
    if (end == std::string_view::npos) fail(fmt::format("{} is not NUL-terminated", field));
    std::string value(m_bytes.substr(m_offset, end - m_offset));
    m_offset = end + 1;
    return value;
  }

  std::string bytes(std::size_t size, std::string_view field) {
    return std::string(take(size, field));
  }
  std::string rest() {
    std::string value(m_bytes.substr(m_offset));
    m_offset = m_bytes.size();
    return value;
  }

  bool at_end() const noexcept { return m_offset == m_bytes.size(); }
  std::size_t remaining() const noexcept { return m_bytes.size() - m_offset; }
  std::size_t offset() const noexcept { return m_offset; }

  void expect_end() {
    if (!at_end()) fail(fmt::format("{} unexpected trailing byte(s)", remaining()));
  }

  [[noreturn]] void fail(const std::string& problem) const {
    throw DecodeFailure{
        fmt::format("{}: {} (at byte {} of {})", m_what, problem, m_offset, m_bytes.size())};
  }

 private:
  std::string_view take(std::size_t size, std::string_view field) {
    if (remaining() < size) {
      fail(fmt::format("truncated reading {} ({} byte(s) needed, {} left)", field, size,
                       remaining()));
    }
    auto value = m_bytes.substr(m_offset, size);
    m_offset += size;
    return value;
  }

  std::uint64_t big_endian(std::size_t size, std::string_view field) {
    std::uint64_t value = 0;
    for (char c : take(size, field))
      value = (value << 8) | static_cast<std::uint8_t>(c);
    return value;
  }

  std::string_view m_bytes;
  std::string_view m_what;
  std::size_t m_offset = 0;
};

TupleData read_tuple(Reader& in) {
  auto count = in.u16("tuple column count");
  TupleData tuple;
  // Each column takes at least one byte: a count larger than what is left is malformed, and
  // checking it first keeps a corrupt count from reserving a huge vector.
  if (count > in.remaining()) in.fail(fmt::format("tuple claims {} columns", count));
  tuple.reserve(count);
  for (std::uint16_t i = 0; i < count; ++i) {
    TupleColumn column;
    char kind = in.byte("tuple column kind");
    switch (kind) {
      case 'n':
      case 'u':
        column.kind = static_cast<TupleColumn::Kind>(kind);
        break;
      case 't':
      case 'b': {
        column.kind = static_cast<TupleColumn::Kind>(kind);
        auto length = in.i32("tuple column length");
        if (length < 0) in.fail(fmt::format("column {} has negative length {}", i, length));
        column.data = in.bytes(static_cast<std::size_t>(length), "tuple column value");
        break;
      }
      default:
        in.fail(fmt::format("unknown tuple column kind 0x{:02x} in column {}",
                            static_cast<std::uint8_t>(kind), i));
    }
    tuple.push_back(std::move(column));
  }
  return tuple;
}

OldTupleKind old_kind_of(Reader& in, char tag) {
  if (tag == 'K') return OldTupleKind::key;
  if (tag == 'O') return OldTupleKind::full;
  in.fail(fmt::format("expected 'K' or 'O', got 0x{:02x}", static_cast<std::uint8_t>(tag)));
}

void expect_new_tuple_tag(Reader& in, char tag) {
  if (tag != 'N')
    in.fail(fmt::format("expected 'N' (new tuple), got 0x{:02x}", static_cast<std::uint8_t>(tag)));
}

BeginMessage read_begin(Reader& in) {
  BeginMessage m;
  m.final_lsn = in.u64("final LSN");
  m.commit_time = in.i64("commit time");
  m.xid = in.u32("xid");
  return m;
}

CommitMessage read_commit(Reader& in) {
  CommitMessage m;
  m.flags = in.u8("flags");
  m.commit_lsn = in.u64("commit LSN");
  m.end_lsn = in.u64("end LSN");
  m.commit_time = in.i64("commit time");
  return m;
}

OriginMessage read_origin(Reader& in) {
  OriginMessage m;
  m.commit_lsn = in.u64("origin commit LSN");
  m.name = in.cstring("origin name");
  return m;
}

RelationMessage read_relation(Reader& in) {
  RelationMessage m;
  m.oid = in.u32("relation oid");
  m.namespace_name = in.cstring("namespace");
  m.name = in.cstring("relation name");
  m.replica_identity = in.byte("replica identity");
  auto count = in.u16("column count");
  // A column takes at least 10 bytes (flags, name terminator, type oid, modifier).
  if (std::size_t{count} * 10 > in.remaining())
    in.fail(fmt::format("relation claims {} columns", count));
  m.columns.reserve(count);
  for (std::uint16_t i = 0; i < count; ++i) {
    RelationColumn column;
    column.flags = in.u8("column flags");
    column.name = in.cstring("column name");
    column.type_oid = in.u32("column type oid");
    column.type_modifier = in.i32("column type modifier");
    m.columns.push_back(std::move(column));
  }
  return m;
}

TypeMessage read_type(Reader& in) {
  TypeMessage m;
  m.oid = in.u32("type oid");
  m.namespace_name = in.cstring("namespace");
  m.name = in.cstring("type name");
  return m;
}

InsertMessage read_insert(Reader& in) {
  InsertMessage m;
  m.relation_oid = in.u32("relation oid");
  expect_new_tuple_tag(in, in.byte("tuple tag"));
  m.new_tuple = read_tuple(in);
  return m;
}

UpdateMessage read_update(Reader& in) {
  UpdateMessage m;
  m.relation_oid = in.u32("relation oid");
  char tag = in.byte("tuple tag");
  if (tag == 'K' || tag == 'O') {
    m.old_kind = old_kind_of(in, tag);
    m.old_tuple = read_tuple(in);
    tag = in.byte("new tuple tag");
  }
  expect_new_tuple_tag(in, tag);
  m.new_tuple = read_tuple(in);
  return m;
}

DeleteMessage read_delete(Reader& in) {
  DeleteMessage m;
  m.relation_oid = in.u32("relation oid");
  m.old_kind = old_kind_of(in, in.byte("old tuple tag"));
  m.old_tuple = read_tuple(in);
  return m;
}

TruncateMessage read_truncate(Reader& in) {
  TruncateMessage m;
  auto count = in.u32("relation count");
  m.options = in.u8("options");
  if (std::size_t{count} * 4 > in.remaining())
    in.fail(fmt::format("truncate claims {} relations", count));
  m.relation_oids.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i)
    m.relation_oids.push_back(in.u32("relation oid"));
  return m;
}

LogicalMessage read_logical_message(Reader& in) {
  LogicalMessage m;
  auto flags = in.u8("flags");
  if (flags > 1) in.fail(fmt::format("unknown message flags 0x{:02x}", flags));
  m.transactional = flags == 1;
  m.lsn = in.u64("message LSN");
  m.prefix = in.cstring("prefix");
  auto length = in.i32("content length");
  if (length < 0) in.fail(fmt::format("negative content length {}", length));
  m.content = in.bytes(static_cast<std::size_t>(length), "content");
  return m;
}

std::string_view pgoutput_name(char tag) {
  switch (tag) {
    case 'B':
      return "pgoutput Begin";
    case 'C':
      return "pgoutput Commit";
    case 'O':
      return "pgoutput Origin";
    case 'R':
      return "pgoutput Relation";
    case 'Y':
      return "pgoutput Type";
    case 'I':
      return "pgoutput Insert";
    case 'U':
      return "pgoutput Update";
    case 'D':
      return "pgoutput Delete";
    case 'T':
      return "pgoutput Truncate";
    case 'M':
      return "pgoutput Message";
    default:
      return "pgoutput message";
  }
}

PgOutputMessage read_pgoutput(Reader& in, char tag) {
  switch (tag) {
    case 'B':
      return read_begin(in);
    case 'C':
      return read_commit(in);
    case 'O':
      return read_origin(in);
    case 'R':
      return read_relation(in);
    case 'Y':
      return read_type(in);
    case 'I':
      return read_insert(in);
    case 'U':
      return read_update(in);
    case 'D':
      return read_delete(in);
    case 'T':
      return read_truncate(in);
    case 'M':
      return read_logical_message(in);
  }
  in.fail(fmt::format("unknown message type 0x{:02x} (only protocol version 1 is decoded)",
                      static_cast<std::uint8_t>(tag)));
}

Error malformed(const std::string& message) {
  return Error(ErrorCode::malformed_message, message);
}

void put_u64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> shift) & 0xff));
}

}  // namespace

std::string format_lsn(Lsn lsn) {
  return fmt::format("{:X}/{:X}", lsn >> 32, lsn & 0xffffffffu);
}

std::optional<Lsn> parse_lsn(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return {};
  auto half = [](std::string_view digits) -> std::optional<std::uint32_t> {
    if (digits.size() > 8) return {};
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
    if (ec != std::errc() || end != digits.data() + digits.size()) return {};
    return value;
  };
  auto high = half(text.substr(0, slash));
  auto low = half(text.substr(slash + 1));
  if (!high || !low) return {};
  return (Lsn{*high} << 32) | *low;
}

Result<ReplicationMessage> decode_replication_message(std::string_view bytes) {
  if (bytes.empty()) return malformed("replication message: empty");
  char tag = bytes[0];
  try {
    if (tag == 'w') {
      Reader in(bytes, "replication XLogData");
      in.byte("tag");
      XLogData m;
      m.wal_start = in.u64("WAL start");
      m.wal_end = in.u64("WAL end");
      m.send_time = in.i64("send time");
      m.data = in.rest();
      return ReplicationMessage{std::move(m)};
    }
    if (tag == 'k') {
      Reader in(bytes, "replication keepalive");
      in.byte("tag");
      PrimaryKeepalive m;
      m.wal_end = in.u64("WAL end");
      m.send_time = in.i64("send time");
      auto reply = in.u8("reply requested");
      if (reply > 1) in.fail(fmt::format("reply requested must be 0 or 1, got {}", reply));
      m.reply_requested = reply == 1;
      in.expect_end();
      return ReplicationMessage{m};
    }
  } catch (const DecodeFailure& failure) {
    return malformed(failure.message);
  }
  return malformed(
      fmt::format("replication message: unknown type 0x{:02x}", static_cast<std::uint8_t>(tag)));
}

std::string encode_standby_status_update(const StandbyStatusUpdate& update) {
  std::string out;
  out.reserve(34);
  out.push_back('r');
  put_u64(out, update.written);
  put_u64(out, update.flushed);
  put_u64(out, update.applied);
  put_u64(out, static_cast<std::uint64_t>(update.clock));
  out.push_back(update.reply_requested ? 1 : 0);
  return out;
}

Result<PgOutputMessage> decode_pgoutput(std::string_view bytes) {
  if (bytes.empty()) return malformed("pgoutput message: empty");
  char tag = bytes[0];
  Reader in(bytes, pgoutput_name(tag));
  try {
    in.byte("tag");
    auto message = read_pgoutput(in, tag);
    in.expect_end();
    return message;
  } catch (const DecodeFailure& failure) {
    return malformed(failure.message);
  }
}

}  // namespace tandem::storage::postgres
