/*
 * Tandem client SDK, C API (version 1).
 *
 * A tandem_db is a local SQLite replica of the tables a user may see on a Tandem server,
 * kept in step in both directions by a background sync thread. Read it with plain SQL
 * (tandem_query); write through tandem_insert / tandem_update / tandem_delete, which change
 * the local row and queue the mutation in one transaction, so a write is visible at once and
 * survives a crash until the server has acknowledged it. docs/client.md is the guide.
 *
 * Conventions
 *  - Every function that can fail returns an int code: TANDEM_OK (0) or a TANDEM_* error.
 *    The message of the last failure on the calling thread is tandem_last_error(). No
 *    function throws or aborts on bad input; errors are never swallowed.
 *  - Strings passed in are UTF-8 and NUL-terminated; the library copies what it keeps.
 *    Strings passed to callbacks are valid only during the call.
 *  - Rows, primary keys and parameters are JSON text (protocol values: null, integers, reals,
 *    strings, and {"$b64": "..."} for blobs).
 *  - Thread-safety is stated on each function. "Any thread" means the function may be called
 *    concurrently from several threads on the same handle.
 */
#ifndef TANDEM_TANDEM_H
#define TANDEM_TANDEM_H

#include <stddef.h>
#include <stdint.h>

/* TANDEM_API marks the entry points a shared build of the library exports (with
 * -fvisibility=hidden everything else stays private); a static build needs nothing. */
#if defined(_WIN32)
#if defined(TANDEM_BUILDING_SHARED)
#define TANDEM_API __declspec(dllexport)
#elif defined(TANDEM_USING_SHARED)
#define TANDEM_API __declspec(dllimport)
#else
#define TANDEM_API
#endif
#else
#define TANDEM_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- result codes: the same numbers and names as the server's error codes ------------- */

#define TANDEM_OK 0
#define TANDEM_BAD_REQUEST 1       /* invalid argument or call (e.g. sync already running) */
#define TANDEM_MALFORMED_MESSAGE 2 /* bad JSON given, or a bad message from the server */
#define TANDEM_UNKNOWN_MESSAGE_TYPE 3
#define TANDEM_FRAME_TOO_LARGE 4
#define TANDEM_PROTOCOL_VERSION 5
#define TANDEM_UNAUTHENTICATED 6 /* the server refused the token */
#define TANDEM_TOKEN_EXPIRED 7
#define TANDEM_FORBIDDEN 8 /* the rules refuse the write (e.g. a read-only table) */
#define TANDEM_NOT_FOUND 9
#define TANDEM_UNKNOWN_TABLE 10    /* no such table in the replica */
#define TANDEM_INVALID_MUTATION 11 /* unknown column, missing or changed primary key */
#define TANDEM_CLOCK_SKEW 12
#define TANDEM_CHECKPOINT_EXPIRED 13
#define TANDEM_NO_PRIMARY_KEY 14
#define TANDEM_INVALID_IDENTIFIER 15
#define TANDEM_CONFIG_INVALID 16
#define TANDEM_UNAVAILABLE 17 /* the server cannot be reached; a wait timed out */
#define TANDEM_SHUTTING_DOWN 18
#define TANDEM_INTERNAL 19 /* an unexpected failure (I/O error, corrupt file) */
#define TANDEM_RATE_LIMITED 20

/* The stable name of a code, e.g. "unauthenticated"; "internal" for an unknown code.
 * Static storage. Any thread. */
TANDEM_API const char* tandem_code_name(int code);

/* The message of the last failed call made on this thread ("" if none). Valid until the
 * next call on this thread. Any thread (the message is thread-local). */
TANDEM_API const char* tandem_last_error(void);

/* ---- opening and closing -------------------------------------------------------------- */

typedef struct tandem_db tandem_db;

/* Opens the replica at `path`, creating it if needed, and stores the handle in *db. The
 * caller owns the handle and must release it with tandem_close. Any thread. */
TANDEM_API int tandem_open(const char* path, tandem_db** db);

/* Stops sync (waiting for the sync thread to end), then releases the handle. NULL is a
 * no-op. Not concurrently with any other call on the same handle, and never from inside a
 * callback of that handle. */
TANDEM_API void tandem_close(tandem_db* db);

/* Copies the replica's client id (generated once, kept in the file) into buf (NUL-terminated,
 * truncated to size - 1). Any thread. */
TANDEM_API int tandem_client_id(tandem_db* db, char* buf, size_t size);

/* ---- sync ------------------------------------------------------------------------------ */

typedef struct tandem_sync_options {  // NOLINT(readability-identifier-naming): C names
  /* sizeof(tandem_sync_options) as the application was compiled, set by
   * tandem_sync_options_init: fields added in later versions go at the end, and the library
   * reads only the fields the application knows of (the others keep their defaults). */
  size_t size;
  int backoff_initial_ms; /* first reconnect delay bound; default 500 */
  int backoff_max_ms;     /* cap of the exponential bound; default 30000 */
  int push_batch;         /* mutations per push, 1..1000; default 500 */
  int timeout_ms;         /* connect + handshake, and each write; default 10000 */
  const char* ca_file;    /* wss://: extra trusted CA certificates (PEM file); NULL: none */
} tandem_sync_options;

/* Fills *options with the defaults. Any thread. */
TANDEM_API void tandem_sync_options_init(tandem_sync_options* options);

/* Starts the background sync thread: connects to `url` (ws://host:port/sync or wss://...)
 * with `token` (a JWT), receives the tables the user may see, pushes queued writes and
 * applies the server's changes; reconnects with exponential backoff and full jitter and
 * resumes from the stored checkpoint. `options` may be NULL (defaults). Returns once the
 * thread runs; connection errors are reported through the status and the error handler.
 * TANDEM_BAD_REQUEST if sync already runs or the URL is not ws:// or wss://. Any thread. */
TANDEM_API int tandem_start_sync(tandem_db* db, const char* url, const char* token,
                                 const tandem_sync_options* options);

/* Stops the sync thread (waits for it). Queued writes stay queued. No-op when not running.
 * Any thread except the handle's callbacks. */
TANDEM_API int tandem_stop_sync(tandem_db* db);

/* Replaces the token used for the next connection (the current one keeps its session).
 * Ends a TANDEM_STATE_FAILED state (e.g. after token_expired): sync retries at once. Any
 * thread. */
TANDEM_API int tandem_set_token(tandem_db* db, const char* token);

#define TANDEM_STATE_STOPPED 0
#define TANDEM_STATE_CONNECTING 1
#define TANDEM_STATE_SYNCING 2 /* receiving a snapshot or catching up */
#define TANDEM_STATE_LIVE 3    /* caught up; changes stream live */
#define TANDEM_STATE_BACKOFF 4 /* disconnected, waiting to reconnect */
#define TANDEM_STATE_FAILED 5  /* fatal error (bad token, ...): waits for tandem_set_token */

typedef struct tandem_status {  // NOLINT(readability-identifier-naming): C names
  int state;                    /* TANDEM_STATE_* */
  int connected;                /* 1 when a session is established */
  int64_t pending_uploads;      /* local mutations not yet acknowledged by the server */
  int has_checkpoint;           /* 0 until the first checkpoint */
  uint64_t checkpoint_seq;      /* the server log position the replica holds */
  uint64_t server_seq;          /* the server's log head at the last connection */
  int in_snapshot;              /* 1 during an initial (or reset) snapshot */
  uint64_t snapshot_rows;       /* rows received so far in that snapshot */
  int64_t snapshot_rows_total;  /* the server's estimate, -1 when unknown */
  uint64_t reconnects;          /* connections after the first */
  int last_error_code;          /* TANDEM_OK when no error happened yet */
  char last_error[256];         /* its message, truncated */
} tandem_status;

/* Fills *status. Any thread. */
TANDEM_API int tandem_get_status(tandem_db* db, tandem_status* status);

/* Waits until the replica is connected, out of any snapshot, has no pending upload, and its
 * checkpoint is at least `min_seq` and the server's head as of the connection. Returns
 * TANDEM_OK, TANDEM_UNAVAILABLE after `timeout_ms`, or the fatal error's code. Any thread
 * except the handle's callbacks. */
TANDEM_API int tandem_wait_synced(tandem_db* db, uint64_t min_seq, int timeout_ms);

/* ---- writes ----------------------------------------------------------------------------- */
/* Each applies the write to the local table and queues it for the server in one
 * transaction; listeners are called (origin TANDEM_ORIGIN_LOCAL) on the calling thread
 * before it returns. Needs the table list, which the first successful sync stores.
 * TANDEM_UNKNOWN_TABLE, TANDEM_FORBIDDEN (read-only table), TANDEM_INVALID_MUTATION or
 * TANDEM_MALFORMED_MESSAGE for a write that cannot be valid. The server may still refuse a
 * write (rules it alone knows) or keep later values (a concurrent edit): the local row then
 * becomes the server's, listeners are told, and a refusal goes to the error handler.
 * Any thread. */

/* row_json: the whole row, primary key included: {"id": "o-1", "qty": 2}. Inserting an
 * existing row updates the given columns. */
TANDEM_API int tandem_insert(tandem_db* db, const char* table, const char* row_json);
/* pk_json: the primary key, {"id": "o-1"}; values_json: the columns to change. */
TANDEM_API int tandem_update(tandem_db* db, const char* table, const char* pk_json,
                             const char* values_json);
TANDEM_API int tandem_delete(tandem_db* db, const char* table, const char* pk_json);

/* ---- reads ------------------------------------------------------------------------------ */

/* Called once per result row with the row as a JSON object (columns in result order).
 * Return 0 to continue, non-zero to stop. */
typedef int (*tandem_row_callback)(void* context, const char* row_json);

/* Runs one read-only SQL statement on the replica. `params_json` is NULL or a JSON array
 * bound to the statement's parameters in order. Writes through SQL are refused
 * (TANDEM_BAD_REQUEST): they would not be synced. Reads never wait for the sync thread
 * (WAL). Any thread; calls on one handle are serialized. */
TANDEM_API int tandem_query(tandem_db* db, const char* sql, const char* params_json,
                            tandem_row_callback callback, void* context);

/* ---- listeners and errors --------------------------------------------------------------- */

#define TANDEM_OP_INSERT 0
#define TANDEM_OP_UPDATE 1
#define TANDEM_OP_DELETE 2

#define TANDEM_ORIGIN_LOCAL 0 /* a write made through this handle */
#define TANDEM_ORIGIN_REMOTE                                      \
  1 /* the server's: another replica, the database, or the server \
       overriding a local write */

/* Called once per change of the visible content of a row, after the transaction that made
 * it has committed: remote changes on the sync thread, local writes on the writing thread.
 * A change from the server that leaves the row as it was (e.g. the echo of this replica's
 * own write) is not reported. */
typedef void (*tandem_change_callback)(void* context, const char* table, int op,
                                       const char* pk_json, int origin);

/* Registers a listener; *id receives its id. Callbacks of one handle never run
 * concurrently. Any thread, including callbacks. */
TANDEM_API int tandem_add_listener(tandem_db* db, tandem_change_callback callback, void* context,
                                   uint64_t* id);

/* After it returns the listener is not running and is never called again (from another
 * thread it waits for a running callback to finish). Any thread, including callbacks. */
TANDEM_API int tandem_remove_listener(tandem_db* db, uint64_t id);

/* Called for every error the sync thread meets: a write the server refused (table and
 * pk_json set) and connection or protocol errors (table and pk_json NULL). Same threading
 * as change callbacks. NULL removes the handler. Any thread. */
typedef void (*tandem_error_callback)(void* context, int code, const char* message,
                                      const char* table, const char* pk_json);
TANDEM_API int tandem_set_error_handler(tandem_db* db, tandem_error_callback callback,
                                        void* context);

#ifdef __cplusplus
}
#endif

#endif /* TANDEM_TANDEM_H */
