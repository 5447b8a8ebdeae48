/* gc.c - one pass of the garbage collector (gc.h says what and in which
 * order). Runs in the supervisor's gc child or in jobcell-admin, with the
 * rights to remove files under DATA; trusts the database's rows only as
 * far as their shape is checked (ids, hex digests, relative names). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "cleanup.h"
#include "db.h"
#include "gc.h"
#include "jc_limits.h"
#include "keys.h"
#include "banned.h"

#define FINAL_SQL "('succeeded', 'failed', 'timed_out', 'cancelled', 'error')"
#define LIVE_SQL "('queued', 'running')"
#define MAX_DEPTH 16 /* of a tree removed under DATA/artifacts */

const char *
gc_kind_name(enum gc_kind kind)
{
	switch (kind) {
	case GC_JOB:
		return "job";
	case GC_ARTIFACT:
		return "artifact";
	case GC_BLOB:
		return "blob";
	case GC_ORPHAN:
		return "orphan";
	}
	return "?";
}

static void
seen(const struct gc_policy *p, enum gc_kind k, const char *what, int64_t n)
{
	if (p->seen)
		p->seen(p->arg, k, what, n);
}

static bool
have_data(const struct gc_policy *p)
{
	return p->data_dir && *p->data_dir;
}

/* A relative name without "", ".", ".." parts: safe under a directory. */
static bool
rel_ok(const char *s)
{
	const char *part = s;

	if (!s || !*s || *s == '/')
		return false;
	for (;;) {
		const char *end = strchr(part, '/');
		size_t n = end ? (size_t) (end - part) : strlen(part);

		if (n == 0 || (n == 1 && part[0] == '.') ||
		    (n == 2 && part[0] == '.' && part[1] == '.'))
			return false;
		if (!end)
			return true;
		part = end + 1;
	}
}

/* Removes what is at name under dfd: a file, or a directory tree (no
 * link followed); dry: only adds up. Returns the bytes freed; counts
 * failures in *errors. */
static int64_t
tree_at(int dfd, const char *name, int depth, bool dry, int *errors)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int64_t freed = 0;
	DIR *d;
	struct dirent *e;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		if (!dry && unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			(*errors)++;
		return S_ISREG(st.st_mode) ? st.st_size : 0;
	}
	if (depth >= MAX_DEPTH ||
	    (fd = openat(dfd, name,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		(*errors)++;
		return 0;
	}
	if (!(d = fdopendir(fd))) {
		(*errors)++;
		return 0;
	}
	fd = -1; /* the DIR owns it now */
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			freed += tree_at(dirfd(d), e->d_name, depth + 1, dry,
			    errors);
	(void) closedir(d);
	if (!dry && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		(*errors)++;
	return freed;
}

/* DATA/a[/b[/c]] into buf. */
static int
data_path(const struct gc_policy *p, char *buf, size_t size, const char *a,
    const char *b, const char *c)
{
	int n = snprintf(buf, size, "%s/%s%s%s%s%s", p->data_dir, a,
	    b ? "/" : "", b ? b : "", c ? "/" : "", c ? c : "");

	return n < 0 || (size_t) n >= size ? -E2BIG : 0;
}

static int
rollback(sqlite3 *db, int r)
{
	(void) db_exec(db, "ROLLBACK");
	return r;
}

/* The start of one batch of gc_artifacts or gc_blobs: BEGIN IMMEDIATE,
 * then sel_sql (?1 cutoff, ?2 the limit: a batch, or every row on a dry
 * run) and del_sql prepared into *ret_sel and *ret_del. On failure the
 * transaction is rolled back. */
static int
batch_begin(sqlite3 *db, const struct gc_policy *p, const char *sel_sql,
    int64_t cutoff, const char *del_sql, sqlite3_stmt **ret_sel,
    sqlite3_stmt **ret_del)
{
	_cleanup_stmt_ sqlite3_stmt *sel = NULL, *del = NULL;
	int r;

	if ((r = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		return r;
	if ((r = db_prepare(db, sel_sql, &sel)) < 0 ||
	    (r = db_prepare(db, del_sql, &del)) < 0)
		return rollback(db, r);
	if (sqlite3_bind_int64(sel, 1, cutoff) != SQLITE_OK ||
	    sqlite3_bind_int(sel, 2, p->dry_run ? -1 : GC_BATCH_ROWS) !=
		SQLITE_OK)
		return rollback(db, -EIO);
	*ret_sel = steal_ptr(&sel);
	*ret_del = steal_ptr(&del);
	return 0;
}

/* ---- finished jobs ---- */

/* Deletes up to a batch of old finished jobs; 1 if there may be more.
 * The search (no index on finished_at: a scan of the jobs) runs before
 * the write lock, so the API waits only for the deletes. */
static int
jobs_batch(sqlite3 *db, const struct gc_policy *p, struct gc_stats *s,
    char (*ids)[JC_ID_LEN + 1], size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *sel = NULL, *del = NULL, *art = NULL;
	int64_t cutoff = p->now_ms - p->jobs_days * 86400000LL;
	size_t n = 0, found = 0;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT id FROM jobs WHERE status IN " FINAL_SQL
		 " AND finished_at < ? LIMIT ?",
		 &sel)) < 0 ||
	    (r = db_prepare(db,
		 "DELETE FROM jobs WHERE id = ? AND status IN " FINAL_SQL
		 " RETURNING log_bytes",
		 &del)) < 0 ||
	    (r = db_prepare(db,
		 "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM "
		 "artifacts WHERE job_id = ?",
		 &art)) < 0)
		return r;
	if (sqlite3_bind_int64(sel, 1, cutoff) != SQLITE_OK ||
	    sqlite3_bind_int(sel, 2, GC_BATCH_ROWS) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *id = (const char *) sqlite3_column_text(sel, 0);

		found++;
		if (id && id_valid(id)) /* else not a name we made */
			memcpy(ids[n++], id, JC_ID_LEN + 1);
	}
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	(void) sqlite3_reset(sel);
	if (n == 0)
		return 0;
	if ((r = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int64_t bytes = 0;

		sqlite3_reset(art);
		if (sqlite3_bind_text(art, 1, ids[i], -1, SQLITE_STATIC) !=
			SQLITE_OK ||
		    sqlite3_step(art) != SQLITE_ROW)
			return rollback(db, -EIO);
		s->artifacts += sqlite3_column_int64(art, 0);
		s->artifact_bytes += sqlite3_column_int64(art, 1);
		sqlite3_reset(del);
		if (sqlite3_bind_text(del, 1, ids[i], -1, SQLITE_STATIC) !=
		    SQLITE_OK)
			return rollback(db, -EIO);
		rc = sqlite3_step(del);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return rollback(db, db_errno(rc));
		if (rc == SQLITE_ROW)
			bytes = sqlite3_column_int64(del, 0);
		while (rc == SQLITE_ROW)
			rc = sqlite3_step(del);
		if (rc != SQLITE_DONE)
			return rollback(db, db_errno(rc));
		s->jobs++;
		s->job_log_bytes += bytes;
		seen(p, GC_JOB, ids[i], bytes);
	}
	if ((r = db_exec(db, "COMMIT")) < 0)
		return rollback(db, r);
	*ret_n = n;
	return found == GC_BATCH_ROWS;
}

/* Dry run: every job that would go, with its bytes. */
static int
jobs_list(sqlite3 *db, const struct gc_policy *p, struct gc_stats *s)
{
	_cleanup_stmt_ sqlite3_stmt *sel = NULL;
	int64_t cutoff = p->now_ms - p->jobs_days * 86400000LL;
	int r, rc;

	if ((r = db_prepare(db,
		 "SELECT id, log_bytes, (SELECT COUNT(*) FROM "
		 "artifacts a WHERE a.job_id = j.id), (SELECT COALESCE(SUM(size), "
		 "0) FROM artifacts a WHERE a.job_id = j.id) FROM jobs j WHERE "
		 "status IN " FINAL_SQL " AND finished_at < ?",
		 &sel)) < 0)
		return r;
	if (sqlite3_bind_int64(sel, 1, cutoff) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *id = (const char *) sqlite3_column_text(sel, 0);

		if (!id || !id_valid(id))
			continue;
		s->jobs++;
		s->job_log_bytes += sqlite3_column_int64(sel, 1);
		s->artifacts += sqlite3_column_int64(sel, 2);
		s->artifact_bytes += sqlite3_column_int64(sel, 3);
		seen(p, GC_JOB, id, sqlite3_column_int64(sel, 1));
	}
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

static int
gc_jobs(sqlite3 *db, const struct gc_policy *p, struct gc_stats *s)
{
	static char ids[GC_BATCH_ROWS][JC_ID_LEN + 1]; /* one pass at a time */
	char path[JC_PATH_MAX];
	int r;

	if (p->dry_run)
		return jobs_list(db, p, s);
	do {
		size_t n = 0;

		if ((r = jobs_batch(db, p, s, ids, &n)) < 0)
			return r;
		/* The rows are gone: now their artifacts' files. */
		for (size_t i = 0; i < n && have_data(p); i++)
			if (data_path(p, path, sizeof(path), "artifacts",
				ids[i], NULL) == 0)
				(void) tree_at(AT_FDCWD, path, 0, false,
				    &s->errors);
	} while (r == 1);
	return 0;
}

/* ---- expired artifacts ---- */

struct gone_file {
	char job[JC_ID_LEN + 1];
	char file[JC_PATH_MAX / 4];
};

static int
gc_artifacts(sqlite3 *db, const struct gc_policy *p, struct gc_stats *s)
{
	static struct gone_file gone[GC_BATCH_ROWS];
	char path[JC_PATH_MAX];
	size_t n;
	int r, rc;

	do {
		_cleanup_stmt_ sqlite3_stmt *sel = NULL, *del = NULL;

		n = 0;
		if ((r = batch_begin(db, p,
			 "SELECT job_id, path, file, size FROM "
			 "artifacts WHERE expires_at < ? ORDER BY expires_at "
			 "LIMIT ?",
			 p->now_ms,
			 "DELETE FROM artifacts WHERE job_id = ? "
			 "AND path = ?",
			 &sel, &del)) < 0)
			return r;
		while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
			const char *job = (const char *)
			    sqlite3_column_text(sel, 0);
			const char *file = (const char *)
			    sqlite3_column_text(sel, 2);
			int64_t size = sqlite3_column_int64(sel, 3);
			char what[JC_PATH_MAX];

			if (!job || !file)
				continue;
			(void) snprintf(what, sizeof(what), "%s/%s", job,
			    (const char *) sqlite3_column_text(sel, 1));
			s->artifacts++;
			s->artifact_bytes += size;
			seen(p, GC_ARTIFACT, what, size);
			if (p->dry_run)
				continue;
			sqlite3_reset(del);
			if (sqlite3_bind_value(del, 1,
				sqlite3_column_value(sel, 0)) != SQLITE_OK ||
			    sqlite3_bind_value(del, 2,
				sqlite3_column_value(sel, 1)) != SQLITE_OK ||
			    (rc = sqlite3_step(del)) != SQLITE_DONE)
				return rollback(db, db_errno(rc));
			/* A file whose name we would not build is left to
			 * the orphan pass's view of it: never a path out. */
			if (id_valid(job) && rel_ok(file) &&
			    strlen(file) < sizeof(gone[n].file)) {
				memcpy(gone[n].job, job, JC_ID_LEN + 1);
				memcpy(gone[n].file, file, strlen(file) + 1);
				n++;
			}
		}
		if (rc != SQLITE_DONE)
			return rollback(db, db_errno(rc));
		if (p->dry_run)
			return rollback(db, 0);
		if ((r = db_exec(db, "COMMIT")) < 0)
			return rollback(db, r);
		for (size_t i = 0; i < n && have_data(p); i++) {
			if (data_path(p, path, sizeof(path), "artifacts",
				gone[i].job, gone[i].file) < 0)
				continue;
			if (unlink(path) < 0 && errno != ENOENT)
				s->errors++;
			/* The job's folder, once empty. */
			if (data_path(p, path, sizeof(path), "artifacts",
				gone[i].job, NULL) == 0)
				(void) rmdir(path);
		}
	} while (n == GC_BATCH_ROWS);
	return 0;
}

/* ---- unused blobs ---- */

struct gone_blob {
	int64_t consumer;
	char hex[BLOB_HEX_LEN + 1];
	bool moved;
};

/* DATA/blobs/<c>/<hex> and its aside name DATA/blobs/<c>/.gc-<hex>. */
static int
blob_paths(const struct gc_policy *p, const struct gone_blob *b, char *path,
    char *aside, size_t size)
{
	char dir[JC_PATH_MAX];
	int r, n;

	if ((r = blob_path(p->data_dir, b->consumer, b->hex, path, size)) < 0 ||
	    (r = blob_path(p->data_dir, b->consumer, NULL, dir, sizeof(dir))) <
		0)
		return r;
	n = snprintf(aside, size, "%s/.gc-%s", dir, b->hex);
	return n < 0 || (size_t) n >= size ? -E2BIG : 0;
}

static int
gc_blobs(sqlite3 *db, const struct gc_policy *p, struct gc_stats *s)
{
	static struct gone_blob gone[GC_BATCH_ROWS];
	int64_t cutoff = p->now_ms - p->blobs_hours * 3600000LL;
	char path[JC_PATH_MAX], aside[JC_PATH_MAX];
	size_t n;
	int r, rc;

	do {
		_cleanup_stmt_ sqlite3_stmt *sel = NULL, *del = NULL;

		n = 0;
		if ((r = batch_begin(db, p,
			 "SELECT consumer_id, digest, size FROM "
			 "blobs b WHERE last_used_at < ? AND NOT EXISTS (SELECT 1 "
			 "FROM job_blobs jb JOIN jobs j ON j.id = jb.job_id WHERE "
			 "jb.consumer_id = b.consumer_id AND jb.digest = b.digest "
			 "AND j.status IN " LIVE_SQL ") LIMIT ?",
			 cutoff,
			 "DELETE FROM blobs WHERE consumer_id = ? "
			 "AND digest = ?",
			 &sel, &del)) < 0)
			return r;
		while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
			struct gone_blob *b = &gone[n];
			const char *hex = (const char *)
			    sqlite3_column_text(sel, 1);
			int64_t size = sqlite3_column_int64(sel, 2);
			char what[96];

			b->consumer = sqlite3_column_int64(sel, 0);
			b->moved = false;
			if (blob_hex_check(hex) < 0)
				continue;
			memcpy(b->hex, hex, BLOB_HEX_LEN + 1);
			(void) snprintf(what, sizeof(what),
			    "%" PRId64 "/sha256:%s", b->consumer, hex);
			s->blobs++;
			s->blob_bytes += size;
			seen(p, GC_BLOB, what, size);
			if (p->dry_run)
				continue;
			/* Aside under the lock: an upload of these bytes
			 * (which takes the lock) may put a new file at path
			 * once we commit. */
			if (have_data(p) &&
			    blob_paths(p, b, path, aside, sizeof(path)) == 0) {
				if (rename(path, aside) == 0)
					b->moved = true;
				else if (errno != ENOENT)
					s->errors++;
			}
			sqlite3_reset(del);
			if (sqlite3_bind_int64(del, 1, b->consumer) !=
				SQLITE_OK ||
			    sqlite3_bind_text(del, 2, b->hex, -1,
				SQLITE_TRANSIENT) != SQLITE_OK ||
			    (rc = sqlite3_step(del)) != SQLITE_DONE) {
				r = db_errno(rc);
				n++;
				goto fail;
			}
			n++;
		}
		if (rc != SQLITE_DONE) {
			r = db_errno(rc);
			goto fail;
		}
		if (p->dry_run)
			return rollback(db, 0);
		if ((r = db_exec(db, "COMMIT")) < 0)
			goto fail;
		for (size_t i = 0; i < n; i++)
			if (gone[i].moved &&
			    blob_paths(p, &gone[i], path, aside,
				sizeof(path)) == 0 &&
			    unlink(aside) < 0 && errno != ENOENT)
				s->errors++;
	} while (n == GC_BATCH_ROWS);
	return 0;
fail:
	/* The rows stay: so must their files. */
	(void) db_exec(db, "ROLLBACK");
	for (size_t i = 0; i < n; i++)
		if (gone[i].moved &&
		    blob_paths(p, &gone[i], path, aside, sizeof(path)) == 0)
			(void) rename(aside, path);
	return r;
}

/* ---- orphan files ---- */

static bool
old_enough(const struct gc_policy *p, const struct stat *st)
{
	int64_t mtime_ms = (int64_t) st->st_mtim.tv_sec * 1000 +
	    st->st_mtim.tv_nsec / 1000000;

	return mtime_ms < p->now_ms - GC_ORPHAN_AGE_MS;
}

static void
orphan(const struct gc_policy *p, struct gc_stats *s, int dfd, const char *dir,
    const char *name, const struct stat *st)
{
	char what[JC_PATH_MAX];
	int64_t bytes;

	(void) st;
	(void) snprintf(what, sizeof(what), "%s/%s", dir, name);
	bytes = tree_at(dfd, name, 0, p->dry_run, &s->errors);
	s->orphans++;
	s->orphan_bytes += bytes;
	seen(p, GC_ORPHAN, what, bytes);
}

/* 1 if the row exists, 0 if not, -errno. sql has one or two ?s. */
static int
row_exists(sqlite3 *db, const char *sql, int64_t a_int, const char *a_text,
    const char *b_text)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, sql, &st)) < 0)
		return r;
	if ((a_text ? sqlite3_bind_text(st, 1, a_text, -1, SQLITE_STATIC) :
		      sqlite3_bind_int64(st, 1, a_int)) != SQLITE_OK ||
	    (b_text &&
		sqlite3_bind_text(st, 2, b_text, -1, SQLITE_STATIC) !=
		    SQLITE_OK))
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* Each entry of dir older than the orphan age, for which has_row says 0:
 * removed. Under one write lock per directory, so that no upload or
 * collection inserts a row for it meanwhile. */
static int
orphans_in(sqlite3 *db, const struct gc_policy *p, struct gc_stats *s,
    const char *dir,
    int (*has_row)(sqlite3 *db, const char *dir, const char *name))
{
	_cleanup_close_ int fd = -1;
	DIR *d;
	struct dirent *e;
	int r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
	    0)
		return errno == ENOENT ? 0 : -errno;
	if (!(d = fdopendir(fd)))
		return -errno;
	fd = -1;
	if (has_row &&
	    (r = db_exec(db, p->dry_run ? "BEGIN" : "BEGIN IMMEDIATE")) < 0) {
		(void) closedir(d);
		return r;
	}
	while ((e = readdir(d))) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			0 ||
		    !old_enough(p, &st))
			continue;
		if (has_row && (r = has_row(db, dir, e->d_name)) != 0) {
			if (r < 0)
				break;
			r = 0;
			continue;
		}
		orphan(p, s, dirfd(d), dir, e->d_name, &st);
	}
	(void) closedir(d);
	if (has_row)
		(void) db_exec(db, r < 0 ? "ROLLBACK" : "COMMIT");
	return r;
}

/* DATA/blobs/<consumer>/<entry>: a row, or not ours to judge (1). */
static int
blob_has_row(sqlite3 *db, const char *dir, const char *name)
{
	const char *slash = strrchr(dir, '/');
	int64_t consumer = 0;

	if (!slash || sscanf(slash + 1, "%" SCNd64, &consumer) != 1)
		return 1;
	if (strncmp(name, ".gc-", 4) == 0)
		return 0; /* a collector that died between its steps */
	if (blob_hex_check(name) < 0)
		return 0;
	return row_exists(db,
	    "SELECT 1 FROM blobs WHERE consumer_id = ? AND "
	    "digest = ?",
	    consumer, NULL, name);
}

/* DATA/artifacts/<job id>: the job exists. */
static int
job_has_row(sqlite3 *db, const char *dir, const char *name)
{
	(void) dir;
	if (!id_valid(name))
		return 0;
	return row_exists(db, "SELECT 1 FROM jobs WHERE id = ?", 0, name, NULL);
}

/* DATA/artifacts/<job>/<file>: an artifacts row names it. */
static int
artifact_has_row(sqlite3 *db, const char *dir, const char *name)
{
	const char *slash = strrchr(dir, '/');

	if (!slash)
		return 1;
	/* A folder is kept while any file under it has a row. */
	return row_exists(db,
	    "SELECT 1 FROM artifacts WHERE job_id = ?1 AND "
	    "(file = ?2 OR substr(file, 1, length(?2) + 1) = ?2 || '/')",
	    0, slash + 1, name);
}

/* The subdirectories of DATA/<top>, each given to fn. */
static int
each_subdir(sqlite3 *db, const struct gc_policy *p, struct gc_stats *s,
    const char *top, int (*has_row)(sqlite3 *, const char *, const char *))
{
	char path[JC_PATH_MAX], sub[JC_PATH_MAX];
	_cleanup_close_ int fd = -1;
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (data_path(p, path, sizeof(path), top, NULL, NULL) < 0)
		return -E2BIG;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
	    0)
		return errno == ENOENT ? 0 : -errno;
	if (!(d = fdopendir(fd)))
		return -errno;
	fd = -1;
	while ((e = readdir(d)) && r >= 0) {
		struct stat st;
		int n;

		if (e->d_name[0] == '.' ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		/* A dry run left the folders of jobs without a row, which
		 * it counted whole already. */
		if (p->dry_run && has_row == artifact_has_row &&
		    old_enough(p, &st) && job_has_row(db, NULL, e->d_name) == 0)
			continue;
		n = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (n < 0 || (size_t) n >= sizeof(sub))
			continue;
		r = orphans_in(db, p, s, sub, has_row);
	}
	(void) closedir(d);
	return r;
}

static int
gc_orphans(sqlite3 *db, const struct gc_policy *p, struct gc_stats *s)
{
	char path[JC_PATH_MAX];
	int r;

	/* nginx's body files of requests that ended without cleaning up
	 * (a crash): no request lasts an hour (client_body_timeout). */
	if (data_path(p, path, sizeof(path), "uploads", NULL, NULL) == 0 &&
	    (r = orphans_in(db, p, s, path, NULL)) < 0)
		return r;
	if ((r = each_subdir(db, p, s, "blobs", blob_has_row)) < 0)
		return r;
	/* Whole folders of jobs that are gone, then loose files. */
	if (data_path(p, path, sizeof(path), "artifacts", NULL, NULL) == 0 &&
	    (r = orphans_in(db, p, s, path, job_has_row)) < 0)
		return r;
	return each_subdir(db, p, s, "artifacts", artifact_has_row);
}

/* ---- giving pages back ---- */

static int
freelist_count(sqlite3 *db, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db, "PRAGMA freelist_count", &st)) < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

/* In steps of GC_VACUUM_PAGES, each its own short write transaction, then
 * a checkpoint that does not wait (it truncates the file once the WAL is
 * all copied back). A database without auto_vacuum frees nothing here. */
static int
give_back(sqlite3 *db, struct gc_stats *s)
{
	int64_t before = 0, left = 0;
	int r;

	if ((r = freelist_count(db, &before)) < 0)
		return r;
	left = before;
	while (left > 0) {
		int64_t was = left;

		if ((r = db_exec(db, "PRAGMA incremental_vacuum(2000)")) < 0 ||
		    (r = freelist_count(db, &left)) < 0)
			return r;
		if (left >= was)
			break; /* auto_vacuum is off: nothing moves */
	}
	s->db_pages_freed = before - left;
	(void) db_exec(db, "PRAGMA wal_checkpoint(PASSIVE)");
	return 0;
}

/* Images (issue 14): those unused for images_days are marked deleted
 * (the supervisor removes them from the daemon, then their rows); rows of
 * builds that ended without making an image (a lost worker) go. */
static int
gc_images(sqlite3 *db, const struct gc_policy *p, struct gc_stats *s)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int64_t before = p->now_ms - p->images_days * 86400000;
	int r, rc;

	if (p->images_days > 0) {
		if ((r = db_prepare(db,
			 p->dry_run ?
			     "SELECT COUNT(*) FROM images WHERE deleted = 0 "
			     "AND image_id IS NOT NULL AND last_used_at < ?" :
			     "UPDATE images SET deleted = 1 WHERE deleted = 0 "
			     "AND image_id IS NOT NULL AND last_used_at < ?",
			 &st)) < 0)
			return r;
		if (sqlite3_bind_int64(st, 1, before) != SQLITE_OK)
			return -EIO;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			s->images += sqlite3_column_int64(st, 0);
		else if (rc == SQLITE_DONE)
			s->images += sqlite3_changes(db);
		else
			return db_errno(rc);
	}
	if (p->dry_run)
		return 0;
	return db_exec(db,
	    "DELETE FROM images WHERE image_id IS NULL AND job_id NOT IN "
	    "(SELECT id FROM jobs WHERE status IN ('queued', 'running'))");
}

int
gc_run(sqlite3 *db, const struct gc_policy *p, struct gc_stats *ret)
{
	int r;

	*ret = (struct gc_stats){ 0 };
	if ((r = gc_jobs(db, p, ret)) < 0 ||
	    (r = gc_artifacts(db, p, ret)) < 0 ||
	    (r = gc_blobs(db, p, ret)) < 0 || (r = gc_images(db, p, ret)) < 0)
		return r;
	if (have_data(p) && (r = gc_orphans(db, p, ret)) < 0)
		return r;
	if (!p->dry_run)
		return give_back(db, ret);
	return 0;
}
