/* stream.c - GET /v1/jobs/{id}/logs?follow=1: a job's output as NDJSON,
 * flushed as it is stored, ending with an "exit" record. Runs on an API
 * thread, which it holds for the life of the stream.
 *
 * How it works: each look opens a short read transaction, reads the job's
 * status and the next entries after the last sequence number sent, ends
 * the transaction (so the WAL can checkpoint: no reader stays inside one
 * between looks), writes the entries and flushes. The worker stores a
 * job's last output and its final status in one transaction, so once a
 * snapshot shows a final status and no further entries, everything has
 * been sent and the exit record follows.
 *
 * Between looks the thread waits in poll() on two fds: its FastCGI socket
 * (POLLRDHUP: nginx dropped the connection because the client went away;
 * the stream ends at once) and an inotify watch on the database's WAL.
 * The worker touches the WAL's times after each commit of output or of a
 * result (IN_ATTRIB: visible now, look at once, at most every
 * STREAM_MIN_MS). Any other commit writes the WAL (IN_MODIFY: it fires
 * before the commit is visible, so look 25 and 125 ms later, at most every
 * STREAM_POLL_MS). A quiet database gets a look every STREAM_QUIET_MS.
 * Without inotify (none left: fs.inotify.max_user_instances) it looks
 * every STREAM_POLL_MS. Streams are counted; past the configured bound the
 * API answers 503 instead of tying up every thread. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "api.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "timefmt.h"
#include "banned.h"

#define STREAM_MIN_MS 5		/* looks at most this often on IN_ATTRIB */
#define STREAM_POLL_MS 25	/* ... on IN_MODIFY, or without inotify */
#define STREAM_QUIET_MS 1000	/* ... and at least this often */
#define STREAM_BATCH 64		/* entries per snapshot */

static atomic_int active_streams;

struct snapshot {
	char status[16];
	bool has_exit_code;
	int exit_code;
	bool timed_out;
	bool has_signal;
	int signal;
	char error[300];
};

static int
read_status(struct req *rq, const char *id, struct snapshot *s)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(rq->db, "SELECT status, exit_code, timed_out, "
	    "signal, error FROM jobs WHERE id = ? AND consumer_id = ?", &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(st, 2, rq->consumer_id))
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_errno(rc);
	(void) snprintf(s->status, sizeof(s->status), "%s",
	    (const char *) sqlite3_column_text(st, 0));
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

/* One snapshot: appends up to STREAM_BATCH entries after *after to out.
 * Returns the number of entries. */
static int
read_entries(struct req *rq, const char *id, int64_t *after,
    struct strbuf *out)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc, n = 0;

	if ((r = db_prepare_cached(rq->db, "SELECT seq, stream, data FROM job_logs "
	    "WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?", &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(st, 2, *after) ||
	    sqlite3_bind_int(st, 3, STREAM_BATCH))
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct jw w;

		jw_init(&w, out);
		jw_obj_open(&w);
		jw_kv_str(&w, "type", sqlite3_column_int(st, 1) == 2 ?
		    "stderr" : "stdout");
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
	return n;
}

static int
exit_record(const struct snapshot *s, struct strbuf *out)
{
	struct jw w;
	int r;

	jw_init(&w, out);
	jw_obj_open(&w);
	jw_kv_str(&w, "type", "exit");
	jw_kv_str(&w, "status", s->status);
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

/* When to look at the database again (How it works, above). */
struct watch {
	int wal_fd;		/* inotify on the WAL, or -1 */
	bool changed;		/* the WAL was written since the last look */
	bool stored;		/* the worker stored something since then */
	int trail;		/* 0, 1: trailing looks after a change; 2: quiet */
	int64_t last_ms;	/* mono ms of the last look */
};

static void
watch_init(struct watch *w, const char *db_path)
{
	char path[JC_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s-wal", db_path);

	*w = (struct watch) { .wal_fd = -1, .trail = 2,
	    .last_ms = time_mono_ms() };
	if (n < 0 || (size_t) n >= sizeof(path))
		return;
	if ((w->wal_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return;	/* polling instead; see above */
	if (inotify_add_watch(w->wal_fd, path, IN_MODIFY | IN_ATTRIB) < 0) {
		(void) close(w->wal_fd);
		w->wal_fd = -1;
	}
}

static void
watch_release(struct watch *w)
{
	if (w->wal_fd >= 0)
		(void) close(w->wal_fd);
	w->wal_fd = -1;
}

/* Reads the pending inotify events into w->changed and w->stored. */
static void
watch_read(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(w->wal_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *) p;

			if (ev->mask & IN_ATTRIB)
				w->stored = true;
			else
				w->changed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* Waits until the next look is due: 0; -EPIPE once nginx has closed our
 * connection (the client went away). */
static int
watch_wait(struct req *rq, struct watch *w)
{
	for (;;) {
		struct pollfd p[2] = {
			{ rq->fcgi->ipcFd, POLLRDHUP, 0 },
			{ w->wal_fd, POLLIN, 0 },
		};
		int64_t now = time_mono_ms(), due;
		nfds_t n = 1;

		if (w->stored)
			due = w->last_ms + STREAM_MIN_MS;
		else if (w->wal_fd < 0 || w->changed || w->trail == 0)
			due = w->last_ms + STREAM_POLL_MS;
		else
			due = w->last_ms + (w->trail == 1 ?
			    4 * STREAM_POLL_MS : STREAM_QUIET_MS);
		if (w->wal_fd >= 0 && !w->stored)
			n = 2;
		if (now >= due) {
			w->trail = w->changed ? 0 : w->trail < 2 ?
			    w->trail + 1 : 2;
			w->changed = w->stored = false;
			w->last_ms = now;
			return 0;
		}
		if (poll(p, n, (int) (due - now)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
			return -EPIPE;
		if (n == 2 && (p[1].revents & POLLIN))
			watch_read(w);
	}
}

int
stream_follow(struct req *rq, const char *id, int64_t after,
    struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	struct snapshot s;
	struct watch w;
	bool headers_sent = false;
	int r = 0, n;

	strbuf_init(&out, (size_t) STREAM_BATCH * JC_LOG_CHUNK_BYTES * 7);
	if (atomic_fetch_add(&active_streams, 1) >= rq->srv->max_streams) {
		atomic_fetch_sub(&active_streams, 1);
		api_err_set(err, 503, "unavailable",
		    "too many log streams are open; retry shortly");
		err->retry_after_s = 1;
		return -EBUSY;
	}
	watch_init(&w, rq->srv->db_path);
	for (;;) {
		strbuf_reset(&out);
		if ((r = db_exec(rq->db, "BEGIN")) < 0)
			break;
		r = read_status(rq, id, &s);
		n = r < 0 ? r : read_entries(rq, id, &after, &out);
		(void) db_exec(rq->db, "COMMIT");
		if (n < 0) {
			r = n;
			break;
		}
		if (!headers_sent) {
			if ((r = reply_raw_header(rq, 200, "application/x-ndjson",
			    "X-Accel-Buffering: no\r\n")) < 0)
				break;
			headers_sent = true;
		}
		if (n < STREAM_BATCH && job_status_final(s.status) &&
		    (r = exit_record(&s, &out)) < 0)
			break;
		if (out.len > 0 && FCGX_PutStr(out.buf, (int) out.len,
		    rq->fcgi->out) < 0) {
			r = -EPIPE;
			break;
		}
		if (FCGX_FFlush(rq->fcgi->out) < 0) {
			r = -EPIPE;
			break;
		}
		if (n < STREAM_BATCH && job_status_final(s.status))
			break;
		if (n < STREAM_BATCH && (r = watch_wait(rq, &w)) < 0)
			break;
	}
	watch_release(&w);
	atomic_fetch_sub(&active_streams, 1);
	if (!headers_sent) {
		if (r == -ENOENT)
			return api_err_set(err, 404, "not_found", "no such job");
		return api_err_internal(err, r);
	}
	if (r < 0 && r != -EPIPE)
		(void) log_errno(r, "job=%s: follow stream ended early", id);
	return 0;	/* headers are out: the stream simply ends */
}
