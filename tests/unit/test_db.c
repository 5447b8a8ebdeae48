/* test_db.c - lib/db.c's schema handling: a new file gets the current
 * schema, a version-1 file is migrated in place (keeping its rows), a file
 * newer than the program is refused, and programs that do not migrate
 * refuse an old file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "db.h"
#include "tap.h"

static char dir[64];

static int
scalar(sqlite3 *db, const char *sql, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db, sql, &st)) < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

static void
rm_db(const char *path)
{
	char p[128];

	(void) unlink(path);
	(void) snprintf(p, sizeof(p), "%s-wal", path);
	(void) unlink(p);
	(void) snprintf(p, sizeof(p), "%s-shm", path);
	(void) unlink(p);
}

/* The triggers keep consumers.queued and day_count right through every
 * kind of change to jobs. db holds consumer 1 with 3 queued jobs and 3
 * jobs today. */
static void
test_counters(sqlite3 *db)
{
	int64_t v = -1;

	is_int(db_exec(db, "UPDATE jobs SET status = 'running' WHERE id = 'j1'"),
	    0, "claim");
	is_int(scalar(db, "SELECT queued FROM consumers", &v), 0, "queued");
	is_int(v, 2, "a claim leaves the queue");
	is_int(db_exec(db, "UPDATE jobs SET status = 'succeeded' WHERE id = 'j1'; "
	    "UPDATE jobs SET exit_code = 0 WHERE id = 'j2'"), 0, "finish");
	is_int(scalar(db, "SELECT queued FROM consumers", &v), 0, "queued");
	is_int(v, 2, "running -> succeeded and other columns: no change");
	is_int(db_exec(db, "UPDATE jobs SET status = 'cancelled' WHERE id = 'j2'"),
	    0, "cancel a queued job");
	is_int(scalar(db, "SELECT queued FROM consumers", &v), 0, "queued");
	is_int(v, 1, "a cancel leaves the queue");
	is_int(db_exec(db, "DELETE FROM jobs WHERE id = 'j4'"), 0, "delete");
	is_int(scalar(db, "SELECT queued FROM consumers", &v), 0, "queued");
	is_int(v, 0, "a deleted queued job leaves the queue");
	/* A new day starts the count again; an older day's job does not. */
	is_int(db_exec(db, "INSERT INTO jobs (id, consumer_id, spec, timeout_ms, "
	    "memory_mb, cpus, pids, disk_mb, created_at) VALUES ('j5', 1, '{}', "
	    "1, 1, 1, 1, 1, (SELECT day_start FROM consumers) + 86400000 + 5)"),
	    0, "a job tomorrow");
	is_int(scalar(db, "SELECT day_count FROM consumers", &v), 0, "count");
	is_int(v, 1, "a new day counts from 1");
	is_int(db_exec(db, "INSERT INTO jobs (id, consumer_id, spec, timeout_ms, "
	    "memory_mb, cpus, pids, disk_mb, created_at) VALUES ('j6', 1, '{}', "
	    "1, 1, 1, 1, 1, 7)"), 0, "a job of long ago");
	is_int(scalar(db, "SELECT day_count FROM consumers", &v), 0, "count");
	is_int(v, 1, "an older day's job does not count today");
	is_int(scalar(db, "SELECT queued FROM consumers", &v), 0, "queued");
	is_int(v, 2, "inserted queued jobs are counted");
}

int
main(void)
{
	char path[128], err[256];
	sqlite3 *db = NULL;
	int64_t v = -1;

	(void) snprintf(dir, sizeof(dir), "/tmp/jobcell-test-db-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	(void) snprintf(path, sizeof(path), "%s/j.db", dir);

	/* A new file: the whole schema at the current version. */
	is_int(db_open(path, 1, 1, &db, err, sizeof(err)), 0, "create");
	is_int(scalar(db, "PRAGMA user_version", &v), 0, "read version");
	is_int(v, DB_SCHEMA_VERSION, "new file is at the current version");
	is_int(db_exec(db, "INSERT INTO supervisors (pid, slots, started_at, "
	    "heartbeat_at) VALUES (1, 2, 3, 4)"), 0, "insert a supervisor");
	is_int(scalar(db, "SELECT sandboxes = 'namespace' FROM supervisors",
	    &v), 0, "read sandboxes");
	is_int(v, 1, "sandboxes defaults to namespace");
	db = db_close(db);
	rm_db(path);

	/* Version 1 as it was shipped (the table that changed), with a row. */
	is_int(db_open(path, 1, 0, &db, err, sizeof(err)), -EPROTO,
	    "a program that does not migrate refuses an empty file");
	db = db_close(db);
	is_int(db_open(path, 1, 1, &db, err, sizeof(err)), 0, "reopen");
	is_int(
	    db_exec(db,
		"DROP TABLE supervisors; CREATE TABLE supervisors "
		"(pid INTEGER PRIMARY KEY, slots INTEGER NOT NULL, started_at "
		"INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL); INSERT INTO "
		"supervisors VALUES (7, 2, 3, 4); "
		"DROP TRIGGER jobs_counters_insert; "
		"DROP TRIGGER jobs_counters_status; "
		"DROP TRIGGER jobs_counters_delete; "
		"ALTER TABLE consumers DROP COLUMN queued; "
		"ALTER TABLE consumers DROP COLUMN day_start; "
		"ALTER TABLE consumers DROP COLUMN day_count; "
		"DROP TRIGGER storage_blob_insert; DROP TRIGGER storage_blob_delete; "
		"DROP TRIGGER storage_artifact_insert; "
		"DROP TRIGGER storage_artifact_delete; "
		"DROP TRIGGER storage_logs_update; DROP TRIGGER storage_logs_delete; "
		"DROP TABLE job_blobs; DROP TABLE artifacts; DROP TABLE blobs; "
		"ALTER TABLE consumers DROP COLUMN max_storage_mb; "
		"ALTER TABLE consumers DROP COLUMN storage_bytes; "
		"ALTER TABLE jobs DROP COLUMN artifacts_truncated; "
		"DROP TABLE runtimes; "
		"ALTER TABLE jobs DROP COLUMN runtime; "
		"ALTER TABLE jobs DROP COLUMN runtime_version; "
		"ALTER TABLE jobs DROP COLUMN compile_exit_code; "
		"ALTER TABLE jobs DROP COLUMN compile_signal; "
		"ALTER TABLE jobs DROP COLUMN compile_timed_out; "
		"ALTER TABLE jobs DROP COLUMN compile_duration_ms; "
		"DROP TABLE images; ALTER TABLE jobs DROP COLUMN kind; "
		"ALTER TABLE consumers DROP COLUMN max_images; "
		"DROP TABLE job_logs; CREATE TABLE job_logs (job_id TEXT NOT "
		"NULL REFERENCES jobs(id) ON DELETE CASCADE, seq INTEGER NOT "
		"NULL, stream INTEGER NOT NULL CHECK (stream IN (1, 2)), ts "
		"INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (job_id, "
		"seq)) WITHOUT ROWID; "
		"PRAGMA user_version = 1"),
	    0, "make a version-1 file");
	/* Jobs of a version-1 file: two queued today, one running today, one
	 * queued on an older day. */
	is_int(
	    db_exec(db,
		"INSERT INTO consumers (id, name, key_id, key_hash, "
		"created_at) VALUES (1, 'a', 'k', x'00', 0); "
		"INSERT INTO jobs (id, consumer_id, spec, timeout_ms, memory_mb, "
		"cpus, pids, disk_mb, status, created_at) VALUES "
		"('j1', 1, '{}', 1, 1, 1, 1, 1, 'queued', "
		" CAST(strftime('%s', 'now') AS INTEGER) * 1000), "
		"('j2', 1, '{}', 1, 1, 1, 1, 1, 'queued', "
		" CAST(strftime('%s', 'now') AS INTEGER) * 1000), "
		"('j3', 1, '{}', 1, 1, 1, 1, 1, 'running', "
		" CAST(strftime('%s', 'now') AS INTEGER) * 1000), "
		"('j4', 1, '{}', 1, 1, 1, 1, 1, 'queued', 1000); "
		"UPDATE jobs SET log_bytes = 100 WHERE id IN ('j3', 'j4'); "
		"INSERT INTO job_logs VALUES ('j3', 1, 2, 0, x'6869')"),
	    0, "version-1 jobs");
	db = db_close(db);
	is_int(db_open(path, 0, 0, &db, err, sizeof(err)), -EPROTO,
	    "a program that does not migrate refuses version 1");
	ok(strstr(err, "jobcell-admin init") != NULL, "and says what to run: %s",
	    err);
	db = db_close(db);
	is_int(db_open(path, 0, 1, &db, err, sizeof(err)), 0, "migrate: %s",
	    err);
	is_int(scalar(db, "PRAGMA user_version", &v), 0, "read version");
	is_int(v, DB_SCHEMA_VERSION, "migrated to the current version");
	is_int(scalar(db, "SELECT pid FROM supervisors WHERE sandboxes = "
	    "'namespace'", &v), 0, "the old row has the new column");
	is_int(v, 7, "the old row is kept");
	is_int(scalar(db, "SELECT queued FROM consumers", &v), 0, "queued");
	is_int(v, 3, "migration 3 counts the queued jobs");
	is_int(scalar(db, "SELECT day_count FROM consumers WHERE day_start = "
	    "CAST(strftime('%s', 'now') AS INTEGER) / 86400 * 86400000", &v), 0,
	    "day_count");
	is_int(v, 3, "and today's jobs");
	is_int(scalar(db, "SELECT storage_bytes FROM consumers", &v), 0,
	    "storage_bytes");
	is_int(v, 200, "migration 4 counts the stored log bytes");
	is_int(scalar(db,
		   "SELECT stream FROM job_logs WHERE job_id = 'j3' AND "
		   "data = x'6869'",
		   &v),
	    0, "the old log row");
	is_int(v, 2, "migration 5 keeps the log rows");
	is_int(db_exec(db,
		   "INSERT INTO job_logs VALUES ('j3', 2, 3, 0, x'00');"
		   "UPDATE jobs SET compile_exit_code = 1 WHERE id = 'j3'; "
		   "DELETE FROM job_logs WHERE seq = 2"),
	    0, "migration 5 takes compile streams and results");
	is_int(db_exec(db,
		   "INSERT INTO job_logs VALUES ('j3', 3, 5, 0, x'00')"),
	    -EEXIST, "but no stream 5");
	is_int(
	    db_exec(db,
		"INSERT INTO blobs VALUES (1, 'ab', 50, 0, 0); "
		"INSERT INTO artifacts VALUES ('j3', 1, 'a/b', '1', 7, 'cd', 0, 0); "
		"UPDATE jobs SET log_bytes = 150 WHERE id = 'j3'"),
	    0, "store a blob, an artifact, more log");
	is_int(scalar(db, "SELECT storage_bytes FROM consumers", &v), 0,
	    "storage_bytes");
	is_int(v, 307, "the triggers add blobs, artifacts and logs");
	is_int(db_exec(db,
		   "DELETE FROM jobs WHERE id = 'j3'; "
		   "DELETE FROM blobs"),
	    0, "delete the job and the blob");
	is_int(scalar(db, "SELECT storage_bytes FROM consumers", &v), 0,
	    "storage_bytes");
	is_int(v, 100, "and subtract them again, cascaded artifacts too");
	test_counters(db);
	is_int(db_exec(db,
		   "INSERT INTO runtimes (supervisor_pid, name, version, file, "
		   "run, compile_timeout_ms, compile_memory_mb, image) VALUES "
		   "(7, 'sh', '5', 'main.sh', '[]', 1, 1, 'img')"),
	    0, "migrations 5 and 6 make the runtimes table, with image");
	is_int(scalar(db, "SELECT probed FROM runtimes WHERE name = 'sh'", &v),
	    0, "read probed");
	is_int(v, 1, "migration 7: a runtime is probed unless it says not");
	db = db_close(db);

	/* Newer than this program: refused, untouched. */
	is_int(db_open(path, 0, 1, &db, err, sizeof(err)), 0, "reopen");
	is_int(db_exec(db, "PRAGMA user_version = 99"), 0, "pretend newer");
	db = db_close(db);
	is_int(db_open(path, 0, 1, &db, err, sizeof(err)), -EPROTO,
	    "a newer schema is refused");
	ok(strstr(err, "newer") != NULL, "and says so: %s", err);
	db = db_close(db);

	rm_db(path);
	(void) rmdir(dir);
	return done_testing();
}
