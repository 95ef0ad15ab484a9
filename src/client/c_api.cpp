// The C API (include/tandem/tandem.h) over client::Client. Every entry point is noexcept in
// effect: `guarded` catches everything, stores the message for tandem_last_error, and
// returns the code.
#include "tandem/tandem.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "client/client.h"
#include "common/value_json.h"

struct tandem_db {
  explicit tandem_db(const std::string& path) : client(path) {}
  tandem::client::Client client;
};

namespace {

using tandem::Error;
using tandem::ErrorCode;

// The C codes are the ErrorCode numbers, every one of them (common/error_codes.h).
#define TANDEM_CHECK_C_CODE(name, NAME, value, http, exit, meaning) \
  static_assert(TANDEM_##NAME == static_cast<int>(ErrorCode::name));
TANDEM_ERROR_CODES(TANDEM_CHECK_C_CODE)
#undef TANDEM_CHECK_C_CODE

// tandem_sync_options as version 1 of the header had it: the smallest an application sends.
constexpr std::size_t kFirstOptionsSize = offsetof(tandem_sync_options, ca_file) + sizeof(char*);

thread_local std::string t_last_error;

int fail(ErrorCode code, std::string_view message) {
  t_last_error = std::string(message);
  return static_cast<int>(code);
}

int fail(const Error& error) {
  return fail(error.code(), error.message());
}

template <class Body>
int guarded(Body&& body) noexcept {
  try {
    t_last_error.clear();
    tandem::Status status = body();
    if (!status) return fail(status.error());
    return TANDEM_OK;
  } catch (const Error& error) {
    return fail(error);
  } catch (const std::exception& error) {
    return fail(ErrorCode::internal, error.what());
  } catch (...) {
    return fail(ErrorCode::internal, "unknown exception");
  }
}

Error bad(const std::string& message) {
  return Error(ErrorCode::bad_request, message);
}

tandem::Result<tandem::Row> parse_row(const char* text, const char* what) {
  if (!text) return bad(std::string(what) + " is NULL");
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Error(ErrorCode::malformed_message, std::string(what) + " must be a JSON object");
  }
  auto row = tandem::row_from_json(json);
  if (!row)
    return Error(ErrorCode::malformed_message,
                 std::string(what) + ": " + std::string(row.error().message()));
  return row;
}

std::string row_json(const std::vector<std::string>& names,
                     const std::vector<tandem::Value>& values) {
  // Built by hand: nlohmann's object would sort the columns, and the caller chose their order.
  std::string text = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += ',';
    text += nlohmann::json(names[i]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += ':';
    text +=
        tandem::to_json(values[i]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  text += '}';
  return text;
}

std::string pk_text(const tandem::Row& pk) {
  return tandem::to_json(pk).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int op_code(tandem::sync::Op op) {
  switch (op) {
    case tandem::sync::Op::insert:
      return TANDEM_OP_INSERT;
    case tandem::sync::Op::update:
      return TANDEM_OP_UPDATE;
    case tandem::sync::Op::remove:
      return TANDEM_OP_DELETE;
  }
  return TANDEM_OP_UPDATE;
}

}  // namespace

extern "C" {

const char* tandem_code_name(int code) {
  if (code < 0 || code >= static_cast<int>(std::size(tandem::kErrorCodes))) return "internal";
  return tandem::error_code_name(static_cast<ErrorCode>(code)).data();
}

const char* tandem_last_error(void) {
  return t_last_error.c_str();
}

int tandem_open(const char* path, tandem_db** db) {
  return guarded([&]() -> tandem::Status {
    if (!path || !db) return bad("tandem_open: path and db are required");
    *db = nullptr;
    *db = new tandem_db(path);
    return tandem::ok_status();
  });
}

void tandem_close(tandem_db* db) {
  try {
    delete db;
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor that failed has nothing to undo
  }
}

int tandem_client_id(tandem_db* db, char* buf, size_t size) {
  return guarded([&]() -> tandem::Status {
    if (!db || !buf || size == 0) return bad("tandem_client_id: db and a buffer are required");
    const auto& id = db->client.client_id();
    auto length = std::min(id.size(), size - 1);
    std::memcpy(buf, id.data(), length);
    buf[length] = '\0';
    return tandem::ok_status();
  });
}

void tandem_sync_options_init(tandem_sync_options* options) {
  if (!options) return;
  tandem::client::SyncOptions defaults;
  options->size = sizeof(tandem_sync_options);
  options->backoff_initial_ms = static_cast<int>(defaults.backoff_initial.count());
  options->backoff_max_ms = static_cast<int>(defaults.backoff_max.count());
  options->push_batch = static_cast<int>(defaults.push_batch);
  options->timeout_ms = static_cast<int>(defaults.timeout.count());
  options->ca_file = nullptr;
}

int tandem_start_sync(tandem_db* db, const char* url, const char* token,
                      const tandem_sync_options* options) {
  return guarded([&]() -> tandem::Status {
    if (!db || !url || !token) return bad("tandem_start_sync: db, url and token are required");
    tandem_sync_options given;
    tandem_sync_options_init(&given);
    if (options) {
      // An application built against an older header knows fewer fields: take those.
      if (options->size < kFirstOptionsSize)
        return bad("tandem_start_sync: options not set up by tandem_sync_options_init");
      std::memcpy(&given, options, std::min(options->size, sizeof(given)));
      given.size = sizeof(given);
    }
    if (given.backoff_initial_ms <= 0 || given.backoff_max_ms < given.backoff_initial_ms ||
        given.timeout_ms <= 0) {
      return bad("tandem_start_sync: backoff and timeout must be positive (max >= initial)");
    }
    tandem::client::SyncOptions sync;
    sync.url = url;
    sync.token = token;
    sync.backoff_initial = std::chrono::milliseconds(given.backoff_initial_ms);
    sync.backoff_max = std::chrono::milliseconds(given.backoff_max_ms);
    sync.push_batch = given.push_batch > 0 ? static_cast<std::size_t>(given.push_batch) : 0;
    sync.timeout = std::chrono::milliseconds(given.timeout_ms);
    if (given.ca_file) sync.ca_file = given.ca_file;
    return db->client.start_sync(std::move(sync));
  });
}

int tandem_stop_sync(tandem_db* db) {
  return guarded([&]() -> tandem::Status {
    if (!db) return bad("tandem_stop_sync: db is NULL");
    db->client.stop_sync();
    return tandem::ok_status();
  });
}

int tandem_set_token(tandem_db* db, const char* token) {
  return guarded([&]() -> tandem::Status {
    if (!db || !token) return bad("tandem_set_token: db and token are required");
    return db->client.set_token(token);
  });
}

int tandem_get_status(tandem_db* db, tandem_status* out) {
  return guarded([&]() -> tandem::Status {
    if (!db || !out) return bad("tandem_get_status: db and status are required");
    auto status = db->client.status();
    *out = tandem_status{};
    out->state = static_cast<int>(status.state);
    out->connected = status.connected ? 1 : 0;
    out->pending_uploads = status.pending_uploads;
    out->has_checkpoint = status.checkpoint_seq ? 1 : 0;
    out->checkpoint_seq = status.checkpoint_seq.value_or(0);
    out->server_seq = status.server_seq;
    out->in_snapshot = status.in_snapshot ? 1 : 0;
    out->snapshot_rows = status.snapshot_rows;
    out->snapshot_rows_total =
        status.snapshot_rows_total ? static_cast<int64_t>(*status.snapshot_rows_total) : -1;
    out->reconnects = status.reconnects;
    out->last_error_code = static_cast<int>(status.last_error_code);
    auto length = std::min(status.last_error.size(), sizeof(out->last_error) - 1);
    std::memcpy(out->last_error, status.last_error.data(), length);
    out->last_error[length] = '\0';
    return tandem::ok_status();
  });
}

int tandem_wait_synced(tandem_db* db, uint64_t min_seq, int timeout_ms) {
  return guarded([&]() -> tandem::Status {
    if (!db || timeout_ms < 0) return bad("tandem_wait_synced: db and a timeout are required");
    return db->client.wait_synced(min_seq, std::chrono::milliseconds(timeout_ms));
  });
}

int tandem_insert(tandem_db* db, const char* table, const char* row_json) {
  return guarded([&]() -> tandem::Status {
    if (!db || !table) return bad("tandem_insert: db and table are required");
    auto row = parse_row(row_json, "row");
    if (!row) return row.error();
    return db->client.insert(table, *row);
  });
}

int tandem_update(tandem_db* db, const char* table, const char* pk_json, const char* values_json) {
  return guarded([&]() -> tandem::Status {
    if (!db || !table) return bad("tandem_update: db and table are required");
    auto pk = parse_row(pk_json, "pk");
    if (!pk) return pk.error();
    auto values = parse_row(values_json, "values");
    if (!values) return values.error();
    return db->client.update(table, *pk, *values);
  });
}

int tandem_delete(tandem_db* db, const char* table, const char* pk_json) {
  return guarded([&]() -> tandem::Status {
    if (!db || !table) return bad("tandem_delete: db and table are required");
    auto pk = parse_row(pk_json, "pk");
    if (!pk) return pk.error();
    return db->client.remove(table, *pk);
  });
}

int tandem_query(tandem_db* db, const char* sql, const char* params_json,
                 tandem_row_callback callback, void* context) {
  return guarded([&]() -> tandem::Status {
    if (!db || !sql || !callback) return bad("tandem_query: db, sql and callback are required");
    std::vector<tandem::Value> params;
    if (params_json) {
      auto json = nlohmann::json::parse(params_json, nullptr, false);
      if (json.is_discarded() || !json.is_array()) {
        return Error(ErrorCode::malformed_message, "params must be a JSON array");
      }
      for (const auto& item : json) {
        auto value = tandem::value_from_json(item);
        if (!value) return value.error();
        params.push_back(std::move(*value));
      }
    }
    return db->client.query(
        sql, params,
        [&](const std::vector<std::string>& names, const std::vector<tandem::Value>& row) {
          return callback(context, row_json(names, row).c_str()) == 0;
        });
  });
}

int tandem_add_listener(tandem_db* db, tandem_change_callback callback, void* context,
                        uint64_t* id) {
  return guarded([&]() -> tandem::Status {
    if (!db || !callback) return bad("tandem_add_listener: db and callback are required");
    auto added = db->client.add_listener([callback, context](const auto& event) {
      callback(context, event.table.c_str(), op_code(event.op), pk_text(event.pk).c_str(),
               event.origin == tandem::client::Origin::local ? TANDEM_ORIGIN_LOCAL
                                                             : TANDEM_ORIGIN_REMOTE);
    });
    if (id) *id = added;
    return tandem::ok_status();
  });
}

int tandem_remove_listener(tandem_db* db, uint64_t id) {
  return guarded([&]() -> tandem::Status {
    if (!db) return bad("tandem_remove_listener: db is NULL");
    db->client.remove_listener(id);
    return tandem::ok_status();
  });
}

int tandem_set_error_handler(tandem_db* db, tandem_error_callback callback, void* context) {
  return guarded([&]() -> tandem::Status {
    if (!db) return bad("tandem_set_error_handler: db is NULL");
    if (!callback) {
      db->client.set_error_handler(nullptr);
      return tandem::ok_status();
    }
    db->client.set_error_handler([callback, context](const auto& report) {
      std::string pk = report.pk ? pk_text(*report.pk) : std::string();
      callback(context, static_cast<int>(report.code), report.message.c_str(),
               report.table ? report.table->c_str() : nullptr, report.pk ? pk.c_str() : nullptr);
    });
    return tandem::ok_status();
  });
}

}  // extern "C"
