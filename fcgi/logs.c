/* logs.c - a job's output: paged JSON entries (lossy UTF-8, a page bounded
 * in entries and in bytes) and the exact bytes of one stream, both
 * written as they are read. Reads happen in one short read transaction so
 * that "complete" and the entries come from the same snapshot; no
 * transaction is held between requests. */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

static int
not_found(struct api_err *err)
{
	return api_err_set(err, 404, "not_found", "no such job");
}

/* Writes the page through the sink: entries after `after`, at most limit
 * of them and, past JC_LOG_PAGE_BYTES of reply, none more (always at
 * least one): a big page is cut by bytes, `next_after` continues it and
 * `complete` is false (issue 12, section 4). Written as it is read, so
 * the API holds about SINK_FLUSH_BYTES plus one entry per page. */
static int
write_entries(sqlite3 *db, const char *id, int64_t after, int64_t limit,
    enum job_status status, struct sink *k)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t last = after, n = 0;
	bool more = false;
	struct jw w;
	int r, rc;

	if ((r = db_prepare_cached(db, "SELECT seq, stream, ts, data FROM job_logs "
	    "WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?", &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, after) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, limit + 1) != SQLITE_OK)
		return -EIO;
	jw_init(&w, k->buf);
	jw_obj_open(&w);
	jw_key(&w, "entries");
	jw_arr_open(&w);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char ts[TIMEFMT_RFC3339_LEN];

		if (n == limit || (n > 0 && k->sent + k->buf->len >=
		    JC_LOG_PAGE_BYTES)) {
			more = true;
			break;
		}
		last = sqlite3_column_int64(st, 0);
		jw_obj_open(&w);
		jw_kv_i64(&w, "seq", last);
		jw_kv_str(&w, "stream",
		    log_stream_name(sqlite3_column_int(st, 1)));
		jw_key(&w, "data");
		jw_strn(&w, sqlite3_column_blob(st, 3),
		    (size_t) sqlite3_column_bytes(st, 3));
		if (time_format_rfc3339(sqlite3_column_int64(st, 2), ts,
		    sizeof(ts)) == 0)
			jw_kv_str(&w, "ts", ts);
		jw_obj_close(&w);
		n++;
		if (w.err < 0)
			return w.err;
		if ((r = sink_flush(k, false)) < 0)
			return r;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_errno(rc);
	jw_arr_close(&w);
	jw_kv_i64(&w, "next_after", last);
	jw_kv_bool(&w, "complete", !more && job_status_is_final(status));
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0 || (r = strbuf_addch(k->buf, '\n')) < 0)
		return r;
	return sink_flush(k, true);
}

int
logs_page(struct req *rq, const char *id, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	char buf[32];
	enum job_status status;
	int64_t after = 0, limit = JC_LOG_PAGE_DEFAULT;
	struct sink k;
	int r;

	/* Flushed at SINK_FLUSH_BYTES; one escaped entry may come on top. */
	strbuf_init(&out, SINK_FLUSH_BYTES + 7 * JC_LOG_CHUNK_BYTES + 4096);
	k = (struct sink) { .out = rq->fcgi->out, .buf = &out, .status = 200,
	    .content_type = "application/json" };
	rq->status = 200;	/* for the request counters (metrics.c) */
	if (!id_valid(id))
		return not_found(err);
	r = query_get(rq->query, "after", buf, sizeof(buf));
	if (r != -ENOENT && (r < 0 || parse_i64(buf, 0, INT64_MAX, &after) < 0))
		return api_err_set(err, 400, "invalid_request",
		    "parameter 'after' must be a sequence number (0 or more)");
	r = query_get(rq->query, "limit", buf, sizeof(buf));
	if (r != -ENOENT && (r < 0 ||
	    parse_i64(buf, 1, JC_LOG_PAGE_MAX, &limit) < 0))
		return api_err_set(err, 400, "invalid_request",
		    "parameter 'limit' must be a whole number from 1 to %d",
		    JC_LOG_PAGE_MAX);
	r = query_get(rq->query, "follow", buf, sizeof(buf));
	if (r != -ENOENT && (r < 0 || (strcmp(buf, "0") != 0 &&
	    strcmp(buf, "1") != 0 && strcmp(buf, "true") != 0 &&
	    strcmp(buf, "false") != 0)))
		return api_err_set(err, 400, "invalid_request",
		    "parameter 'follow' must be 1 or 0");
	if (r == 0 && (strcmp(buf, "1") == 0 || strcmp(buf, "true") == 0))
		return stream_follow(rq, id, after, err);
	if ((r = db_exec(rq->db, "BEGIN")) < 0)
		return api_err_internal(err, r);
	r = jobs_lookup(rq, id, &status);
	if (r >= 0)
		r = write_entries(rq->db, id, after, limit, status, &k);
	(void) db_exec(rq->db, "COMMIT");
	if (k.headers_sent) {
		if (r < 0 && r != -EPIPE)
			(void) log_errno(r, "job=%s: logs page cut short", id);
		return 0;	/* headers are out: the body simply ends */
	}
	if (r == -ENOENT)
		return not_found(err);
	if (r < 0)
		return api_err_internal(err, r);
	return 0;
}

/* The stored stream numbers (sql/schema.sql): the compile step's output
 * is kept apart from the program's (issue 14). */
static const char *const stream_names[] = {
	[1] = "stdout",
	[2] = "stderr",
	[3] = "compile_stdout",
	[4] = "compile_stderr",
};

const char *
log_stream_name(int stream)
{
	return stream >= 1 && stream <= 4 ? stream_names[stream] : "stdout";
}

int
log_stream_number(const char *name)
{
	for (int i = 1; i <= 4; i++)
		if (strcmp(name, stream_names[i]) == 0)
			return i;
	return 0;
}

int
logs_output(struct req *rq, const char *id, struct api_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char stream[24] = "stdout";
	enum job_status status;
	int r, rc, want;

	if (!id_valid(id))
		return not_found(err);
	r = query_get(rq->query, "stream", stream, sizeof(stream));
	if (r == -ENOENT)
		(void) str_copy(stream, sizeof(stream), "stdout");
	if (r < 0 && r != -ENOENT)
		want = 0;
	else
		want = log_stream_number(stream);
	if (want == 0)
		return api_err_set(err, 400, "invalid_request",
		    "parameter 'stream' must be stdout, stderr, compile_stdout "
		    "or compile_stderr");
	if ((r = db_exec(rq->db, "BEGIN")) < 0)
		return api_err_internal(err, r);
	r = jobs_lookup(rq, id, &status);
	if (r == -ENOENT) {
		(void) db_exec(rq->db, "COMMIT");
		return not_found(err);
	}
	if (r >= 0)
		r = db_prepare(rq->db, "SELECT data FROM job_logs WHERE "
		    "job_id = ? AND stream = ? ORDER BY seq", &st);
	if (r >= 0 && (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) !=
	    SQLITE_OK || sqlite3_bind_int(st, 2, want) != SQLITE_OK))
		r = -EIO;
	if (r < 0) {
		(void) db_exec(rq->db, "COMMIT");
		return api_err_internal(err, r);
	}
	if ((r = reply_raw_header(rq, 200, "application/octet-stream",
	    job_status_is_final(status) ? NULL :
	    "X-Jobcell-Complete: false\r\n")) < 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);

		if (n > 0 && FCGX_PutStr(sqlite3_column_blob(st, 0), n,
		    rq->fcgi->out) < 0) {
			r = -EIO;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_warn("job=%s: output read failed: %s", id,
		    sqlite3_errmsg(rq->db));
out:
	(void) sqlite3_finalize(st);
	st = NULL;
	(void) db_exec(rq->db, "COMMIT");
	/* Headers are out: an error now can only cut the body short. */
	return 0;
}
