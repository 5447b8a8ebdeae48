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
	is_int(db_exec(db, "DROP TABLE supervisors; CREATE TABLE supervisors "
	    "(pid INTEGER PRIMARY KEY, slots INTEGER NOT NULL, started_at "
	    "INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL); INSERT INTO "
	    "supervisors VALUES (7, 2, 3, 4); PRAGMA user_version = 1"), 0,
	    "make a version-1 file");
	db = db_close(db);
	is_int(db_open(path, 0, 0, &db, err, sizeof(err)), -EPROTO,
	    "a program that does not migrate refuses version 1");
	ok(strstr(err, "jobcell-admin init") != NULL, "and says what to run: %s",
	    err);
	db = db_close(db);
	is_int(db_open(path, 0, 1, &db, err, sizeof(err)), 0, "migrate: %s",
	    err);
	is_int(scalar(db, "PRAGMA user_version", &v), 0, "read version");
	is_int(v, 2, "migrated to 2");
	is_int(scalar(db, "SELECT pid FROM supervisors WHERE sandboxes = "
	    "'namespace'", &v), 0, "the old row has the new column");
	is_int(v, 7, "the old row is kept");
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
