/* jobs.c - the jobs resource: submit, list, get, cancel. Runs on an API
 * thread with its own SQLite connection. Every request is fully validated
 * before a transaction starts; writes that depend on reads (idempotency,
 * quotas, cancel) run in BEGIN IMMEDIATE so they cannot race. A consumer
 * sees only its own jobs: any other id is 404, as if it did not exist. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "api.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

#define IDEMPOTENCY_WINDOW_MS (24LL * 3600 * 1000)
#define IDEMPOTENCY_KEY_MAX 200
#define RUN_OUTPUT_CAP (1024 * 1024)	/* stdout/stderr bytes in a /v1/run reply */

/* API threads take turns for write transactions. Without this, threads
 * of the same process meet SQLite's busy handler, which sleeps in steps of
 * up to 100 ms: p99 went to 1.4 s under 4 concurrent submitters. Other
 * processes (the worker) still go through busy_timeout. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

static int
begin_write(sqlite3 *db)
{
	int r;

	if ((r = pthread_mutex_lock(&write_lock)) != 0)
		return -r;
	if ((r = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		(void) pthread_mutex_unlock(&write_lock);
	return r;
}

/* Ends a transaction begun by begin_write: COMMIT if commit, else
 * ROLLBACK. Returns the COMMIT's result. */
static int
end_write(sqlite3 *db, bool commit)
{
	int r = 0;

	if (commit && (r = db_exec(db, "COMMIT")) < 0)
		commit = false;
	if (!commit)
		(void) db_exec(db, "ROLLBACK");
	(void) pthread_mutex_unlock(&write_lock);
	return r;
}

int
jobs_status_column(sqlite3_stmt *st, int col, enum job_status *ret)
{
	const char *s = (const char *) sqlite3_column_text(st, col);

	if (!s || job_status_from_string(s, ret) < 0)
		return -EIO;
	return 0;
}

static void
kv_time(struct jw *w, const char *key, sqlite3_stmt *st, int col)
{
	char buf[TIMEFMT_RFC3339_LEN];

	if (sqlite3_column_type(st, col) == SQLITE_NULL ||
	    time_format_rfc3339(sqlite3_column_int64(st, col), buf,
	    sizeof(buf)) < 0)
		jw_kv_null(w, key);
	else
		jw_kv_str(w, key, buf);
}

static void
kv_int_or_null(struct jw *w, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		jw_kv_null(w, key);
	else
		jw_kv_i64(w, key, sqlite3_column_int64(st, col));
}

static void
kv_text_or_null(struct jw *w, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		jw_kv_null(w, key);
	else {
		jw_key(w, key);
		jw_strn(w, (const char *) sqlite3_column_text(st, col),
		    (size_t) sqlite3_column_bytes(st, col));
	}
}

void
job_write_fields(struct jw *w, sqlite3_stmt *st)
{
	kv_text_or_null(w, "id", st, 0);
	kv_text_or_null(w, "name", st, 1);
	kv_text_or_null(w, "status", st, 2);
	kv_int_or_null(w, "exit_code", st, 3);
	kv_int_or_null(w, "signal", st, 4);
	jw_kv_bool(w, "timed_out", sqlite3_column_int(st, 5) != 0);
	jw_kv_bool(w, "oom_killed", sqlite3_column_int(st, 6) != 0);
	kv_text_or_null(w, "error", st, 7);
	kv_time(w, "created_at", st, 8);
	kv_time(w, "started_at", st, 9);
	kv_time(w, "finished_at", st, 10);
	if (sqlite3_column_type(st, 9) != SQLITE_NULL &&
	    sqlite3_column_type(st, 10) != SQLITE_NULL)
		jw_kv_i64(w, "duration_ms", sqlite3_column_int64(st, 10) -
		    sqlite3_column_int64(st, 9));
	else
		jw_kv_null(w, "duration_ms");
	kv_text_or_null(w, "sandbox", st, 11);
	jw_key(w, "limits");
	jw_obj_open(w);
	jw_kv_i64(w, "timeout", sqlite3_column_int64(st, 12) / 1000);
	jw_kv_i64(w, "memory_mb", sqlite3_column_int64(st, 13));
	jw_kv_i64(w, "cpus", sqlite3_column_int64(st, 14));
	jw_kv_i64(w, "pids", sqlite3_column_int64(st, 15));
	jw_kv_i64(w, "disk_mb", sqlite3_column_int64(st, 16));
	jw_obj_close(w);
	jw_key(w, "usage");
	jw_obj_open(w);
	kv_int_or_null(w, "cpu_ms", st, 17);
	kv_int_or_null(w, "max_rss_kb", st, 18);
	jw_obj_close(w);
	jw_kv_i64(w, "log_bytes", sqlite3_column_int64(st, 19));
	jw_kv_bool(w, "log_truncated", sqlite3_column_int(st, 20) != 0);
	/* Only for a job that asked for any (DESIGN section 4), read on
	 * the row's own connection. */
	if (sqlite3_column_int(st, 21) != 0) {
		jw_key(w, "artifacts");
		artifacts_write_json(w, sqlite3_db_handle(st),
		    (const char *) sqlite3_column_text(st, 0), time_now_ms());
	}
	job_write_code_fields(w, st, JOB_CODE_COLUMNS_AT);
	if (sqlite3_column_type(st, JOB_KIND_COLUMN_AT) == SQLITE_TEXT &&
	    strcmp((const char *) sqlite3_column_text(st, JOB_KIND_COLUMN_AT),
		"command") != 0)
		kv_text_or_null(w, "kind", st, JOB_KIND_COLUMN_AT);
}

void
job_write_code_fields(struct jw *w, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return;
	jw_key(w, "runtime");
	jw_obj_open(w);
	kv_text_or_null(w, "name", st, col);
	kv_text_or_null(w, "version", st, col + 1);
	jw_obj_close(w);
	if (sqlite3_column_type(st, col + 5) == SQLITE_NULL)
		return; /* no compile step ran (yet) */
	jw_key(w, "compile");
	jw_obj_open(w);
	kv_int_or_null(w, "exit_code", st, col + 2);
	kv_int_or_null(w, "signal", st, col + 3);
	jw_kv_bool(w, "timed_out", sqlite3_column_int(st, col + 4) != 0);
	kv_int_or_null(w, "duration_ms", st, col + 5);
	jw_obj_close(w);
}

void
job_write_json(struct jw *w, sqlite3_stmt *st)
{
	jw_obj_open(w);
	job_write_fields(w, st);
	jw_obj_close(w);
}

int
job_row(sqlite3 *db, const char *sql, const char *id, int64_t consumer_id,
    sqlite3_stmt **ret_st)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db, sql, &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, consumer_id) != SQLITE_OK)
		r = -EIO;
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ret_st = st;
		return 0;
	} else
		r = rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	(void) sqlite3_reset(st);
	(void) sqlite3_clear_bindings(st);
	return r;
}

/* Writes the job object of id (of this consumer) into sb. -ENOENT if the
 * consumer has no such job. */
static int
job_json_by_id(struct req *rq, const char *id, struct strbuf *sb)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct jw w;
	int r;

	if ((r = job_row(rq->db, "SELECT " JOB_COLUMNS " FROM jobs "
	    "WHERE id = ?1 AND consumer_id = ?2", id, rq->consumer_id,
	    &st)) < 0)
		return r;
	jw_init(&w, sb);
	job_write_json(&w, st);
	return jw_finish(&w);
}

int
jobs_lookup(struct req *rq, const char *id, enum job_status *ret_status)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;

	if (!id_valid(id))
		return -ENOENT;
	if ((r = job_row(rq->db, "SELECT status FROM jobs WHERE id = ?1 AND "
	    "consumer_id = ?2", id, rq->consumer_id, &st)) < 0)
		return r;
	return jobs_status_column(st, 0, ret_status);
}

static int
not_found(struct api_err *err)
{
	return api_err_set(err, 404, "not_found", "no such job");
}

bool
content_type_json(const char *ct)
{
	size_t n = strlen("application/json");

	if (!ct || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static void
ring_doorbell(const struct api_server *srv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (srv->doorbell_fd < 0 || !srv->doorbell_path)
		return;
	if (str_copy(sa.sun_path, sizeof(sa.sun_path), srv->doorbell_path) < 0)
		return;
	/* Best effort: a full or absent doorbell only delays the start to the
	 * workers' fallback poll. */
	(void) sendto(srv->doorbell_fd, "j", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *) &sa, sizeof(sa));
}

static bool
idempotency_key_ok(const char *k)
{
	size_t n = strnlen(k, IDEMPOTENCY_KEY_MAX + 1);

	if (n == 0 || n > IDEMPOTENCY_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return false;
	return true;
}

/* Inside BEGIN IMMEDIATE: 1 and ret_id if the key names a live job. */
static int
idempotency_find(sqlite3 *db, int64_t consumer_id, const char *key,
    int64_t now, char *ret_id)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL, *up = NULL;
	int r, rc;

	/* A key older than the window is free again. */
	if ((r = db_prepare_cached(db, "UPDATE jobs SET idempotency_key = NULL "
	    "WHERE consumer_id = ? AND idempotency_key = ? AND created_at <= ?",
	    &up)) < 0)
		return r;
	if (sqlite3_bind_int64(up, 1, consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(up, 2, key, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(up, 3, now - IDEMPOTENCY_WINDOW_MS) != SQLITE_OK)
		return -EIO;
	if ((rc = sqlite3_step(up)) != SQLITE_DONE)
		return db_errno(rc);
	if ((r = db_prepare_cached(db, "SELECT id FROM jobs WHERE consumer_id = ? "
	    "AND idempotency_key = ?", &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_errno(rc);
	(void) str_copy(ret_id, JC_ID_LEN + 1,
	    (const char *) sqlite3_column_text(st, 0));
	return 1;
}

/* Inside BEGIN IMMEDIATE: 0, or 1 with err set when a quota refuses. The
 * counters are the schema's triggers' (sql/schema.sql): one row read,
 * however many jobs the consumer has. */
static int
quota_check(sqlite3 *db, int64_t consumer_id, int64_t now, int retry_storage_s,
    struct api_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t day_start = now / 86400000 * 86400000;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "SELECT max_per_day, max_queued, "
		 "CASE WHEN day_start = ? THEN day_count ELSE 0 END, queued, "
		 "max_storage_mb, storage_bytes FROM consumers WHERE id = ?",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, day_start) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, consumer_id) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		api_err_set(err, 401, "unauthorized",
		    "a valid API key is required");
		return 1;
	}
	if (rc != SQLITE_ROW)
		return db_errno(rc);
	if (sqlite3_column_int64(st, 2) >= sqlite3_column_int64(st, 0)) {
		api_err_set(err, 429, "quota_exceeded",
		    "the daily quota of %lld jobs is used up",
		    (long long) sqlite3_column_int64(st, 0));
		err->retry_after_s = (int) ((day_start + 86400000 - now) / 1000)
		    + 1;
		return 1;
	}
	if (sqlite3_column_int64(st, 3) >= sqlite3_column_int64(st, 1)) {
		api_err_set(err, 429, "quota_exceeded",
		    "%lld jobs are already queued, the most this consumer may "
		    "have", (long long) sqlite3_column_int64(st, 1));
		err->retry_after_s = 5;
		return 1;
	}
	/* Over max_storage_mb (logs + blobs + artifacts, kept by the schema's
	 * triggers): no new output until the collector or the consumer's
	 * own expiries free some (issue 13). */
	if (sqlite3_column_int64(st, 5) >
	    sqlite3_column_int64(st, 4) * 1024 * 1024) {
		api_err_set(err, 429, "quota_exceeded",
		    "this consumer stores %lld MiB, over its storage quota of "
		    "%lld MiB; wait for old jobs, artifacts and blobs to expire",
		    (long long) ((sqlite3_column_int64(st, 5) + 1048575) /
			1048576),
		    (long long) sqlite3_column_int64(st, 4));
		err->retry_after_s = retry_storage_s;
		return 1;
	}
	return 0;
}

static int
insert_job(sqlite3 *db, int64_t consumer_id, const char *id,
    const struct job_request *jr, const struct strbuf *spec, const char *idem,
    int64_t now)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db, "INSERT INTO jobs (id, consumer_id, name, "
	    "spec, stdin, timeout_ms, memory_mb, cpus, pids, disk_mb, sandbox, "
	    "idempotency_key, created_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, consumer_id) != SQLITE_OK ||
	    (jr->name ? sqlite3_bind_text(st, 3, jr->name, -1,
	    SQLITE_TRANSIENT) : sqlite3_bind_null(st, 3)) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, spec->buf, (int) spec->len,
	    SQLITE_TRANSIENT) != SQLITE_OK ||
	    (jr->stdin_data ? sqlite3_bind_blob(st, 5, jr->stdin_data,
	    (int) jr->stdin_len, SQLITE_TRANSIENT) :
	    sqlite3_bind_null(st, 5)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, jr->timeout_s * 1000) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, jr->memory_mb) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, jr->cpus) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 9, jr->pids) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 10, jr->disk_mb) != SQLITE_OK ||
	    sqlite3_bind_text(st, 11, jr->sandbox, -1, SQLITE_TRANSIENT) !=
	    SQLITE_OK ||
	    (idem ? sqlite3_bind_text(st, 12, idem, -1, SQLITE_TRANSIENT) :
	    sqlite3_bind_null(st, 12)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 13, now) != SQLITE_OK)
		return -EIO;
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return db_errno(rc);
	return 0;
}

/* Inside the job's transaction, before its row: each input's blob must be
 * the caller's (another consumer's is the same as none: DESIGN section 1);
 * its last use is now, so the collector keeps it. A swarm job's inputs
 * travel with its files in one swarm config: their blobs' sizes count. 0,
 * 1 with err set (a refusal naming the input), or -errno. Writes
 * nothing. */
static int
inputs_check(sqlite3 *db, int64_t consumer_id, const struct job_request *jr,
    struct api_err *err)
{
	bool swarm = strcmp(jr->sandbox, "swarm") == 0;
	uint64_t stream = job_request_swarm_stream_bytes(jr);

	for (size_t i = 0; i < jr->ninputs; i++) {
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		int r, rc;

		if ((r = db_prepare_cached(db,
			 "SELECT size FROM blobs "
			 "WHERE consumer_id = ? AND digest = ?",
			 &st)) < 0)
			return r;
		if (sqlite3_bind_int64(st, 1, consumer_id) != SQLITE_OK ||
		    sqlite3_bind_text(st, 2, jr->inputs[i].digest, -1,
			SQLITE_TRANSIENT) != SQLITE_OK)
			return -EIO;
		if ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE)
			return db_errno(rc);
		if (rc == SQLITE_DONE) {
			(void) api_err_set(err, 400, "invalid_request",
			    "field 'inputs[%zu].blob': this consumer has no "
			    "blob sha256:%s (upload it first: PUT "
			    "/v1/blobs/sha256:%s)",
			    i, jr->inputs[i].digest, jr->inputs[i].digest);
			return 1;
		}
		stream += 12 + strlen(jr->inputs[i].path) +
		    (uint64_t) sqlite3_column_int64(st, 0);
		if (swarm && stream > JC_SWARM_CONFIG_MAX) {
			(void) api_err_set(err, 400, "invalid_request",
			    "field 'inputs[%zu]': with the job's files and the "
			    "inputs before it, over %u bytes, the most a swarm "
			    "job carries",
			    i, JC_SWARM_CONFIG_MAX);
			return 1;
		}
	}
	return 0;
}

/* The job's blobs, in the job's transaction: a blob named here by a job
 * that is not final is never collected (sql/migrate-4.sql); its last use
 * is now. */
static int
insert_job_blobs(sqlite3 *db, int64_t consumer_id, const char *id,
    const struct job_request *jr, int64_t now)
{
	for (size_t i = 0; i < jr->ninputs; i++) {
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		_cleanup_reset_ sqlite3_stmt *up = NULL;
		int r, rc;

		if ((r = db_prepare_cached(db,
			 "UPDATE blobs SET last_used_at = ? "
			 "WHERE consumer_id = ? AND digest = ?",
			 &up)) < 0)
			return r;
		if (sqlite3_bind_int64(up, 1, now) != SQLITE_OK ||
		    sqlite3_bind_int64(up, 2, consumer_id) != SQLITE_OK ||
		    sqlite3_bind_text(up, 3, jr->inputs[i].digest, -1,
			SQLITE_TRANSIENT) != SQLITE_OK)
			return -EIO;
		if ((rc = sqlite3_step(up)) != SQLITE_DONE)
			return db_errno(rc);
		if ((r = db_prepare_cached(db,
			 "INSERT OR IGNORE INTO job_blobs "
			 "(job_id, consumer_id, digest) VALUES (?, ?, ?)",
			 &st)) < 0)
			return r;
		if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) !=
			SQLITE_OK ||
		    sqlite3_bind_int64(st, 2, consumer_id) != SQLITE_OK ||
		    sqlite3_bind_text(st, 3, jr->inputs[i].digest, -1,
			SQLITE_TRANSIENT) != SQLITE_OK)
			return -EIO;
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			return db_errno(rc);
	}
	return 0;
}

/* A code job's runtime (issue 14), next to insert_job's row. */
static int
insert_runtime(sqlite3 *db, const char *id, const struct job_request *jr)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "UPDATE jobs SET runtime = ?2, "
		 "runtime_version = ?3 WHERE id = ?1",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, jr->runtime_name, -1, SQLITE_TRANSIENT) !=
		SQLITE_OK ||
	    sqlite3_bind_text(st, 3, jr->runtime_version, -1,
		SQLITE_TRANSIENT) != SQLITE_OK)
		return -EIO;
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return db_errno(rc);
	return 0;
}

/* ---- group commit: one writer stores every waiting submission ----
 *
 * A submission is only "accepted" (201) once its row is committed with
 * synchronous=FULL, i.e. after a WAL flush. One flush per submission made
 * the flush the API's bottleneck, and each thread's connection, its page
 * cache emptied by the other threads' commits, re-read the tables for
 * every insert. So API threads hand their validated job to one writer
 * thread, which stores everything waiting in ONE transaction (one flush),
 * on its own connection (a warm cache: it writes every new job), and only
 * then wakes each submitter with its result. A refusal (quota, docker
 * down) writes nothing and does not touch its neighbours; an error of the
 * database (busy, disk full) fails the whole batch, nothing of it stored. */
#define WRITER_BATCH_MAX 64

struct submission {
	int64_t consumer_id;
	const struct job_request *jr;
	const struct strbuf *spec;
	const char *idem;
	char id[JC_ID_LEN + 1];	/* the new job's; an earlier job's if idem
				 * names one */
	struct api_err *err;	/* set on a refusal */
	struct strbuf *json;	/* if not NULL: the job object, rendered
				 * in the batch's transaction */
	int result;		/* 0 stored, 1 idem found, -EINVAL refused,
				 * other -errno */
	bool done;
	pthread_cond_t done_cv; /* signalled for this submission only */
	struct submission *next;
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_work = PTHREAD_COND_INITIALIZER;
static struct submission *queue_head, *queue_tail;
static const struct api_server *writer_srv;

/* One submission, inside the batch's transaction. */
static int
store_one(sqlite3 *db, struct submission *s, int64_t now)
{
	int r, found = 0;

	if (s->idem && (found = idempotency_find(db, s->consumer_id, s->idem,
	    now, s->id)) != 0)
		return found;
	/* Refused now rather than failed later: DESIGN section 4. */
	if (strcmp(s->jr->sandbox, "namespace") != 0 &&
	    (r = health_sandbox_live(db, s->jr->sandbox)) <= 0) {
		if (r < 0)
			return r;
		(void) api_err_set(s->err, 503, "unavailable",
		    "the %s "
		    "sandbox is not available now: no worker reaches a "
		    "%s",
		    s->jr->sandbox,
		    strcmp(s->jr->sandbox, "swarm") == 0 ? "swarm manager" :
							   "docker daemon");
		return -EINVAL;	/* a refusal, not a database error */
	}
	if ((r = quota_check(db, s->consumer_id, now,
		 writer_srv->retry_storage_s, s->err)) != 0)
		return r < 0 ? r : -EINVAL;
	if ((r = inputs_check(db, s->consumer_id, s->jr, s->err)) != 0)
		return r < 0 ? r : -EINVAL;
	if ((r = images_check(db, s->consumer_id, s->jr, s->err)) != 0)
		return r < 0 ? r : -EINVAL;
	if ((r = insert_job(db, s->consumer_id, s->id, s->jr, s->spec, s->idem,
		 now)) < 0)
		return r;
	if ((r = images_store(db, s->consumer_id, s->id, s->jr, now)) < 0)
		return r;
	if ((r = insert_job_blobs(db, s->consumer_id, s->id, s->jr, now)) < 0)
		return r;
	return s->jr->runtime_name[0] ? insert_runtime(db, s->id, s->jr) : 0;
}

/* The reply's job object, from the row the batch wrote, read on the
 * writer's connection (its cache holds the page): the submitter's own
 * connection would have to start a read transaction and re-read pages
 * every other commit invalidated, which was 18% of the API's CPU under
 * 64 connections (bench/all). A failure leaves json empty: the submitter
 * then reads the row itself. */
static void
render_one(sqlite3 *db, struct submission *s)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct jw w;

	if (!s->json ||
	    job_row(db,
		"SELECT " JOB_COLUMNS " FROM jobs "
		"WHERE id = ?1 AND consumer_id = ?2",
		s->id, s->consumer_id, &st) < 0)
		return;
	jw_init(&w, s->json);
	job_write_json(&w, st);
	if (jw_finish(&w) < 0)
		strbuf_reset(s->json);
}

static void
store_batch(sqlite3 *db, struct submission *batch)
{
	struct submission *s;
	int64_t now;
	int r;

	if ((r = begin_write(db)) == 0) {
		/* Stamped once the write lock is held, not before waiting for
		 * it: a claim that committed while this batch waited stamped
		 * its started_at then, and a job must not look older than a
		 * claim that could not have seen it (created_at orders fair
		 * dispatch; 07-contract checks it). */
		now = time_now_ms();
		for (s = batch; s && r == 0; s = s->next) {
			s->result = store_one(db, s, now);
			if (s->result < 0 && s->result != -EINVAL)
				r = s->result;
			else if (s->result >= 0)
				render_one(db, s);
		}
		/* A database error rolls the whole batch back (SQLite may
		 * have done so already); a failed COMMIT stores nothing. */
		int c = end_write(db, r == 0);

		if (r == 0)
			r = c;
	}
	for (s = batch; s; s = s->next)
		if (r < 0 && s->result != -EINVAL)
			s->result = r;
	/* One ring for the batch: every idle worker wakes on it and tries to
	 * claim (worker.c, wait_for_bell), and a busy one looks for the
	 * next job when it stores its result. */
	for (s = batch; s; s = s->next)
		if (s->result == 0) {
			ring_doorbell(writer_srv);
			break;
		}
}

static void *
writer_main(void *arg)
{
	sqlite3 *db = arg;

	(void) pthread_mutex_lock(&queue_lock);
	for (;;) {
		struct submission *batch, *s;
		int n = 1;

		while (!queue_head)
			(void) pthread_cond_wait(&queue_work, &queue_lock);
		batch = queue_head;
		for (s = batch; s->next && n < WRITER_BATCH_MAX; s = s->next)
			n++;
		queue_head = s->next;
		if (!queue_head)
			queue_tail = NULL;
		s->next = NULL;
		(void) pthread_mutex_unlock(&queue_lock);
		store_batch(db, batch);
		(void) pthread_mutex_lock(&queue_lock);
		/* Each submitter of the batch is woken by its own condition:
		 * one broadcast woke every waiting thread (64 at 64
		 * connections) for each batch, and most went back to sleep. */
		for (s = batch; s;) {
			struct submission *next = s->next;

			s->done = true;
			(void) pthread_cond_signal(&s->done_cv);
			s = next; /* s is the submitter's, gone once it runs */
		}
	}
	return NULL;
}

/* Queues s for the writer and waits for its result. */
static int
submission_store(struct submission *s)
{
	int r;

	s->next = NULL;
	s->done = false;
	if ((r = pthread_cond_init(&s->done_cv, NULL)) != 0)
		return -r;
	(void) pthread_mutex_lock(&queue_lock);
	if (queue_tail)
		queue_tail->next = s;
	else
		queue_head = s;
	queue_tail = s;
	(void) pthread_cond_signal(&queue_work);
	while (!s->done)
		(void) pthread_cond_wait(&s->done_cv, &queue_lock);
	(void) pthread_mutex_unlock(&queue_lock);
	(void) pthread_cond_destroy(&s->done_cv);
	return s->result;
}

int
jobs_writer_start(const struct api_server *srv, char *errmsg, size_t size)
{
	pthread_t t;
	sqlite3 *db = NULL;
	int r;

	writer_srv = srv;
	if ((r = db_open(srv->db_path, 0, 0, &db, errmsg, size)) < 0)
		return r;
	if ((r = pthread_create(&t, NULL, writer_main, db)) != 0) {
		char ebuf[128];

		/* GNU strerror_r (_GNU_SOURCE via config.h) returns the text. */
		(void) snprintf(errmsg, size, "cannot start the writer thread: "
		    "%s", strerror_r(r, ebuf, sizeof(ebuf)));
		db = db_close(db);
		return -r;
	}
	(void) pthread_detach(t);
	return 0;
}

int
jobs_store_request(struct req *rq, struct job_request *jr, const char *idem,
    struct api_err *err, char ret_id[JC_ID_LEN + 1], struct strbuf *ret_json)
{
	_cleanup_strbuf_ struct strbuf spec;
	struct submission sub;
	char id[JC_ID_LEN + 1];
	int r;

	strbuf_init(&spec, JC_MAX_BODY_BYTES * 2);
	if (jr->runtime[0] && !jr->runtime_name[0] &&
	    (r = runtime_resolve(rq, jr, err)) < 0)
		return r;
	if (!jr->build && (r = images_resolve(rq, jr, err)) < 0)
		return r;
	if ((r = job_request_spec_json(jr, &spec)) < 0 ||
	    (r = id_generate(id)) < 0)
		return api_err_internal(err, r);
	sub = (struct submission){ .consumer_id = rq->consumer_id,
		.jr = jr,
		.spec = &spec,
		.idem = idem,
		.err = err,
		.json = ret_json };
	memcpy(sub.id, id, sizeof(id));
	r = submission_store(&sub);
	if (r == -EINVAL)
		return r; /* refused: err says why */
	if (r < 0) {
		log_errno(r, "consumer=%lld: cannot store a job",
		    (long long) rq->consumer_id);
		return api_err_internal(err, r);
	}
	memcpy(ret_id, sub.id, sizeof(sub.id));
	return r;
}

/* Validates and stores a submission. 0 and ret_id (a new job, 201) or 1 and
 * ret_id (an earlier job with the same Idempotency-Key, 200); else err.
 * With ret_json, the job object as stored (empty if it could not be
 * rendered). */
static int
job_submit(struct req *rq, struct api_err *err, char ret_id[JC_ID_LEN + 1],
    struct strbuf *ret_json)
{
	struct job_request jr = { 0 };
	const char *idem = req_param(rq, "HTTP_IDEMPOTENCY_KEY");
	int r;

	if (!content_type_json(req_param(rq, "CONTENT_TYPE")))
		return api_err_set(err, 415, "unsupported_media_type",
		    "the body must be sent as Content-Type: application/json");
	if (idem && !idempotency_key_ok(idem))
		return api_err_set(err, 400, "invalid_request",
		    "the Idempotency-Key header must be 1 to %d printable "
		    "ASCII characters", IDEMPOTENCY_KEY_MAX);
	if ((r = req_read_body(rq, err)) < 0)
		return r;
	if ((r = job_request_parse(rq->body.buf, rq->body.len,
	    &rq->srv->limits, &jr, err)) < 0)
		return r;
	if (jr.ninputs > 0 && !rq->srv->has_data_dir) {
		job_request_release(&jr);
		return api_err_set(err, 400, "invalid_request",
		    "field 'inputs': this server keeps no blobs (no [storage] "
		    "data_dir is configured), so jobs cannot have inputs");
	}
	if (jr.nartifacts > 0 && !rq->srv->has_data_dir) {
		job_request_release(&jr);
		return api_err_set(err, 400, "invalid_request",
		    "field 'artifacts': this server keeps no artifacts (no "
		    "[storage] data_dir)");
	}
	r = jobs_store_request(rq, &jr, idem, err, ret_id, ret_json);
	job_request_release(&jr);
	return r;
}

int
jobs_reply_created(struct req *rq, const char *id, bool found,
    struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	char hdr[128];
	int r;

	strbuf_init(&out, 64 * 1024);
	if ((r = job_json_by_id(rq, id, &out)) < 0)
		return api_err_internal(err, r);
	(void) snprintf(hdr, sizeof(hdr), "Location: /v1/jobs/%s\r\n", id);
	return reply_json(rq, found ? 200 : 201, hdr, &out);
}

int
jobs_create(struct req *rq, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	char id[JC_ID_LEN + 1], hdr[128];
	int r, found;

	strbuf_init(&out, 64 * 1024);
	if ((found = job_submit(rq, err, id, &out)) < 0)
		return found;
	if (out.len == 0 && (r = job_json_by_id(rq, id, &out)) < 0)
		return api_err_internal(err, r);
	(void) snprintf(hdr, sizeof(hdr), "Location: /v1/jobs/%s\r\n", id);
	return reply_json(rq, found ? 200 : 201, hdr, &out);
}

/* Bytes at the end of s[0..len) that start a UTF-8 sequence the chunk
 * cuts short: they are carried to the next chunk, so a character split
 * across two stored chunks is escaped whole, as if the output were one
 * string (what is still cut at the end becomes U+FFFD). */
static size_t
utf8_cut_tail(const unsigned char *s, size_t len)
{
	for (size_t i = 1; i <= 3 && i <= len; i++) {
		unsigned char b = s[len - i];
		size_t want;

		if ((b & 0xc0) == 0x80)
			continue;	/* a continuation byte: look further */
		want = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
		return want > i ? i : 0;
	}
	return 0;
}

/* Appends the escaped bytes (no quotes) of s[0..len) to the sink. */
static int
run_escape(struct sink *k, const char *s, size_t len)
{
	struct jw w;
	size_t start;
	int r;

	jw_init(&w, k->buf);
	start = k->buf->len;
	jw_strn(&w, s, len);
	if ((r = jw_finish(&w)) < 0)
		return r;
	/* Drop the quotes jw_strn wrote around the text. */
	memmove(k->buf->buf + start, k->buf->buf + start + 1,
	    k->buf->len - start - 2);
	k->buf->len -= 2;
	k->buf->buf[k->buf->len] = '\0';
	return sink_flush(k, false);
}

/* Writes ,"<name>":"<output>","<name>_truncated":bool into the open object
 * of the sink, RUN_OUTPUT_CAP bytes at most, chunk by chunk. */
int
run_output(sqlite3 *db, const char *id, int stream, const char *name,
    struct sink *k)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char carry[4];
	size_t ncarry = 0, total = 0;
	bool truncated = false;
	int r, rc;

	if ((r = db_prepare_cached(db, "SELECT data FROM job_logs WHERE "
	    "job_id = ? AND stream = ? ORDER BY seq", &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int(st, 2, stream))
		return -EIO;
	if ((r = strbuf_addf(k->buf, ",\"%s\":\"", name)) < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *data = sqlite3_column_blob(st, 0);
		size_t n = (size_t) sqlite3_column_bytes(st, 0), cut;

		if (n > RUN_OUTPUT_CAP - total) {
			n = RUN_OUTPUT_CAP - total;
			truncated = true;
		}
		total += n;
		/* Complete a character the last chunk began. */
		while (ncarry > 0 && ncarry < sizeof(carry) && n > 0 &&
		    ((unsigned char) *data & 0xc0) == 0x80 &&
		    utf8_cut_tail((const unsigned char *) carry, ncarry) != 0) {
			carry[ncarry++] = *data++;
			n--;
		}
		if (ncarry > 0 && (r = run_escape(k, carry, ncarry)) < 0)
			return r;
		ncarry = 0;
		cut = truncated ? 0 : utf8_cut_tail((const unsigned char *) data,
		    n);
		if (n - cut > 0 && (r = run_escape(k, data, n - cut)) < 0)
			return r;
		memcpy(carry, data + n - cut, cut);
		ncarry = cut;
		if (truncated)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_errno(rc);
	if (ncarry > 0 && (r = run_escape(k, carry, ncarry)) < 0)
		return r;
	if ((r = strbuf_addf(k->buf, "\",\"%s_truncated\":%s", name,
	    truncated ? "true" : "false")) < 0)
		return r;
	return sink_flush(k, false);
}

int
jobs_run_reply(sqlite3 *db, FCGX_Request *fr, int64_t consumer_id,
    const char *id, bool found)
{
	_cleanup_strbuf_ struct strbuf buf;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char hdr[128];
	struct sink k;
	struct jw w;
	bool compiled;
	int r;

	/* Flushed at SINK_FLUSH_BYTES; one escaped chunk may come on top. */
	strbuf_init(&buf, SINK_FLUSH_BYTES + 7 * JC_LOG_CHUNK_BYTES + 65536);
	(void) snprintf(hdr, sizeof(hdr), "Location: /v1/jobs/%s\r\n", id);
	k = (struct sink) { .out = fr->out, .buf = &buf,
	    .status = found ? 200 : 201, .content_type = "application/json",
	    .headers = hdr };
	if ((r = db_exec_cached(db, "BEGIN")) < 0)
		goto fail;
	r = job_row(db, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1 AND "
	    "consumer_id = ?2", id, consumer_id, &st);
	if (r >= 0) {
		jw_init(&w, &buf);
		jw_obj_open(&w);
		job_write_fields(&w, st);
		if ((r = w.err) < 0)
			goto commit;	/* (jw_finish: the object is open) */
		compiled = sqlite3_column_type(st, 26) != SQLITE_NULL;
		(void) sqlite3_reset(st);
		st = NULL;
		if (compiled &&
		    ((r = run_output(db, id, 3, "compile_stdout", &k)) < 0 ||
			(r = run_output(db, id, 4, "compile_stderr", &k)) < 0))
			goto commit;
		if ((r = run_output(db, id, 1, "stdout", &k)) >= 0 &&
		    (r = run_output(db, id, 2, "stderr", &k)) >= 0 &&
		    (r = strbuf_addstr(&buf, "}\n")) >= 0)
			r = sink_flush(&k, true);
	}
commit:
	(void) db_exec_cached(db, "COMMIT");
	if (r >= 0 || k.headers_sent)
		return r;
fail:
	{
		struct api_err e = { 0 };
		struct req rq = { .fcgi = fr };

		if (r == -ENOENT)
			api_err_set(&e, 404, "not_found", "no such job");
		else
			api_err_internal(&e, r);
		(void) reply_error(&rq, &e);
	}
	return r;
}

int
jobs_run(struct req *rq, struct api_err *err)
{
	struct park *p = NULL;
	char id[JC_ID_LEN + 1];
	int r, found;

	/* The place first: past the share nothing is submitted. */
	if ((r = park_reserve(rq->srv, PARK_RUN, rq->consumer_id, err,
	    &p)) < 0)
		return r == -EBUSY ? r : api_err_internal(err, r);
	if ((found = job_submit(rq, err, id, NULL)) < 0) {
		park_cancel(p);
		return found;
	}
	/* Bounded by the job's own timeout, the kill grace and a margin for
	 * the queue; past it the job is returned as it stands. */
	park_run(p, rq, id, found != 0, time_mono_ms() +
	    rq->srv->limits.timeout_max_s * 1000 + 30000);
	return 0;
}

int
jobs_get(struct req *rq, const char *id, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	int r;

	strbuf_init(&out, 64 * 1024);
	if (!id_valid(id))
		return not_found(err);
	r = job_json_by_id(rq, id, &out);
	if (r == -ENOENT)
		return not_found(err);
	if (r < 0)
		return api_err_internal(err, r);
	return reply_json(rq, 200, NULL, &out);
}

int
jobs_list(struct req *rq, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char buf[64], status[16] = "", before[JC_ID_LEN + 1] = "";
	char last[JC_ID_LEN + 1] = "";
	int64_t limit = JC_LIST_DEFAULT;
	struct jw w;
	int r, rc, n = 0;
	bool more = false;

	strbuf_init(&out, 8 * 1024 * 1024);
	r = query_get(rq->query, "limit", buf, sizeof(buf));
	if (r != -ENOENT && (r < 0 ||
	    parse_i64(buf, 1, JC_LIST_MAX, &limit) < 0))
		return api_err_set(err, 400, "invalid_request",
		    "parameter 'limit' must be a whole number from 1 to %d",
		    JC_LIST_MAX);
	r = query_get(rq->query, "status", status, sizeof(status));
	if (r != -ENOENT) {
		enum job_status want;

		if (r < 0 || job_status_from_string(status, &want) < 0)
			return api_err_set(err, 400, "invalid_request",
			    "parameter 'status' must be one of queued, running, "
			    "succeeded, failed, timed_out, cancelled, error");
	}
	r = query_get(rq->query, "before", before, sizeof(before));
	if (r != -ENOENT && (r < 0 || !id_valid(before)))
		return api_err_set(err, 400, "invalid_request",
		    "parameter 'before' must be a job id");
	if ((r = db_prepare_cached(rq->db, "SELECT " JOB_COLUMNS " FROM jobs "
	    "WHERE consumer_id = ?1 AND (?2 = '' OR status = ?2) AND "
	    "(?3 = '' OR id < ?3) ORDER BY id DESC LIMIT ?4", &st)) < 0)
		return api_err_internal(err, r);
	if (sqlite3_bind_int64(st, 1, rq->consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, before, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, limit + 1) != SQLITE_OK)
		return api_err_internal(err, -EIO);
	jw_init(&w, &out);
	jw_obj_open(&w);
	jw_key(&w, "jobs");
	jw_arr_open(&w);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			more = true;
			break;
		}
		job_write_json(&w, st);
		(void) str_copy(last, sizeof(last),
		    (const char *) sqlite3_column_text(st, 0));
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return api_err_internal(err, db_errno(rc));
	jw_arr_close(&w);
	if (more)
		jw_kv_str(&w, "next", last);
	else
		jw_kv_null(&w, "next");
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0)
		return api_err_internal(err, r);
	return reply_json(rq, 200, NULL, &out);
}

int
jobs_cancel(struct req *rq, const char *id, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	enum job_status status;
	int r, rc;

	strbuf_init(&out, 64 * 1024);
	if (!id_valid(id))
		return not_found(err);
	if ((r = begin_write(rq->db)) < 0)
		return api_err_internal(err, r);
	r = jobs_lookup(rq, id, &status);
	if (r == -ENOENT) {
		(void) end_write(rq->db, false);
		return not_found(err);
	}
	if (r < 0)
		goto fail;
	if (job_status_is_final(status)) {
		(void) end_write(rq->db, false);
		return api_err_set(err, 409, "conflict",
		    "the job has already finished (%s)",
		    job_status_to_string(status));
	}
	if ((r = db_prepare(rq->db, "UPDATE jobs SET "
	    "status = CASE status WHEN 'queued' THEN 'cancelled' ELSE status END,"
	    "finished_at = CASE status WHEN 'queued' THEN ?1 ELSE finished_at END,"
	    "cancel_requested = 1 WHERE id = ?2", &st)) < 0)
		goto fail;
	if (sqlite3_bind_int64(st, 1, time_now_ms()) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		r = -EIO;
		goto fail;
	}
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_errno(rc);
		goto fail;
	}
	/* A queued build never ran: its name is free now. A running one
	 * frees it when its worker ends it (jobstore.c). */
	if (status == JOB_QUEUED && (r = images_cancel_queued(rq->db, id)) < 0)
		goto fail;
	(void) sqlite3_finalize(st);
	st = NULL;
	if ((r = end_write(rq->db, true)) < 0)
		return api_err_internal(err, r);
	/* Wake the workers: the one running the job checks for cancels. */
	ring_doorbell(rq->srv);
	if ((r = job_json_by_id(rq, id, &out)) < 0)
		return api_err_internal(err, r);
	return reply_json(rq, 200, NULL, &out);
fail:
	(void) end_write(rq->db, false);
	return api_err_internal(err, r);
}
