// The replication stream as the PostgreSQL server (or anyone who can answer on its port)
// sends it: one CopyData payload, framing first, then the pgoutput message inside XLogData;
// and any bytes as a pgoutput message. Also LSN text, which comes from the server too.
#include "fuzz_check.h"
#include "storage/postgres/pgoutput.h"

namespace {

using namespace tandem::storage::postgres;

void check_pgoutput(std::string_view bytes) {
  auto message = decode_pgoutput(bytes);
  if (!message) {
    FUZZ_CHECK(message.error().code() == tandem::ErrorCode::malformed_message,
               message.error().message());
    return;
  }
  // A decoded message fits in its bytes: no column or oid list larger than the input.
  if (const auto* insert = std::get_if<InsertMessage>(&*message)) {
    FUZZ_CHECK(insert->new_tuple.size() <= bytes.size(), "insert larger than its bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = tandem::fuzz::as_text(data, size);
  if (auto framed = decode_replication_message(bytes)) {
    if (const auto* xlog = std::get_if<XLogData>(&*framed)) check_pgoutput(xlog->data);
  }
  check_pgoutput(bytes);
  if (auto lsn = parse_lsn(bytes)) {
    FUZZ_CHECK(parse_lsn(format_lsn(*lsn)) == lsn, format_lsn(*lsn));
  }
  return 0;
}
