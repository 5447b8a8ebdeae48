/* test_gc.c - lib/gc.c on a real SQLite database and a real data
 * directory in a temporary folder: which jobs, artifacts, blobs and
 * orphan files a pass deletes and which it keeps (a blob a queued job
 * names, recent files, a live job's folder), that --dry-run deletes
 * nothing, that the consumer's storage_bytes follows, and that the
 * database file shrinks after many logs are deleted (auto_vacuum
 * INCREMENTAL + incremental_vacuum). Artifact rows and files are made
 * here through the real schema (the collect helper's code is not used). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "db.h"
#include "gc.h"
#include "io.h"
#include "tap.h"
#include "banned.h"

#define DAY_MS 86400000LL
#define HEX_X "1111111111111111111111111111111111111111111111111111111111111111"
#define HEX_Y "2222222222222222222222222222222222222222222222222222222222222222"
#define HEX_Z "3333333333333333333333333333333333333333333333333333333333333333"
#define HEX_O "4444444444444444444444444444444444444444444444444444444444444444"
/* Job ids: 26 chars of [0-9a-z]. */
#define JOB_OLD "00000000000000000000000001"
#define JOB_NEW "00000000000000000000000002"
#define JOB_LIVE "00000000000000000000000003"
#define JOB_GONE "00000000000000000000000009"

static char dir[64];
static int64_t now;

static void
path_of(char *buf, size_t size, const char *rel)
{
	(void) snprintf(buf, size, "%s/data/%s", dir, rel);
}

/* A file of n bytes under DATA, its mtime age_ms in the past. */
static void
make_file(const char *rel, size_t n, int64_t age_ms)
{
	char p[512];
	static char zeros[4096];
	int fd;

	path_of(p, sizeof(p), rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		diag("cannot create %s: %s", p, strerror(errno));
		return;
	}
	while (n > 0) {
		size_t k = n < sizeof(zeros) ? n : sizeof(zeros);

		if (write_full(fd, zeros, k) < 0)
			break;
		n -= k;
	}
	if (age_ms > 0) {
		struct timespec ts[2];

		ts[0].tv_sec = ts[1].tv_sec = (time_t) ((now - age_ms) / 1000);
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		(void) futimens(fd, ts);
	}
	close(fd);
}

static bool
exists(const char *rel)
{
	char p[512];
	struct stat st;

	path_of(p, sizeof(p), rel);
	return lstat(p, &st) == 0;
}

static void
make_dir(const char *rel)
{
	char p[512];

	path_of(p, sizeof(p), rel);
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		diag("cannot mkdir %s: %s", p, strerror(errno));
}

static int64_t
count(sqlite3 *db, const char *sql)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (db_prepare(db, sql, &st) < 0 || sqlite3_step(st) != SQLITE_ROW)
		return -1;
	return sqlite3_column_int64(st, 0);
}

static int exec_fmt(sqlite3 *db, const char *fmt, ...) TAP_PRINTF(2, 3);

static int
exec_fmt(sqlite3 *db, const char *fmt, ...)
{
	char *sql;
	va_list ap;
	int r;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (!sql)
		return -ENOMEM;
	r = db_exec(db, sql);
	if (r < 0)
		diag("sql failed: %s: %s", sql, sqlite3_errmsg(db));
	sqlite3_free(sql);
	return r;
}

static void
add_job(sqlite3 *db, const char *id, const char *status, int64_t finished)
{
	char fin[32] = "NULL";

	if (finished)
		(void) snprintf(fin, sizeof(fin), "%lld", (long long) finished);
	ok(exec_fmt(db,
	       "INSERT INTO jobs (id, consumer_id, status, spec, "
	       "timeout_ms, memory_mb, cpus, pids, disk_mb, created_at, "
	       "finished_at) VALUES ('%s', 1, '%s', '{}', 1000, 64, 1, 16, 64, "
	       "%lld, %s)",
	       id, status, (long long) now - 50 * DAY_MS, fin) == 0,
	    "job %s", id);
}

/* n log chunks of size bytes, and log_bytes as the worker keeps it. */
static void
add_logs(sqlite3 *db, const char *id, int n, int size)
{
	ok(db_exec(db, "BEGIN") == 0, "begin logs");
	for (int i = 1; i <= n; i++)
		if (exec_fmt(db,
			"INSERT INTO job_logs (job_id, seq, stream, ts, "
			"data) VALUES ('%s', %d, 1, 0, zeroblob(%d))",
			id, i, size) < 0)
			break;
	ok(exec_fmt(db, "UPDATE jobs SET log_bytes = %lld WHERE id = '%s'",
	       (long long) n * size, id) == 0,
	    "log_bytes");
	ok(db_exec(db, "COMMIT") == 0, "commit logs");
}

static void
setup(sqlite3 *db)
{
	static const char *const dirs[] = { "", "uploads", "blobs", "blobs/1",
		"artifacts", "artifacts/" JOB_NEW, "artifacts/" JOB_OLD,
		"artifacts/" JOB_GONE, "artifacts/" JOB_NEW "/sub" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		make_dir(dirs[i]);
	ok(db_exec(db,
	       "INSERT INTO consumers (id, name, key_id, key_hash, "
	       "created_at) VALUES (1, 'c', 'k', x'00', 0)") == 0,
	    "consumer");
	add_job(db, JOB_OLD, "succeeded", now - 40 * DAY_MS);
	add_job(db, JOB_NEW, "failed", now - DAY_MS);
	add_job(db, JOB_LIVE, "queued", 0);
	add_logs(db, JOB_OLD, 2000, 4096); /* 8 MB to give back */
	add_logs(db, JOB_NEW, 2, 100);
	/* Artifacts: of the old job (go with it), one expired and one kept
	 * of the new job; one kept in a subfolder. */
	ok(exec_fmt(db,
	       "INSERT INTO artifacts VALUES ('%s', 1, 'a.txt', "
	       "'a.txt', 10, '%s', 0, %lld)",
	       JOB_OLD, HEX_X, (long long) now + DAY_MS) == 0,
	    "artifact of old job");
	ok(exec_fmt(db,
	       "INSERT INTO artifacts VALUES ('%s', 1, 'b.txt', "
	       "'b.txt', 20, '%s', 0, %lld)",
	       JOB_NEW, HEX_X, (long long) now - 1) == 0,
	    "expired artifact");
	ok(exec_fmt(db,
	       "INSERT INTO artifacts VALUES ('%s', 1, 'c.txt', "
	       "'c.txt', 30, '%s', 0, %lld)",
	       JOB_NEW, HEX_X, (long long) now + DAY_MS) == 0,
	    "kept artifact");
	ok(exec_fmt(db,
	       "INSERT INTO artifacts VALUES ('%s', 1, 'sub/d.txt', "
	       "'sub/d.txt', 40, '%s', 0, %lld)",
	       JOB_NEW, HEX_X, (long long) now + DAY_MS) == 0,
	    "kept artifact in a folder");
	make_file("artifacts/" JOB_OLD "/a.txt", 10, 2 * 3600000);
	make_file("artifacts/" JOB_NEW "/b.txt", 20, 2 * 3600000);
	make_file("artifacts/" JOB_NEW "/c.txt", 30, 2 * 3600000);
	make_file("artifacts/" JOB_NEW "/sub/d.txt", 40, 2 * 3600000);
	make_file("artifacts/" JOB_NEW "/stray", 5, 2 * 3600000);
	make_file("artifacts/" JOB_GONE "/x", 7, 2 * 3600000);
	/* Backdate the folders too: their mtime changed with each file. */
	{
		char p[512];
		struct timespec ts[2] = { { (time_t) (now / 1000 - 7200), 0 },
			{ (time_t) (now / 1000 - 7200), 0 } };

		path_of(p, sizeof(p), "artifacts/" JOB_GONE);
		(void) utimensat(AT_FDCWD, p, ts, 0);
		path_of(p, sizeof(p), "artifacts/" JOB_NEW "/sub");
		(void) utimensat(AT_FDCWD, p, ts, 0);
	}
	/* Blobs: X old and unused, Y old but a queued job names it, Z
	 * recent; O a file without a row (a crash), old. */
	ok(exec_fmt(db,
	       "INSERT INTO blobs VALUES (1, '%s', 100, 0, %lld), "
	       "(1, '%s', 200, 0, %lld), (1, '%s', 300, 0, %lld)",
	       HEX_X, (long long) now - 2 * DAY_MS, HEX_Y,
	       (long long) now - 2 * DAY_MS, HEX_Z, (long long) now) == 0,
	    "blobs");
	ok(exec_fmt(db, "INSERT INTO job_blobs VALUES ('%s', 1, '%s')",
	       JOB_LIVE, HEX_Y) == 0,
	    "job_blobs");
	make_file("blobs/1/" HEX_X, 100, 0);
	make_file("blobs/1/" HEX_Y, 200, 0);
	make_file("blobs/1/" HEX_Z, 300, 0);
	make_file("blobs/1/" HEX_O, 400, 2 * 3600000);
	make_file("blobs/1/" HEX_O "x", 1, 0); /* recent: kept */
	make_file("uploads/0000000001", 500, 2 * 3600000);
	make_file("uploads/0000000002", 600, 0); /* in progress */
}

static void
show(void *arg, enum gc_kind kind, const char *what, int64_t bytes)
{
	(void) arg;
	diag("%s %s (%lld bytes)", gc_kind_name(kind), what, (long long) bytes);
}

static int64_t
file_bytes(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int64_t) st.st_size : -1;
}

int
main(void)
{
	char dbpath[128], errmsg[256] = "";
	sqlite3 *db = NULL;
	struct gc_stats s;
	struct gc_policy p = { .jobs_days = 30,
		.artifacts_hours = 168,
		.blobs_hours = 24 };
	int64_t storage, size_before, size_after;

	(void) snprintf(dir, sizeof(dir), "/tmp/test_gc.XXXXXX");
	if (!mkdtemp(dir)) {
		diag("mkdtemp: %s", strerror(errno));
		return 1;
	}
	now = (int64_t) time(NULL) * 1000;
	(void) snprintf(dbpath, sizeof(dbpath), "%s/t.db", dir);
	ok(db_open(dbpath, 1, 1, &db, errmsg, sizeof(errmsg)) == 0, "open: %s",
	    errmsg);
	if (!db)
		return 1;
	is_int(count(db, "PRAGMA auto_vacuum"), 2,
	    "new database: auto_vacuum "
	    "INCREMENTAL");
	setup(db);
	storage = count(db, "SELECT storage_bytes FROM consumers");
	is_int(storage, 2000 * 4096 + 200 + 10 + 20 + 30 + 40 + 600,
	    "storage_bytes counts logs, artifacts and blobs");

	char data[96];
	(void) snprintf(data, sizeof(data), "%s/data", dir);
	p.data_dir = data;
	p.now_ms = now;
	p.dry_run = true;
	p.seen = show;
	ok(gc_run(db, &p, &s) == 0, "dry run");
	is_int(s.jobs, 1, "dry run: 1 job");
	is_int(s.job_log_bytes, 2000 * 4096, "dry run: its log bytes");
	is_int(s.blobs, 1, "dry run: 1 blob");
	is_int(s.orphans, 4, "dry run: 4 orphans");
	is_int(count(db, "SELECT COUNT(*) FROM jobs"), 3, "dry run kept jobs");
	ok(exists("blobs/1/" HEX_X) && exists("uploads/0000000001") &&
		exists("artifacts/" JOB_NEW "/b.txt"),
	    "dry run kept files");

	(void) db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	size_before = file_bytes(dbpath);
	p.dry_run = false;
	ok(gc_run(db, &p, &s) == 0, "gc pass");
	is_int(s.jobs, 1, "1 job deleted");
	is_int(s.artifacts, 2, "2 artifacts deleted (1 with its job)");
	is_int(s.blobs, 1, "1 blob deleted");
	is_int(s.blob_bytes, 100, "its bytes");
	is_int(s.orphans, 4, "4 orphans deleted");
	is_int(s.errors, 0, "no errors");
	ok(s.db_pages_freed > 1500, "pages freed: %lld",
	    (long long) s.db_pages_freed);
	is_int(count(db, "SELECT COUNT(*) FROM jobs WHERE id = '" JOB_OLD "'"),
	    0, "old job gone");
	is_int(count(db, "SELECT COUNT(*) FROM job_logs"), 2,
	    "its logs cascaded");
	is_int(count(db, "SELECT COUNT(*) FROM artifacts"), 2,
	    "2 artifacts "
	    "kept");
	is_int(count(db, "SELECT COUNT(*) FROM blobs"), 2, "2 blobs kept");
	is_int(count(db, "SELECT storage_bytes FROM consumers"),
	    200 + 30 + 40 + 500, "storage_bytes follows");
	ok(!exists("artifacts/" JOB_OLD), "old job's folder gone");
	ok(!exists("artifacts/" JOB_NEW "/b.txt"),
	    "expired artifact file gone");
	ok(exists("artifacts/" JOB_NEW "/c.txt"), "kept artifact file kept");
	ok(exists("artifacts/" JOB_NEW "/sub/d.txt"),
	    "kept artifact in a "
	    "folder kept");
	ok(!exists("artifacts/" JOB_NEW "/stray"), "old stray file gone");
	ok(!exists("artifacts/" JOB_GONE),
	    "folder of a job without a row "
	    "gone");
	ok(!exists("blobs/1/" HEX_X), "unused blob file gone");
	ok(!exists("blobs/1/.gc-" HEX_X), "no aside file left");
	ok(exists("blobs/1/" HEX_Y), "blob a queued job names kept");
	ok(exists("blobs/1/" HEX_Z), "recent blob kept");
	ok(!exists("blobs/1/" HEX_O), "old blob file without a row gone");
	ok(exists("blobs/1/" HEX_O "x"), "recent stray file kept");
	ok(!exists("uploads/0000000001"), "old upload leftover gone");
	ok(exists("uploads/0000000002"), "upload in progress kept");
	size_after = file_bytes(dbpath);
	ok(size_after > 0 && size_after < size_before - 6 * 1024 * 1024,
	    "the database file shrank: %lld -> %lld bytes",
	    (long long) size_before, (long long) size_after);

	ok(gc_run(db, &p, &s) == 0 && s.jobs == 0 && s.blobs == 0 &&
		s.orphans == 0 && s.artifacts == 0,
	    "a second pass finds nothing");
	db = db_close(db);
	{
		/* Leave nothing behind: the folder holds only our files. */
		pid_t pid = fork();

		if (pid == 0) {
			execl("/bin/rm", "rm", "-rf", "--", dir, (char *) NULL);
			_exit(127);
		}
		if (pid > 0)
			(void) waitpid(pid, NULL, 0);
	}
	done_testing();
}
