/* stream.c - GET /v1/jobs/{id}/logs?follow=1: a job's output as NDJSON,
 * flushed as it is stored, ending with an "exit" record. The API thread
 * only checks the request and parks it (park.c); the stream is then fed
 * in turns by the park loop, so a follow holds no thread for the life of
 * the job (issue 12, section 2).
 *
 * How it works: each turn (stream_read) opens a short read transaction,
 * reads the job's status and the next entries after the last sequence
 * number sent (up to about STREAM_TURN_BYTES of lines, at least one
 * entry), and ends the transaction, so the WAL can checkpoint: no reader
 * stays inside one between turns. The worker stores a job's last output
 * and its final status in one transaction, so once a snapshot shows a
 * final status and no further entries, everything has been sent and the
 * exit record follows. When to take a turn (the WAL watch, the client's
 * connection becoming writable, the client leaving) is park.c's business.
 * Streams are counted per consumer and in all; past either share the API
 * answers 503 at once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "timefmt.h"
#include "banned.h"

#define STREAM_BATCH 64		/* entries per snapshot, at most */

struct snapshot {
	enum job_status status;
	bool has_exit_code;
	int exit_code;
	bool timed_out;
	bool has_signal;
	int signal;
	char error[300];
};

static int
read_status(sqlite3 *db, int64_t consumer_id, const char *id,
    struct snapshot *s)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = job_row(db, "SELECT status, exit_code, timed_out, signal, "
	    "error FROM jobs WHERE id = ?1 AND consumer_id = ?2", id,
	    consumer_id, &st)) < 0)
		return r;
	if ((r = jobs_status_column(st, 0, &s->status)) < 0)
		return r;
	s->has_exit_code = sqlite3_column_type(st, 1) != SQLITE_NULL;
	s->exit_code = sqlite3_column_int(st, 1);
	s->timed_out = sqlite3_column_int(st, 2) != 0;
	s->has_signal = sqlite3_column_type(st, 3) != SQLITE_NULL;
	s->signal = sqlite3_column_int(st, 3);
	s->error[0] = '\0';
	if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		(void) snprintf(s->error, sizeof(s->error), "%s",
		    (const char *) sqlite3_column_text(st, 4));
	return 0;
}

/* Appends the lines of entries after *after to out: at most STREAM_BATCH,
 * and none more once out holds STREAM_TURN_BYTES. 1 if entries remain
 * (cut by the bound), 0 if this was all, -errno. */
static int
read_entries(sqlite3 *db, const char *id, int64_t *after, struct strbuf *out)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc, n = 0;

	if ((r = db_prepare_cached(db, "SELECT seq, stream, data FROM job_logs "
	    "WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?", &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(st, 2, *after) ||
	    sqlite3_bind_int(st, 3, STREAM_BATCH + 1))
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct jw w;

		if (n == STREAM_BATCH || (n > 0 && out->len >= STREAM_TURN_BYTES))
			return 1;
		jw_init(&w, out);
		jw_obj_open(&w);
		jw_kv_str(&w, "type",
		    log_stream_name(sqlite3_column_int(st, 1)));
		jw_kv_i64(&w, "seq", sqlite3_column_int64(st, 0));
		jw_key(&w, "data");
		jw_strn(&w, sqlite3_column_blob(st, 2),
		    (size_t) sqlite3_column_bytes(st, 2));
		jw_obj_close(&w);
		if ((r = jw_finish(&w)) < 0 || (r = strbuf_addch(out, '\n')) < 0)
			return r;
		*after = sqlite3_column_int64(st, 0);
		n++;
	}
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	return 0;
}

static int
exit_record(const struct snapshot *s, struct strbuf *out)
{
	struct jw w;
	int r;

	jw_init(&w, out);
	jw_obj_open(&w);
	jw_kv_str(&w, "type", "exit");
	jw_kv_str(&w, "status", job_status_to_string(s->status));
	if (s->has_exit_code)
		jw_kv_i64(&w, "exit_code", s->exit_code);
	else
		jw_kv_null(&w, "exit_code");
	jw_kv_bool(&w, "timed_out", s->timed_out);
	if (s->has_signal)
		jw_kv_i64(&w, "signal", s->signal);
	else
		jw_kv_null(&w, "signal");
	if (s->error[0])
		jw_kv_str(&w, "error", s->error);
	else
		jw_kv_null(&w, "error");
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0)
		return r;
	return strbuf_addch(out, '\n');
}

int
stream_read(sqlite3 *db, int64_t consumer_id, const char *id,
    int64_t *after, struct strbuf *out, bool *ret_more, bool *ret_done)
{
	struct snapshot s;
	int r, more;

	if ((r = db_exec_cached(db, "BEGIN")) < 0)
		return r;
	r = read_status(db, consumer_id, id, &s);
	more = r < 0 ? r : read_entries(db, id, after, out);
	(void) db_exec_cached(db, "COMMIT");
	if (more < 0)
		return more;
	*ret_more = more > 0;
	*ret_done = false;
	if (!more && job_status_is_final(s.status)) {
		if ((r = exit_record(&s, out)) < 0)
			return r;
		*ret_done = true;
	}
	return 0;
}

int
stream_follow(struct req *rq, const char *id, int64_t after,
    struct api_err *err)
{
	struct park *p = NULL;
	enum job_status status;
	int r;

	r = jobs_lookup(rq, id, &status);
	if (r == -ENOENT)
		return api_err_set(err, 404, "not_found", "no such job");
	if (r < 0)
		return api_err_internal(err, r);
	if ((r = park_reserve(rq->srv, PARK_STREAM, rq->consumer_id, err,
	    &p)) < 0)
		return r == -EBUSY ? r : api_err_internal(err, r);
	park_stream(p, rq, id, after);
	return 0;
}
