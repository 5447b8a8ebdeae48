/* logfloor.c - the floor for storing job output (not installed): reads
 * stdin, a pipe, in 64 KiB chunks and inserts them into job_logs 16 per
 * transaction, in a database opened exactly as every jobcell program opens
 * it (lib/db.c: WAL, synchronous=FULL, same schema). bench/logs compares
 * the worker's stored MB/s against it. Trusts its command line.
 *
 *   logfloor --db PATH    store what stdin carries; prints bytes and MB/s
 *   logfloor --raw        only read stdin (raw pipe throughput)
 *
 * Exits 0, 1 on failure, 2 on usage errors. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "db.h"
#include "io.h"
#include "jc_limits.h"
#include "banned.h"

#define BATCH 16

static const char *arg_db;
static bool arg_raw;

static double
now_s(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
setup(sqlite3 *db)
{
	return db_exec(db, "INSERT INTO consumers (id, name, key_id, key_hash, "
	    "created_at) VALUES (1, 'floor', 'floor', x'00', 0); "
	    "INSERT INTO jobs (id, consumer_id, spec, timeout_ms, memory_mb, "
	    "cpus, pids, disk_mb, created_at) VALUES ('floor', 1, '{}', 1, 1, "
	    "1, 1, 1, 0)");
}

static int
store(sqlite3 *db, const char *buf, size_t len, int64_t seq)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db, "INSERT INTO job_logs (job_id, seq, stream, ts, "
	    "data) VALUES ('floor', ?, 1, 0, ?)", &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, seq) ||
	    sqlite3_bind_blob(st, 2, buf, (int) len, SQLITE_STATIC))
		return -EIO;
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "raw", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_free_ char *buf = NULL;
	sqlite3 *db = NULL;
	char errmsg[256];
	uint64_t total = 0;
	int64_t seq = 0;
	double t0, t1;
	int c, r = 0, in_tx = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': arg_db = optarg; break;
		case 'r': arg_raw = true; break;
		default:
			fprintf(stderr, "usage: logfloor --db PATH | --raw\n");
			return 2;
		}
	}
	if (!arg_raw == !arg_db) {
		fprintf(stderr, "usage: logfloor --db PATH | --raw\n");
		return 2;
	}
	if (!(buf = malloc(JC_LOG_CHUNK_BYTES)))
		return 1;
	if (arg_db && ((r = db_open(arg_db, 1, 1, &db, errmsg,
	    sizeof(errmsg))) < 0 || (r = setup(db)) < 0)) {
		fprintf(stderr, "logfloor: %s: %s\n", arg_db,
		    r == -EIO && db ? sqlite3_errmsg(db) : errmsg);
		return 1;
	}
	t0 = now_s();
	for (;;) {
		ssize_t n = read_full(0, buf, JC_LOG_CHUNK_BYTES);

		if (n < 0) {
			fprintf(stderr, "logfloor: read: %s\n", strerror((int) -n));
			return 1;
		}
		if (n == 0)
			break;
		total += (uint64_t) n;
		if (arg_raw)
			continue;
		if (!in_tx && (r = db_exec(db, "BEGIN IMMEDIATE")) < 0)
			break;
		in_tx = 1;
		if ((r = store(db, buf, (size_t) n, ++seq)) < 0)
			break;
		if (seq % BATCH == 0) {
			if ((r = db_exec(db, "COMMIT")) < 0)
				break;
			in_tx = 0;
		}
	}
	if (r == 0 && in_tx)
		r = db_exec(db, "COMMIT");
	t1 = now_s();
	if (r < 0) {
		fprintf(stderr, "logfloor: store: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	db = db_close(db);
	printf("logfloor %s bytes=%llu seconds=%.3f mb_per_s=%.1f\n",
	    arg_raw ? "raw" : "sqlite", (unsigned long long) total, t1 - t0,
	    (double) total / 1e6 / (t1 - t0));
	return 0;
}
