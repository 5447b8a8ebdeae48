/* run.c - POST /v1/run: a submission that answers when its job ends, with
 * the job object and its output (RUN_OUTPUT_CAP bytes a stream at most).
 * jobs_run runs on an API thread and parks the request (park.c);
 * jobs_run_reply on a park finisher thread, with that thread's own SQLite
 * connection. Trusts the job's stored output only as bytes to escape. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "timefmt.h"
#include "banned.h"

#define RUN_OUTPUT_CAP (1024 * 1024) /* stdout/stderr bytes in a reply */

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
			continue; /* a continuation byte: look further */
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
static int
run_output(sqlite3 *db, const char *id, int stream, const char *name,
    struct sink *k)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char carry[4];
	size_t ncarry = 0, total = 0;
	bool truncated = false;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "SELECT data FROM job_logs WHERE "
		 "job_id = ? AND stream = ? ORDER BY seq",
		 &st)) < 0)
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
		cut = truncated ?
		    0 :
		    utf8_cut_tail((const unsigned char *) data, n);
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
	struct api_err e = { 0 };
	struct req rq = { .fcgi = fr }; /* for reply_error only */
	char hdr[128];
	struct sink k;
	struct jw w;
	bool compiled;
	int r;

	/* Flushed at SINK_FLUSH_BYTES; one escaped chunk may come on top. */
	strbuf_init(&buf, SINK_FLUSH_BYTES + 7 * JC_LOG_CHUNK_BYTES + 65536);
	(void) snprintf(hdr, sizeof(hdr), "Location: /v1/jobs/%s\r\n", id);
	k = (struct sink){ .out = fr->out,
		.buf = &buf,
		.status = found ? 200 : 201,
		.content_type = "application/json",
		.headers = hdr };
	if ((r = db_exec_cached(db, "BEGIN")) < 0)
		goto fail;
	r = job_row_by_id(db, id, consumer_id, &st);
	if (r >= 0) {
		jw_init(&w, &buf);
		jw_obj_open(&w);
		job_write_fields(&w, st);
		if ((r = w.err) < 0)
			goto commit; /* (jw_finish: the object is open) */
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
	if (r == -ENOENT)
		api_err_set(&e, 404, "not_found", "no such job");
	else
		api_err_internal(&e, r);
	(void) reply_error(&rq, &e);
	return r;
}

int
jobs_run(struct req *rq, struct api_err *err)
{
	struct park *p = NULL;
	char id[JC_ID_LEN + 1];
	int r, found;

	/* The place first: past the share nothing is submitted. */
	if ((r = park_reserve(rq->srv, PARK_RUN, rq->consumer_id, err, &p)) < 0)
		return r == -EBUSY ? r : api_err_internal(err, r);
	if ((found = jobs_submit(rq, err, id, NULL)) < 0) {
		park_cancel(p);
		return found;
	}
	/* Bounded by the job's own timeout, the kill grace and a margin for
	 * the queue; past it the job is returned as it stands. */
	park_run(p, rq, id, found != 0,
	    time_mono_ms() + rq->srv->limits.timeout_max_s * 1000 + 30000);
	return 0;
}
