/* db.c - opening and migrating the SQLite database. Used by every program.
 * Durability choice: journal_mode=WAL with synchronous=FULL, so a commit
 * (a 201 for a submitted job) is on disk before the answer leaves, and a
 * crash of any process or of the machine loses no accepted job. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "parse.h"
#include "banned.h"

extern const char db_schema_sql[];	/* lib/schema_sql.c, from sql/ */
/* [N]: sql/migrate-N.sql, from version N - 1 to N (lib/schema_sql.c). */
extern const char *const db_migration_sql[];

static void
set_err(char *errmsg, size_t size, const char *what, sqlite3 *db)
{
	if (!errmsg || size == 0)
		return;
	(void) snprintf(errmsg, size, "%s: %s", what,
	    db ? sqlite3_errmsg(db) : "out of memory");
}

int
db_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_READONLY:
		return -EROFS;
	default:
		return -EIO;
	}
}

int
db_exec(sqlite3 *db, const char *sql)
{
	return db_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int
db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret)
{
	return db_errno(sqlite3_prepare_v2(db, sql, -1, ret, NULL));
}

/* The calling thread's kept statements (db_prepare_cached). */
static _Thread_local struct {
	sqlite3 *db;
	size_t n;
	const char *sql[DB_CACHE_MAX];
	sqlite3_stmt *st[DB_CACHE_MAX];
} cache;

static void
cache_drop(void)
{
	for (size_t i = 0; i < cache.n; i++)
		(void) sqlite3_finalize(cache.st[i]);
	cache.n = 0;
	cache.db = NULL;
}

int
db_prepare_cached(sqlite3 *db, const char *sql, sqlite3_stmt **ret)
{
	int r;

	if (cache.db != db) {
		cache_drop();
		cache.db = db;
	}
	for (size_t i = 0; i < cache.n; i++)
		if (cache.sql[i] == sql) {
			*ret = cache.st[i];
			return 0;
		}
	if (cache.n == DB_CACHE_MAX)
		return -E2BIG;	/* more call sites than the bound: raise it */
	if ((r = db_errno(sqlite3_prepare_v3(db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &cache.st[cache.n], NULL))) < 0)
		return r;
	cache.sql[cache.n] = sql;
	*ret = cache.st[cache.n++];
	return 0;
}

int
db_exec_cached(sqlite3 *db, const char *sql)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db, sql, &st)) < 0)
		return r;
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_errno(rc);
}

static int
user_version(sqlite3 *db, int *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db, "PRAGMA user_version", &st)) < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	*ret = sqlite3_column_int(st, 0);
	return 0;
}

static int
migrate(sqlite3 *db, char *errmsg, size_t size)
{
	int v, r;

	/* IMMEDIATE: two programs starting at once must not both migrate. */
	if ((r = db_exec(db, "BEGIN IMMEDIATE")) < 0) {
		set_err(errmsg, size, "cannot lock the database", db);
		return r;
	}
	if ((r = user_version(db, &v)) < 0) {
		set_err(errmsg, size, "cannot read the schema version", db);
		goto fail;
	}
	if (v > DB_SCHEMA_VERSION) {
		if (errmsg)
			(void) snprintf(errmsg, size, "schema version %d is newer "
			    "than this program's %d", v, DB_SCHEMA_VERSION);
		r = -EPROTO;
		goto fail;
	}
	if (v == 0 && (r = db_exec(db, db_schema_sql)) < 0) {
		set_err(errmsg, size, "cannot create the schema", db);
		goto fail;
	}
	/* An older database: each step in order, in this one transaction. */
	for (int n = v + 1; v > 0 && n <= DB_SCHEMA_VERSION; n++)
		if (!db_migration_sql[n] ||
		    (r = db_exec(db, db_migration_sql[n])) < 0) {
			set_err(errmsg, size, "cannot migrate the schema", db);
			r = r < 0 ? r : -EPROTO;
			goto fail;
		}
	if ((r = db_exec(db, "COMMIT")) < 0) {
		set_err(errmsg, size, "cannot commit the schema", db);
		goto fail;
	}
	return 0;
fail:
	(void) db_exec(db, "ROLLBACK");
	return r;
}

int
db_open(const char *path, int create, int do_migrate, sqlite3 **ret_db,
    char *errmsg, size_t errmsg_size)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc, r;

	if (create)
		flags |= SQLITE_OPEN_CREATE;
	else if (access(path, F_OK) < 0) {
		r = -errno;
		if (errmsg)
			(void) snprintf(errmsg, errmsg_size, "%s: %s", path,
			    strerror(-r));
		return r;
	}
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		set_err(errmsg, errmsg_size, path, db);
		r = db_errno(rc);
		goto fail;
	}
	(void) sqlite3_extended_result_codes(db, 1);
	if ((r = db_errno(sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS))) < 0)
		goto fail;
	/* Freed pages go back to the filesystem when the collector asks
	 * (lib/gc.c, PRAGMA incremental_vacuum). This takes effect only in a
	 * fresh file, before journal_mode=WAL writes its header; in an older
	 * database it is a no-op until db_auto_vacuum_convert. */
	if ((r = db_exec(db, "PRAGMA auto_vacuum=INCREMENTAL")) < 0) {
		set_err(errmsg, errmsg_size, "cannot set auto_vacuum", db);
		goto fail;
	}
	/* WAL survives in the file; setting it again is cheap and makes a
	 * fresh file WAL before the first write. */
	if ((r = db_exec(db, "PRAGMA journal_mode=WAL")) < 0 ||
	    (r = db_exec(db, "PRAGMA synchronous=FULL")) < 0 ||
	    (r = db_exec(db, "PRAGMA foreign_keys=ON")) < 0 ||
	    /* pread, not mmap: in WAL mode SQLite unmaps a connection's
	     * whole mapping each time another connection has committed,
	     * and remapping per request cost more than the reads saved
	     * (docs/operations.md). */
	    (r = db_exec(db, "PRAGMA mmap_size=0")) < 0) {
		set_err(errmsg, errmsg_size, "cannot set pragmas", db);
		goto fail;
	}
	if (do_migrate && (r = migrate(db, errmsg, errmsg_size)) < 0)
		goto fail;
	if (!do_migrate) {
		int v;

		if ((r = user_version(db, &v)) < 0)
			goto fail;
		if (v != DB_SCHEMA_VERSION) {
			if (errmsg)
				(void) snprintf(errmsg, errmsg_size, "%s: schema "
				    "version %d, expected %d (run jobcell-admin "
				    "init)", path, v, DB_SCHEMA_VERSION);
			r = -EPROTO;
			goto fail;
		}
	}
	*ret_db = db;
	return 0;
fail:
	(void) sqlite3_close_v2(db);
	return r;
}

sqlite3 *
db_close(sqlite3 *db)
{
	if (db && cache.db == db)
		cache_drop();
	if (db)
		(void) sqlite3_close_v2(db);
	return NULL;
}

int
db_auto_vacuum_convert(sqlite3 *db)
{
	const char *path = sqlite3_db_filename(db, "main");
	sqlite3_stmt *st = NULL;
	sqlite3 *look = NULL;
	int mode = -1, r;

	/* The file's own mode, through a connection that has not asked for
	 * another one (db_open did: this one would report its wish). */
	if (!path || !*path)
		return -EINVAL;
	if (sqlite3_open_v2(path, &look, SQLITE_OPEN_READONLY, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(look, "PRAGMA auto_vacuum", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		mode = sqlite3_column_int(st, 0);
	(void) sqlite3_finalize(st);
	(void) sqlite3_close_v2(look);
	if (mode < 0)
		return -EIO;
	if (mode == 2)
		return 0;
	/* VACUUM rewrites the file (needs its size again in free space)
	 * and needs every other connection idle: -EBUSY otherwise. */
	if ((r = db_exec(db, "PRAGMA auto_vacuum=INCREMENTAL")) < 0 ||
	    (r = db_exec(db, "VACUUM")) < 0)
		return r;
	return 1;
}
