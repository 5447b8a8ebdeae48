/* db.h - opening the SQLite database the way every program must: WAL,
 * foreign keys, synchronous=FULL, a busy timeout, and the schema migrated
 * to the current PRAGMA user_version. One connection per thread/process;
 * never carried across fork(). */
#ifndef JOBCELL_DB_H
#define JOBCELL_DB_H

#include <sqlite3.h>

#define DB_SCHEMA_VERSION 2
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
/* Prepares literal SQL (cached by SQLite's prepare_v3 persistent flag is not
 * used: callers keep statements short-lived). 0 or -EIO. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret);
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

#endif
