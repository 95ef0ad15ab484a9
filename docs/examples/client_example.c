/* A complete Tandem client: syncs a local replica, writes a row, reads it back with SQL,
 * and prints the changes it hears of. Usage: client_example URL TOKEN DB_PATH */
#include <stdio.h>
#include <tandem/tandem.h>

static void on_change(void* context, const char* table, int op, const char* pk_json, int origin) {
  static const char* ops[] = {"insert", "update", "delete"};
  (void)context;
  printf("%s %s %s (%s)\n", ops[op], table, pk_json,
         origin == TANDEM_ORIGIN_LOCAL ? "local" : "from the server");
}

static int print_row(void* context, const char* row_json) {
  (void)context;
  printf("row: %s\n", row_json);
  return 0; /* continue */
}

static int check(int code, const char* what) {
  if (code != TANDEM_OK)
    fprintf(stderr, "%s failed: %s: %s\n", what, tandem_code_name(code), tandem_last_error());
  return code;
}

int main(int argc, char** argv) {
  tandem_db* db = NULL;
  int failed = 1;
  if (argc != 4) {
    fprintf(stderr, "usage: %s URL TOKEN DB_PATH\n", argv[0]);
    return 2;
  }
  if (check(tandem_open(argv[3], &db), "open")) return 1;
  tandem_add_listener(db, on_change, NULL, NULL);

  /* Sync runs on a background thread from here on; the first sync brings the tables. */
  if (check(tandem_start_sync(db, argv[1], argv[2], NULL), "start sync")) goto done;
  if (check(tandem_wait_synced(db, 0, 10000), "first sync")) goto done;

  /* A write is local at once, and queued for the server in the same transaction. */
  if (check(tandem_insert(db, "past_orders",
                          "{\"id\": \"o-example\", \"item_name\": \"Filter\", \"quantity\": 2}"),
            "insert"))
    goto done;
  if (check(tandem_query(db, "SELECT id, item_name, quantity FROM past_orders ORDER BY id", NULL,
                         print_row, NULL),
            "query"))
    goto done;

  /* Wait until the server has acknowledged it. */
  if (check(tandem_wait_synced(db, 0, 10000), "upload")) goto done;
  tandem_status status;
  tandem_get_status(db, &status);
  printf("synced: checkpoint %llu, %lld pending\n", (unsigned long long)status.checkpoint_seq,
         (long long)status.pending_uploads);
  failed = 0;
done:
  tandem_close(db); /* stops sync */
  return failed;
}
