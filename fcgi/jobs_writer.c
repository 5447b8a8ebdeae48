/* jobs_writer.c - storing submissions: the writer thread that stores every
 * waiting submission in one transaction (group commit), what a submission
 * writes (idempotency, quotas, inputs, the job's row), the lock API threads
 * take for their own write transactions, and the workers' doorbell. The
 * writer runs on its own thread and SQLite connection; submitters wait on
 * their submission's own condition variable. Trusts only validated
 * requests (job_request.c). */
#include <errno.h>
#include <pthread.h>
#include <string.h>
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

/* API threads take turns for write transactions. Without this, threads
 * of the same process meet SQLite's busy handler, which sleeps in steps of
 * up to 100 ms: p99 went to 1.4 s under 4 concurrent submitters. Other
 * processes (the worker) still go through busy_timeout. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

int
jobs_write_begin(sqlite3 *db)
{
	int r;

	if ((r = pthread_mutex_lock(&write_lock)) != 0)
		return -r;
	if ((r = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		(void) pthread_mutex_unlock(&write_lock);
	return r;
}

int
jobs_write_end(sqlite3 *db, bool commit)
{
	int r = 0;

	if (commit && (r = db_exec(db, "COMMIT")) < 0)
		commit = false;
	if (!commit)
		(void) db_exec(db, "ROLLBACK");
	(void) pthread_mutex_unlock(&write_lock);
	return r;
}

void
jobs_doorbell_ring(const struct api_server *srv)
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

/* Inside BEGIN IMMEDIATE: 1 and ret_id if the key names a live job. */
static int
idempotency_find(sqlite3 *db, int64_t consumer_id, const char *key, int64_t now,
    char *ret_id)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL, *up = NULL;
	int r, rc;

	/* A key older than the window is free again. */
	if ((r = db_prepare_cached(db,
		 "UPDATE jobs SET idempotency_key = NULL "
		 "WHERE consumer_id = ? AND idempotency_key = ? "
		 "AND created_at <= ?",
		 &up)) < 0)
		return r;
	if (sqlite3_bind_int64(up, 1, consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(up, 2, key, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(up, 3, now - IDEMPOTENCY_WINDOW_MS) != SQLITE_OK)
		return -EIO;
	if ((rc = sqlite3_step(up)) != SQLITE_DONE)
		return db_errno(rc);
	if ((r = db_prepare_cached(db,
		 "SELECT id FROM jobs WHERE consumer_id = ? "
		 "AND idempotency_key = ?",
		 &st)) < 0)
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
		int64_t left_ms = day_start + 86400000 - now; /* of the day */

		api_err_set(err, 429, "quota_exceeded",
		    "the daily quota of %lld jobs is used up",
		    (long long) sqlite3_column_int64(st, 0));
		err->retry_after_s = (int) (left_ms / 1000) + 1;
		return 1;
	}
	if (sqlite3_column_int64(st, 3) >= sqlite3_column_int64(st, 1)) {
		api_err_set(err, 429, "quota_exceeded",
		    "%lld jobs are already queued, the most this consumer "
		    "may have",
		    (long long) sqlite3_column_int64(st, 1));
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

	if ((r = db_prepare_cached(db,
		 "INSERT INTO jobs (id, consumer_id, name, spec, stdin, "
		 "timeout_ms, memory_mb, cpus, pids, disk_mb, sandbox, "
		 "idempotency_key, created_at) VALUES "
		 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, consumer_id) != SQLITE_OK ||
	    (jr->name ?
		    sqlite3_bind_text(st, 3, jr->name, -1, SQLITE_TRANSIENT) :
		    sqlite3_bind_null(st, 3)) != SQLITE_OK ||
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
	char id[JC_ID_LEN + 1]; /* the new job's; an earlier job's if idem
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

	if (s->idem &&
	    (found = idempotency_find(db, s->consumer_id, s->idem, now,
		 s->id)) != 0)
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
		return -EINVAL; /* a refusal, not a database error */
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
 * then reads the row itself. The object is job_json_by_id's, as GET
 * renders it. */
static void
render_one(sqlite3 *db, struct submission *s)
{
	if (s->json && job_json_by_id(db, s->id, s->consumer_id, s->json) < 0)
		strbuf_reset(s->json);
}

static void
store_batch(sqlite3 *db, struct submission *batch)
{
	struct submission *s;
	int64_t now;
	int r;

	if ((r = jobs_write_begin(db)) == 0) {
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
		int c = jobs_write_end(db, r == 0);

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
			jobs_doorbell_ring(writer_srv);
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
	writer_srv = srv;
	return api_thread_start(writer_main, srv->db_path, "the writer thread",
	    errmsg, size);
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
