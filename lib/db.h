/* db.h - opening the SQLite database the way every program must: WAL,
 * foreign keys, synchronous=FULL, a busy timeout, and the schema migrated
 * to the current PRAGMA user_version. One connection per thread/process;
 * never carried across fork(). */
#ifndef JOBCELL_DB_H
#define JOBCELL_DB_H

#include <sqlite3.h>

#define DB_SCHEMA_VERSION 7
#define DB_BUSY_TIMEOUT_MS 5000

/* Opens path (creating it if create is true), applies the pragmas and, if
 * migrate is true, migrates the schema. Returns 0 or -errno (-ENOENT if the
 * file does not exist and create is false, -EPROTO if the schema is newer
 * than this program, -EIO for other SQLite errors; errmsg gets detail). */
int db_open(const char *path, int create, int migrate, sqlite3 **ret_db,
    char *errmsg, size_t errmsg_size);
sqlite3 *db_close(sqlite3 *db);	/* accepts NULL, returns NULL */
/* Executes literal SQL with no results; 0 or -EIO/-EBUSY. */
int db_exec(sqlite3 *db, const char *sql);
/* Prepares SQL for one use; the caller finalizes it (_cleanup_stmt_).
 * 0 or -EIO. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret);
/* The same statement, prepared once per connection and kept until
 * db_close: parsing jobcell's short statements costs more than running
 * them. Keyed by the ADDRESS of sql, so sql must be a string literal (or
 * static), never a built string. The caller resets it after use
 * (_cleanup_reset_) and must not use it twice at once. The cache is the
 * calling thread's and follows its last connection (another connection
 * drops the old one's statements); at most DB_CACHE_MAX statements, then
 * -E2BIG. 0 or -errno. */
#define DB_CACHE_MAX 48
int db_prepare_cached(sqlite3 *db, const char *sql, sqlite3_stmt **ret);
/* db_exec through db_prepare_cached (BEGIN, COMMIT, savepoints of hot
 * paths). sql: a literal, as there. */
int db_exec_cached(sqlite3 *db, const char *sql);
/* Makes an older database (auto_vacuum NONE, from before schema 4's
 * collector) return freed pages: PRAGMA auto_vacuum=INCREMENTAL and a
 * one-time VACUUM, which rewrites the file and needs every other
 * connection idle. 0 already so, 1 converted, -EBUSY (in use: retry when
 * the services are stopped), -errno. */
int db_auto_vacuum_convert(sqlite3 *db);
/* Maps a SQLite result code to -errno: BUSY/LOCKED -> -EBUSY, FULL ->
 * -ENOSPC, CONSTRAINT -> -EEXIST, others -> -EIO. */
int db_errno(int rc);

static inline void
cleanup_stmtp(sqlite3_stmt **st)
{
	if (*st)
		(void) sqlite3_finalize(*st);
}
#define _cleanup_stmt_ __attribute__((cleanup(cleanup_stmtp)))

static inline void
cleanup_resetp(sqlite3_stmt **st)
{
	if (*st) {
		(void) sqlite3_reset(*st);
		(void) sqlite3_clear_bindings(*st);
	}
}
#define _cleanup_reset_ __attribute__((cleanup(cleanup_resetp)))

#endif
