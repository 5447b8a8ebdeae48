/* jobstore.c - every SQLite statement of jobcell-worker: claiming a job,
 * storing log batches, renewing leases, recording results, and ending jobs
 * whose worker is gone. Read-then-write runs in BEGIN IMMEDIATE (DESIGN
 * section 8: BUSY_SNAPSHOT is not retried by busy_timeout). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "db.h"
#include "log.h"
#include "json_writer.h"
#include "parse.h"
#include "strbuf.h"
#include "timefmt.h"
#include "worker.h"
#include "banned.h"

static int
rollback(sqlite3 *db, int r)
{
	(void) db_exec(db, "ROLLBACK");
	return r;
}

/* Which commits must be on disk before anyone is told (issue 17): a
 * submission (the API answers 201 after its flush) and a result (a
 * client may read it at once). A claim and a batch of output need not:
 * in WAL mode a commit at synchronous=NORMAL is written but not flushed,
 * and the next flushed commit (this job's result) flushes it too, in
 * order. A power loss in between loses at most the claim and the output
 * of a job whose result was never stored: the job is queued again (or its
 * output is the stored part) instead of ending "worker lost". A process
 * crash loses nothing: the WAL is written either way. One flush fewer per
 * job, and none per output batch. */
static void
flush_commits(sqlite3 *db, bool full)
{
	if (db_exec_cached(db,
		full ? "PRAGMA synchronous=FULL" :
		       "PRAGMA synchronous=NORMAL") < 0)
		log_debug("cannot set synchronous, ignoring");
}

void
claimed_job_release(struct claimed_job *j)
{
	free(j->spec);
	free(j->stdin_data);
	memset(j, 0, sizeof(*j));
}

/* The next job to run, fairly: the oldest queued job of each consumer is a
 * candidate if the consumer runs fewer than max_concurrent jobs; among the
 * candidates the consumer with the fewest running jobs goes first, then
 * the oldest submission. Written so that SQLite needs no temporary table
 * (EXPLAIN QUERY PLAN: one walk of the queued part of jobs_queue, two
 * index lookups per consumer with queued jobs): each temporary table costs
 * a page cache of its own, and the claim runs after every submission.
 * MIN() of "running count, zero-padded" || id orders by count, then id
 * (ids are fixed-length and time-sortable); NULL if there is no candidate.
 * A disabled consumer's mc is NULL, so its queued jobs are never picked:
 * they wait, queued, until it is enabled again (issue 12). */
static const char claim_pick_sql[] =
    "SELECT substr(MIN(printf('%010d', n) || head), 11) FROM ("
    "  SELECT MIN(id) AS head,"
    "    (SELECT COUNT(*) FROM jobs r WHERE r.status = 'running' AND"
    "     r.consumer_id = q.consumer_id) AS n,"
    "    (SELECT max_concurrent FROM consumers c WHERE"
    "     c.id = q.consumer_id AND c.disabled = 0) AS mc"
    "  FROM jobs q WHERE status = 'queued' AND instr(' ' ||"
    "    (SELECT sandboxes FROM supervisors WHERE pid = ?1) || ' ',"
    "    ' ' || q.sandbox || ' ') > 0 AND (q.sandbox = 'swarm') = ?2"
    "  GROUP BY consumer_id) "
    "WHERE n < mc";

/* The supervisor whose row says which sandboxes this worker runs now
 * (docker only while its daemon answers): a job of another sandbox is
 * left for a supervisor that runs it, or until the daemon is back. */
static pid_t claim_supervisor;
/* Swarm jobs have slots of their own (issue 16): a swarm slot's worker
 * claims only them, a local slot's worker never. */
static bool claim_swarm;

void
jobstore_claim_scope(pid_t supervisor_pid, bool swarm_slot)
{
	claim_supervisor = supervisor_pid;
	claim_swarm = swarm_slot;
}

/* Inside BEGIN IMMEDIATE: claims the next job for worker_pid. 1 and *ret,
 * 0 if there is none, -errno. */
static int
claim_locked(sqlite3 *db, pid_t worker_pid, struct claimed_job *ret)
{
	_cleanup_reset_ sqlite3_stmt *pick = NULL, *up = NULL;
	struct claimed_job j = { 0 };
	char who[32];
	int64_t now = time_now_ms();
	int r, rc;

	if ((r = db_prepare_cached(db, claim_pick_sql, &pick)) < 0)
		return r;
	if (sqlite3_bind_int64(pick, 1, (sqlite3_int64) claim_supervisor) !=
		SQLITE_OK ||
	    sqlite3_bind_int(pick, 2, claim_swarm) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(pick);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_errno(rc);
	if (sqlite3_column_type(pick, 0) == SQLITE_NULL)
		return 0;
	if (str_copy(j.id, sizeof(j.id),
	    (const char *) sqlite3_column_text(pick, 0)) < 0)
		return -EIO;
	(void) snprintf(who, sizeof(who), "%ld", (long) worker_pid);
	if ((r = db_prepare_cached(db,
		 "UPDATE jobs SET status = 'running', "
		 "started_at = ?1, worker = ?2, lease_until = ?3 "
		 "WHERE id = ?4 AND status = 'queued' "
		 "RETURNING spec, stdin, timeout_ms, disk_mb, memory_mb, cpus, pids, "
		 "sandbox, consumer_id",
		 &up)) < 0)
		return r;
	if (sqlite3_bind_int64(up, 1, now) != SQLITE_OK ||
	    sqlite3_bind_text(up, 2, who, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(up, 3, now + WORKER_LEASE_MS) != SQLITE_OK ||
	    sqlite3_bind_text(up, 4, j.id, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(up);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : db_errno(rc);
	j.spec_len = (size_t) sqlite3_column_bytes(up, 0);
	j.spec = malloc(j.spec_len + 1);
	j.stdin_len = (size_t) sqlite3_column_bytes(up, 1);
	j.stdin_data = malloc(j.stdin_len + 1);
	if (!j.spec || !j.stdin_data) {
		claimed_job_release(&j);
		return -ENOMEM;
	}
	memcpy(j.spec, sqlite3_column_text(up, 0), j.spec_len);
	j.spec[j.spec_len] = '\0';
	if (j.stdin_len > 0)
		memcpy(j.stdin_data, sqlite3_column_blob(up, 1), j.stdin_len);
	j.timeout_ms = sqlite3_column_int64(up, 2);
	j.disk_mb = sqlite3_column_int64(up, 3);
	j.memory_mb = sqlite3_column_int64(up, 4);
	j.cpus = sqlite3_column_int64(up, 5);
	j.pids = sqlite3_column_int64(up, 6);
	j.consumer_id = sqlite3_column_int64(up, 8);
	if (sqlite3_column_text(up, 7))
		(void) str_copy(j.sandbox, sizeof(j.sandbox),
		    (const char *) sqlite3_column_text(up, 7));
	/* Step to the end so the statement is done before COMMIT. */
	if ((rc = sqlite3_step(up)) != SQLITE_DONE) {
		claimed_job_release(&j);
		return db_errno(rc);
	}
	*ret = j;
	return 1;
}

int
jobstore_claim(sqlite3 *db, pid_t worker_pid, struct claimed_job *ret)
{
	struct claimed_job j = { 0 };
	int r, n;

	flush_commits(db, false);
	r = db_exec_cached(db, "BEGIN IMMEDIATE");
	if (r == 0 && (n = claim_locked(db, worker_pid, &j)) <= 0)
		r = rollback(db, n);
	else if (r == 0 && (r = db_exec_cached(db, "COMMIT")) < 0) {
		claimed_job_release(&j);
		r = rollback(db, r);
	} else if (r == 0)
		r = 1;
	flush_commits(db, true);
	if (r > 0)
		*ret = j;
	return r;
}

int
jobstore_unclaim(sqlite3 *db, const char *job_id, pid_t worker_pid)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char who[32];
	int r, rc;

	(void) snprintf(who, sizeof(who), "%ld", (long) worker_pid);
	if ((r = db_prepare(db, "UPDATE jobs SET status = 'queued', "
	    "started_at = NULL, worker = NULL, lease_until = NULL "
	    "WHERE id = ? AND status = 'running' AND worker = ?", &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 2, who, -1, SQLITE_TRANSIENT))
		return -EIO;
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* Inserts lc's chunks; inside a transaction. */
static int
insert_chunks(sqlite3 *db, const char *job_id, struct logcap *lc,
    int64_t *ret_bytes)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t bytes = 0;
	int r, rc;

	if (lc->n == 0) {
		*ret_bytes = 0;
		return 0;
	}
	if ((r = db_prepare_cached(db, "INSERT INTO job_logs (job_id, seq, stream, "
	    "ts, data) VALUES (?, ?, ?, ?, ?)", &st)) < 0)
		return r;
	for (size_t i = 0; i < lc->n; i++) {
		const struct log_chunk *c = lc->chunks[i];

		if (sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int64(st, 2, lc->next_seq + (int64_t) i) ||
		    sqlite3_bind_int(st, 3, c->stream) ||
		    sqlite3_bind_int64(st, 4, c->ts_ms) ||
		    sqlite3_bind_blob(st, 5, c->data, (int) c->len,
		    SQLITE_STATIC))
			return -EIO;
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			return db_errno(rc);
		(void) sqlite3_reset(st);
		bytes += (int64_t) c->len;
	}
	*ret_bytes = bytes;
	return 0;
}

/* After a commit of output or a result: tell the followers (fcgi/stream.c
 * watches the WAL with inotify for IN_ATTRIB). Touching the WAL's times
 * changes nothing SQLite reads; unlike the write of the frames, which
 * inotify also sees, this comes once the commit is visible to readers. */
static void
notify_followers(sqlite3 *db)
{
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));

	if (wal && wal[0])
		(void) utimensat(AT_FDCWD, wal, NULL, 0);	/* best effort */
}

/* After a successful commit: the chunks are stored, forget them. */
static void
chunks_stored(sqlite3 *db, struct logcap *lc)
{
	notify_followers(db);
	lc->next_seq += (int64_t) lc->n;
	lc->n = 0;
	lc->oldest_mono_ms = 0;
	lc->last_flush_mono_ms = time_mono_ms();
}

/* One transaction storing lc's chunks; 0 or -errno (rolled back). */
static int
flush_logs_locked(sqlite3 *db, const char *job_id, struct logcap *lc)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t bytes;
	int r, rc;

	if ((r = db_exec_cached(db, "BEGIN IMMEDIATE")) < 0)
		return r;
	if ((r = insert_chunks(db, job_id, lc, &bytes)) < 0)
		return rollback(db, r);
	if ((r = db_prepare_cached(db, "UPDATE jobs SET log_bytes = log_bytes + ?, "
	    "next_seq = ?, log_truncated = ? WHERE id = ?", &st)) < 0)
		return rollback(db, r);
	if (sqlite3_bind_int64(st, 1, bytes) ||
	    sqlite3_bind_int64(st, 2, lc->next_seq + (int64_t) lc->n) ||
	    sqlite3_bind_int(st, 3, lc->truncated) ||
	    sqlite3_bind_text(st, 4, job_id, -1, SQLITE_STATIC))
		return rollback(db, -EIO);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return rollback(db, db_errno(rc));
	if ((r = db_exec_cached(db, "COMMIT")) < 0)
		return rollback(db, r);
	return 0;
}

/* The rows of the collected artifacts, inside jobstore_finish's
 * transaction: the consumer is the job's, expires_at is now + keep. */
static int
insert_artifacts(sqlite3 *db, const char *job_id, const struct job_result *res,
    int64_t now)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	const struct artifact_set *set = res->artifacts;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "INSERT INTO artifacts (job_id, "
		 "consumer_id, path, file, size, sha256, created_at, expires_at) "
		 "SELECT ?1, consumer_id, ?2, ?3, ?4, ?5, ?6, ?7 FROM jobs "
		 "WHERE id = ?1",
		 &st)) < 0)
		return r;
	for (size_t i = 0; i < set->n; i++) {
		const struct artifact *a = &set->v[i];

		if (sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(st, 2, a->path, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(st, 3, a->file, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int64(st, 4, a->size) ||
		    sqlite3_bind_text(st, 5, a->sha256, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int64(st, 6, now) ||
		    sqlite3_bind_int64(st, 7, now + res->artifacts_keep_ms))
			return -EIO;
		rc = sqlite3_step(st);
		(void) sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_errno(rc);
	}
	return 0;
}

int
jobstore_flush_logs(sqlite3 *db, const char *job_id, struct logcap *lc)
{
	int r;

	if (lc->n == 0)
		return 0;
	flush_commits(db, false);
	r = flush_logs_locked(db, job_id, lc);
	flush_commits(db, true);
	if (r == 0)
		chunks_stored(db, lc);
	return r;
}

/* A code job's compile step (issue 14), inside jobstore_finish's
 * transaction. */
static int
store_compile(sqlite3 *db, const char *job_id, const struct job_result *res)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "UPDATE jobs SET compile_exit_code = ?2, "
		 "compile_signal = ?3, compile_timed_out = ?4, "
		 "compile_duration_ms = ?5 WHERE id = ?1",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC) ||
	    (res->compile_signal ?
		    sqlite3_bind_null(st, 2) :
		    sqlite3_bind_int(st, 2, res->compile_exit_code)) ||
	    (res->compile_signal ?
		    sqlite3_bind_int(st, 3, res->compile_signal) :
		    sqlite3_bind_null(st, 3)) ||
	    sqlite3_bind_int(st, 4, res->compile_timed_out) ||
	    sqlite3_bind_int64(st, 5, res->compile_duration_ms))
		return -EIO;
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* An image build (issue 14), inside jobstore_finish's transaction: its
 * images row gets the image (built), or goes if it never had one (a
 * rebuild that failed keeps the image built before). */
static int
store_image(sqlite3 *db, const char *job_id, const struct job_result *res,
    int64_t now)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 res->image_id ?
		     "UPDATE images SET image_id = ?2, size = ?3, "
		     "created_at = ?4, last_used_at = ?4 WHERE job_id = ?1" :
		     "DELETE FROM images WHERE job_id = ?1 AND "
		     "image_id IS NULL",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC) ||
	    (res->image_id &&
		(sqlite3_bind_text(st, 2, res->image_id, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int64(st, 3, res->image_size) ||
		    sqlite3_bind_int64(st, 4, now))))
		return -EIO;
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int
jobstore_finish(sqlite3 *db, const char *job_id, struct logcap *lc,
    const struct job_result *res, pid_t claim_pid, struct claimed_job *ret_next)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct claimed_job next = { 0 };
	int64_t bytes, now = time_now_ms();
	int r, rc, n = 0;

	if ((r = db_exec_cached(db, "BEGIN IMMEDIATE")) < 0)
		return r;
	if ((r = insert_chunks(db, job_id, lc, &bytes)) < 0)
		return rollback(db, r);

	if ((r = db_prepare_cached(db,
		 "UPDATE jobs SET status = ?1, exit_code = ?2, "
		 "signal = ?3, timed_out = ?4, error = ?5, finished_at = ?6, "
		 "log_bytes = log_bytes + ?7, next_seq = ?8, log_truncated = ?9, "
		 "lease_until = NULL, cpu_ms = ?11, max_rss_kb = ?12, "
		 "oom_killed = ?13, artifacts_truncated = ?14 "
		 "WHERE id = ?10 AND status = 'running'",
		 &st)) < 0)
		return rollback(db, r);
	if (sqlite3_bind_text(st, 1, job_status_to_string(res->status), -1,
		SQLITE_STATIC) ||
	    (res->has_exit_code ? sqlite3_bind_int(st, 2, res->exit_code) :
				  sqlite3_bind_null(st, 2)) ||
	    (res->signal ? sqlite3_bind_int(st, 3, res->signal) :
			   sqlite3_bind_null(st, 3)) ||
	    sqlite3_bind_int(st, 4, res->timed_out) ||
	    (res->error ?
		    sqlite3_bind_text(st, 5, res->error, -1, SQLITE_STATIC) :
		    sqlite3_bind_null(st, 5)) ||
	    sqlite3_bind_int64(st, 6, now) ||
	    sqlite3_bind_int64(st, 7, bytes) ||
	    sqlite3_bind_int64(st, 8, lc->next_seq + (int64_t) lc->n) ||
	    sqlite3_bind_int(st, 9, lc->truncated) ||
	    sqlite3_bind_text(st, 10, job_id, -1, SQLITE_STATIC) ||
	    (res->has_usage ? sqlite3_bind_int64(st, 11, res->cpu_ms) :
			      sqlite3_bind_null(st, 11)) ||
	    (res->has_usage ? sqlite3_bind_int64(st, 12, res->max_rss_kb) :
			      sqlite3_bind_null(st, 12)) ||
	    sqlite3_bind_int(st, 13, res->oom_killed) ||
	    sqlite3_bind_int(st, 14,
		res->artifacts && res->artifacts->truncated))
		return rollback(db, -EIO);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return rollback(db, db_errno(rc));
	/* Only for a result that was stored (a job the lease sweep ended
	 * meanwhile gets none: its directory goes with GC). */
	if (res->artifacts && sqlite3_changes(db) == 1 &&
	    (r = insert_artifacts(db, job_id, res, now)) < 0)
		return rollback(db, r);
	if (res->has_compile && (r = store_compile(db, job_id, res)) < 0)
		return rollback(db, r);
	if (res->is_build && (r = store_image(db, job_id, res, now)) < 0)
		return rollback(db, r);
	/* The next job rides on the same commit (one disk flush for both).
	 * A claim that fails half-way (its UPDATE done, the copy of the job
	 * out of memory) is undone to the savepoint: the result is committed
	 * all the same, without a next job. */
	if (ret_next && (r = db_exec_cached(db, "SAVEPOINT claim")) == 0) {
		if ((n = claim_locked(db, claim_pid, &next)) < 0) {
			(void) db_exec_cached(db, "ROLLBACK TO claim");
			n = 0;
		}
		(void) db_exec_cached(db, "RELEASE claim");
	}
	if ((r = db_exec_cached(db, "COMMIT")) < 0) {
		claimed_job_release(&next);
		return rollback(db, r);
	}
	chunks_stored(db, lc);
	if (n > 0)
		*ret_next = next;
	return n;
}

int
jobstore_renew_lease(sqlite3 *db, const char *job_id)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db, "UPDATE jobs SET lease_until = ? WHERE id = ? "
	    "AND status = 'running'", &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, time_now_ms() + WORKER_LEASE_MS) ||
	    sqlite3_bind_text(st, 2, job_id, -1, SQLITE_STATIC))
		return -EIO;
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int
jobstore_cancel_requested(sqlite3 *db, const char *job_id,
    sqlite3_stmt **cache)
{
	int r, rc;

	/* Prepared once per job: parsing the SQL cost more than the lookup. */
	if (!*cache) {
		if ((r = db_prepare(db, "SELECT cancel_requested FROM jobs "
		    "WHERE id = ?", cache)) < 0)
			return r;
		if (sqlite3_bind_text(*cache, 1, job_id, -1, SQLITE_TRANSIENT)) {
			(void) sqlite3_finalize(*cache);
			*cache = NULL;
			return -EIO;
		}
	}
	rc = sqlite3_step(*cache);
	r = rc == SQLITE_ROW ? sqlite3_column_int(*cache, 0) != 0 :
	    rc == SQLITE_DONE ? 1 : db_errno(rc);	/* gone: stop it */
	/* Reset ends the read transaction (it must not outlive the check). */
	(void) sqlite3_reset(*cache);
	return r;
}

int
jobstore_expired_workers(sqlite3 *db, pid_t *ret_pids, size_t max)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r, rc;

	if ((r = db_prepare(db, "SELECT DISTINCT worker FROM jobs WHERE "
	    "status = 'running' AND lease_until < ?", &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, time_now_ms()))
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		int64_t pid;

		if (sqlite3_column_type(st, 0) == SQLITE_TEXT &&
		    parse_i64((const char *) sqlite3_column_text(st, 0), 1,
		    INT32_MAX, &pid) == 0)
			ret_pids[n++] = (pid_t) pid;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_errno(rc);
	return (int) n;
}

int
jobstore_each_running(sqlite3 *db, const char *sandbox,
    void (*fn)(const char *id, void *arg), void *arg)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc, n = 0;

	if ((r = db_prepare(db, "SELECT id FROM jobs WHERE status = 'running' "
	    "AND sandbox = ?", &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, sandbox, -1, SQLITE_STATIC))
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fn((const char *) sqlite3_column_text(st, 0), arg);
		n++;
	}
	return rc == SQLITE_DONE ? n : db_errno(rc);
}

int
jobstore_fail_lost(sqlite3 *db, pid_t pid, bool expired_only)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char who[32];
	int r, rc;

	(void) snprintf(who, sizeof(who), "%ld", (long) pid);
	if ((r = db_prepare(db, "UPDATE jobs SET status = 'error', "
	    "error = 'worker lost', finished_at = ?1, lease_until = NULL "
	    "WHERE status = 'running' AND (?2 = '0' OR worker = ?2) AND "
	    "(?3 = 0 OR lease_until < ?1)", &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, time_now_ms()) ||
	    sqlite3_bind_text(st, 2, who, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int(st, 3, expired_only))
		return -EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	return sqlite3_changes(db);
}

int
jobstore_heartbeat(sqlite3 *db, pid_t pid, int slots, int64_t started_at,
    const char *sandboxes)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, "INSERT INTO supervisors (pid, slots, "
	    "started_at, heartbeat_at, sandboxes) VALUES (?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT (pid) DO UPDATE SET slots = ?2, heartbeat_at = ?4, "
	    "sandboxes = ?5", &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, pid) || sqlite3_bind_int(st, 2, slots) ||
	    sqlite3_bind_int64(st, 3, started_at) ||
	    sqlite3_bind_int64(st, 4, time_now_ms()) ||
	    sqlite3_bind_text(st, 5, sandboxes, -1, SQLITE_STATIC))
		return -EIO;
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int
jobstore_supervisor_gone(sqlite3 *db, pid_t pid)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, "DELETE FROM supervisors WHERE pid = ? OR "
	    "heartbeat_at < ?", &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, pid) ||
	    sqlite3_bind_int64(st, 2, time_now_ms() - 60000))
		return -EIO;
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* The truth of a one-column test (sql, with the job id as ?) of a job's
 * row: 1 or 0, missing if there is no such job, or -errno. */
static int
job_test(sqlite3 *db, const char *sql, const char *job_id, int missing)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db, sql, &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC))
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return missing;
	if (rc != SQLITE_ROW)
		return db_errno(rc);
	return sqlite3_column_int(st, 0) != 0;
}

int
jobstore_job_final(sqlite3 *db, const char *job_id)
{
	return job_test(db, "SELECT status NOT IN ('queued', 'running') "
	    "FROM jobs WHERE id = ?", job_id, 0);
}

int
jobstore_job_running(sqlite3 *db, const char *job_id)
{
	return job_test(db, "SELECT status IN ('queued', 'running') "
	    "FROM jobs WHERE id = ?", job_id, -ENOENT);
}

/* The words of cmd as a JSON array into sb. */
static int
argv_json(const char *cmd, struct strbuf *sb)
{
	struct jw w;

	strbuf_reset(sb);
	jw_init(&w, sb);
	jw_arr_open(&w);
	for (const char *p = cmd; *p;) {
		size_t n;

		p += strspn(p, " \t");
		if (!*p)
			break;
		n = strcspn(p, " \t");
		jw_strn(&w, p, n);
		p += n;
	}
	jw_arr_close(&w);
	return jw_finish(&w);
}

int
jobstore_runtimes_publish(sqlite3 *db, pid_t pid,
    const struct runtime_def *list, size_t n)
{
	_cleanup_stmt_ sqlite3_stmt *del = NULL, *ins = NULL;
	_cleanup_strbuf_ struct strbuf run, comp;
	int r, rc;

	strbuf_init(&run, 8192);
	strbuf_init(&comp, 8192);
	if ((r = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		return r;
	/* Ours, and those of supervisors that are gone. */
	if ((r = db_prepare(db,
		 "DELETE FROM runtimes WHERE supervisor_pid = ?1 "
		 "OR supervisor_pid NOT IN (SELECT pid FROM supervisors)",
		 &del)) < 0 ||
	    (r = db_prepare(db,
		 "INSERT INTO runtimes (supervisor_pid, name, "
		 "version, aliases, sandbox, file, compile, run, compile_timeout_ms, "
		 "compile_memory_mb, image, probed) VALUES (?1, ?2, ?3, ?4, ?5, "
		 "?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		 &ins)) < 0)
		return rollback(db, r);
	if (sqlite3_bind_int64(del, 1, pid) != SQLITE_OK)
		return rollback(db, -EIO);
	if ((rc = sqlite3_step(del)) != SQLITE_DONE)
		return rollback(db, db_errno(rc));
	for (size_t i = 0; i < n; i++) {
		const struct runtime_def *rt = &list[i];

		if ((r = argv_json(rt->run, &run)) < 0 ||
		    (r = argv_json(rt->compile, &comp)) < 0)
			return rollback(db, r);
		if (sqlite3_reset(ins) != SQLITE_OK ||
		    sqlite3_bind_int64(ins, 1, pid) != SQLITE_OK ||
		    sqlite3_bind_text(ins, 2, rt->name, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(ins, 3, rt->version, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(ins, 4, rt->aliases, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(ins, 5, rt->sandbox, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(ins, 6, rt->file, -1, SQLITE_STATIC) ||
		    (rt->compile[0] ? sqlite3_bind_text(ins, 7, comp.buf, -1,
					  SQLITE_STATIC) :
				      sqlite3_bind_null(ins, 7)) ||
		    sqlite3_bind_text(ins, 8, run.buf, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int64(ins, 9, rt->compile_timeout_ms) ||
		    sqlite3_bind_int64(ins, 10, rt->compile_memory_mb) ||
		    (rt->image[0] ? sqlite3_bind_text(ins, 11, rt->image, -1,
					SQLITE_STATIC) :
				    sqlite3_bind_null(ins, 11)) ||
		    sqlite3_bind_int(ins, 12, !rt->unprobed))
			return rollback(db, -EIO);
		if ((rc = sqlite3_step(ins)) != SQLITE_DONE)
			return rollback(db, db_errno(rc));
	}
	if ((r = db_exec(db, "COMMIT")) < 0)
		return rollback(db, r);
	return 0;
}
