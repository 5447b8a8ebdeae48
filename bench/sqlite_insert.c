/* sqlite_insert.c - the SQLite floor for bench/submit: single-row
 * transactions inserting job-shaped rows into a jobcell database, with the
 * same pragmas the programs use (WAL, synchronous=FULL). Prints rows/s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db.h"
#include "keys.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

int
main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char errmsg[256], id[JC_ID_LEN + 1];
	int64_t seconds = 5, n = 0, t0, t1;

	if (argc < 2 || (argc > 2 && parse_i64(argv[2], 1, 600, &seconds) < 0)) {
		fprintf(stderr, "usage: sqlite_insert DB [SECONDS]\n");
		return 2;
	}
	if (db_open(argv[1], 1, 1, &db, errmsg, sizeof(errmsg)) < 0) {
		fprintf(stderr, "sqlite_insert: %s\n", errmsg);
		return 1;
	}
	if (db_exec(db, "INSERT OR IGNORE INTO consumers (id, name, key_id, "
	    "key_hash, created_at) VALUES (1, 'floor', 'floor', x'00', 0)") < 0 ||
	    db_prepare(db, "INSERT INTO jobs (id, consumer_id, spec, "
	    "timeout_ms, memory_mb, cpus, pids, disk_mb, created_at) VALUES "
	    "(?, 1, '{\"argv\":[\"/bin/sh\",\"-c\",\"true\"],\"env\":{}}', "
	    "60000, 512, 1, 128, 256, ?)", &st) < 0) {
		fprintf(stderr, "sqlite_insert: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	t0 = time_mono_ms();
	do {
		if (id_generate(id) < 0 || db_exec(db, "BEGIN IMMEDIATE") < 0 ||
		    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int64(st, 2, time_now_ms()) ||
		    sqlite3_step(st) != SQLITE_DONE || sqlite3_reset(st) ||
		    db_exec(db, "COMMIT") < 0) {
			fprintf(stderr, "sqlite_insert: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		n++;
		t1 = time_mono_ms();
	} while (t1 - t0 < seconds * 1000);
	printf("rows=%lld seconds=%.3f rows_per_s=%.0f\n", (long long) n,
	    (double) (t1 - t0) / 1000.0, (double) n * 1000.0 / (double) (t1 - t0));
	sqlite3_finalize(st);
	db_close(db);
	return 0;
}
