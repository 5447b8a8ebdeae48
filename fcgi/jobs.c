/* jobs.c - the jobs resource: submit, list, get, cancel, and the job
 * object every reply renders. Runs on an API thread with its own SQLite
 * connection. Every request is fully validated before a transaction
 * starts; writes that depend on reads (idempotency, quotas: the writer
 * thread, jobs_writer.c; cancel) run in BEGIN IMMEDIATE so they cannot
 * race. A consumer sees only its own jobs: any other id is 404, as if it
 * did not exist. POST /v1/run is run.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

#define IDEMPOTENCY_KEY_MAX 200

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

int
job_row_by_id(sqlite3 *db, const char *id, int64_t consumer_id,
    sqlite3_stmt **ret_st)
{
	return job_row(db,
	    "SELECT " JOB_COLUMNS " FROM jobs "
	    "WHERE id = ?1 AND consumer_id = ?2",
	    id, consumer_id, ret_st);
}

int
job_json_by_id(sqlite3 *db, const char *id, int64_t consumer_id,
    struct strbuf *sb)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct jw w;
	int r;

	if ((r = job_row_by_id(db, id, consumer_id, &st)) < 0)
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

int
jobs_submit(struct req *rq, struct api_err *err, char ret_id[JC_ID_LEN + 1],
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
	if ((r = job_json_by_id(rq->db, id, rq->consumer_id, &out)) < 0)
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
	if ((found = jobs_submit(rq, err, id, &out)) < 0)
		return found;
	if (out.len == 0 &&
	    (r = job_json_by_id(rq->db, id, rq->consumer_id, &out)) < 0)
		return api_err_internal(err, r);
	(void) snprintf(hdr, sizeof(hdr), "Location: /v1/jobs/%s\r\n", id);
	return reply_json(rq, found ? 200 : 201, hdr, &out);
}

int
jobs_get(struct req *rq, const char *id, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	int r;

	strbuf_init(&out, 64 * 1024);
	if (!id_valid(id))
		return not_found(err);
	r = job_json_by_id(rq->db, id, rq->consumer_id, &out);
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
	if ((r = jobs_write_begin(rq->db)) < 0)
		return api_err_internal(err, r);
	r = jobs_lookup(rq, id, &status);
	if (r == -ENOENT) {
		(void) jobs_write_end(rq->db, false);
		return not_found(err);
	}
	if (r < 0)
		goto fail;
	if (job_status_is_final(status)) {
		(void) jobs_write_end(rq->db, false);
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
	if ((r = jobs_write_end(rq->db, true)) < 0)
		return api_err_internal(err, r);
	/* Wake the workers: the one running the job checks for cancels. */
	jobs_doorbell_ring(rq->srv);
	if ((r = job_json_by_id(rq->db, id, rq->consumer_id, &out)) < 0)
		return api_err_internal(err, r);
	return reply_json(rq, 200, NULL, &out);
fail:
	(void) jobs_write_end(rq->db, false);
	return api_err_internal(err, r);
}
