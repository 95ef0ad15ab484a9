/* The C API used from C: open, sync, writes, query, listener, status and error paths.
 * Usage: c_api_program URL ADMIN_TOKEN DB_PATH. Exits 0 when every check passed. */
#include <stdio.h>
#include <string.h>
#include <tandem/tandem.h>

static int failures = 0;

#define EXPECT(condition)                                                                      \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      fprintf(stderr, "%s:%d: expected %s (last error: %s)\n", __FILE__, __LINE__, #condition, \
              tandem_last_error());                                                            \
      ++failures;                                                                              \
    }                                                                                          \
  } while (0)

struct counts {
  int local_inserts;
  int local_updates;
  int local_deletes;
};

static void on_change(void* context, const char* table, int op, const char* pk_json, int origin) {
  struct counts* counts = (struct counts*)context;
  if (strcmp(table, "items") != 0 || origin != TANDEM_ORIGIN_LOCAL) return;
  if (strcmp(pk_json, "{\"id\":\"c1\"}") != 0) return;
  if (op == TANDEM_OP_INSERT) ++counts->local_inserts;
  if (op == TANDEM_OP_UPDATE) ++counts->local_updates;
  if (op == TANDEM_OP_DELETE) ++counts->local_deletes;
}

static int collect(void* context, const char* row_json) {
  char* out = (char*)context;
  strncat(out, row_json, 1000 - strlen(out) - 1);
  return 0;
}

int main(int argc, char** argv) {
  tandem_db* db = NULL;
  struct counts counts = {0, 0, 0};
  char rows[1000] = "";
  uint64_t listener = 0;
  tandem_sync_options options;
  tandem_status status;
  char client_id[80];
  if (argc != 4) return 2;

  EXPECT(tandem_open(NULL, &db) == TANDEM_BAD_REQUEST);
  EXPECT(strlen(tandem_last_error()) > 0);
  EXPECT(tandem_open(argv[3], &db) == TANDEM_OK);
  EXPECT(tandem_client_id(db, client_id, sizeof client_id) == TANDEM_OK);
  EXPECT(strncmp(client_id, "c-", 2) == 0);
  /* Before the first sync the replica has no tables. */
  EXPECT(tandem_insert(db, "items", "{\"id\":\"c0\"}") == TANDEM_UNKNOWN_TABLE);
  EXPECT(tandem_start_sync(db, "http://nope", argv[2], NULL) == TANDEM_BAD_REQUEST);

  tandem_sync_options_init(&options);
  options.backoff_initial_ms = 20;
  EXPECT(tandem_start_sync(db, argv[1], argv[2], &options) == TANDEM_OK);
  EXPECT(tandem_start_sync(db, argv[1], argv[2], &options) == TANDEM_BAD_REQUEST);
  EXPECT(tandem_wait_synced(db, 0, 10000) == TANDEM_OK);
  EXPECT(tandem_add_listener(db, on_change, &counts, &listener) == TANDEM_OK);

  EXPECT(tandem_insert(db, "items", "{\"id\":\"c1\",\"a\":\"x\",\"b\":1}") == TANDEM_OK);
  EXPECT(tandem_update(db, "items", "{\"id\":\"c1\"}", "{\"b\":2}") == TANDEM_OK);
  EXPECT(tandem_query(db, "SELECT id, b FROM items WHERE id = ?", "[\"c1\"]", collect, rows) ==
         TANDEM_OK);
  EXPECT(strcmp(rows, "{\"id\":\"c1\",\"b\":2}") == 0);
  EXPECT(tandem_delete(db, "items", "{\"id\":\"c1\"}") == TANDEM_OK);

  /* Errors come back with a code and a message; nothing is half-done. */
  EXPECT(tandem_insert(db, "items", "{not json") == TANDEM_MALFORMED_MESSAGE);
  EXPECT(tandem_insert(db, "items", "{\"id\":\"c2\",\"nope\":1}") == TANDEM_INVALID_MUTATION);
  EXPECT(strstr(tandem_last_error(), "nope") != NULL);
  EXPECT(tandem_update(db, "items", "{\"id\":\"c1\"}", "{\"id\":\"c9\"}") ==
         TANDEM_INVALID_MUTATION);
  EXPECT(tandem_insert(db, "no_such_table", "{\"id\":1}") == TANDEM_UNKNOWN_TABLE);
  EXPECT(tandem_query(db, "DROP TABLE items", NULL, collect, rows) == TANDEM_BAD_REQUEST);
  EXPECT(tandem_query(db, "SELECT nothing FROM nowhere", NULL, collect, rows) ==
         TANDEM_BAD_REQUEST);

  EXPECT(tandem_wait_synced(db, 0, 10000) == TANDEM_OK);
  EXPECT(tandem_get_status(db, &status) == TANDEM_OK);
  EXPECT(status.connected == 1);
  EXPECT(status.state == TANDEM_STATE_LIVE);
  EXPECT(status.pending_uploads == 0);
  EXPECT(status.has_checkpoint == 1);
  EXPECT(status.checkpoint_seq >= status.server_seq);

  EXPECT(counts.local_inserts == 1);
  EXPECT(counts.local_updates == 1);
  EXPECT(counts.local_deletes == 1);
  EXPECT(tandem_remove_listener(db, listener) == TANDEM_OK);
  EXPECT(strcmp(tandem_code_name(TANDEM_TOKEN_EXPIRED), "token_expired") == 0);

  EXPECT(tandem_stop_sync(db) == TANDEM_OK);
  tandem_close(db);
  tandem_close(NULL);
  if (failures == 0) printf("all checks passed\n");
  return failures == 0 ? 0 : 1;
}
