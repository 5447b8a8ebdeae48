/* park.c - requests that wait for a job: POST /v1/run until the job ends,
 * GET .../logs?follow=1 until its exit record. Runs in jobcell-api: one
 * loop thread and PARK_FINISHERS finisher threads, each with its own
 * SQLite connection. Trusts the API thread that parked a request to have
 * authenticated and validated it.
 *
 * How it works: libfcgi ties a FastCGI connection to the FCGX_Request that
 * accepted it, not to a thread (DESIGN section 8), so an API thread hands
 * its heap-allocated request over and accepts the next one with a fresh
 * FCGX_Request. Before it acts (submits the job), the thread reserves a
 * place: one consumer may hold max_*_per_consumer places, everyone
 * together max_*; past either the request gets 503 at once, so waiters
 * never take the threads that /v1/health and authentication need. States:
 * RESERVED (the thread still has it) -> WAITING (the loop has it) ->
 * FINISHING (a finisher writes the /v1/run reply) -> freed.
 *
 * The loop polls, for every WAITING request, its FastCGI connection for
 * POLLRDHUP (nginx closes it when the client goes away: the place is freed
 * at once, nothing is written), and for a stream with something to send
 * POLLOUT; plus an eventfd (a request was parked) and an inotify watch on
 * the database's WAL. The worker touches the WAL's times after each
 * commit of output or of a result (IN_ATTRIB: visible now, look at once,
 * at most every PARK_MIN_MS); any other commit writes the WAL (IN_MODIFY:
 * it fires before the commit is visible, so look PARK_POLL_MS and 4 x
 * PARK_POLL_MS later); a quiet database gets a look every PARK_QUIET_MS
 * (without inotify: every PARK_POLL_MS). A look reads the status of every
 * waiting run (one short read transaction) and marks every stream due.
 * A final (or past its deadline) run goes to a finisher, which writes the
 * reply: nginx buffers /v1/run replies, so that write does not wait for
 * the client. A stream's turn runs on the loop itself and never blocks:
 * it happens only when the connection polls writable, and writes at most
 * PARK_WRITE_BYTES (a unix socket polls writable while under a quarter of
 * its send buffer is used, so that much more always fits); what a turn
 * read beyond that waits in the stream's buffer for the next POLLOUT. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "api.h"
#include "db.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

#define PARK_CAP (JC_MAX_STREAMS + JC_MAX_WAITERS)
#define PARK_FINISHERS 2	/* threads writing /v1/run replies */
#define PARK_MIN_MS 5		/* looks at most this often on IN_ATTRIB */
#define PARK_POLL_MS 25		/* ... on IN_MODIFY, or without inotify */
#define PARK_QUIET_MS 1000	/* ... and at least this often */
#define PARK_WRITE_BYTES (32u * 1024)	/* stream bytes per POLLOUT */

enum park_state { PARK_RESERVED, PARK_WAITING, PARK_FINISHING };

struct park {
	enum park_kind kind;
	enum park_state state;
	int64_t consumer_id;
	FCGX_Request *fr;		/* owned once WAITING */
	char id[JC_ID_LEN + 1];
	/* PARK_RUN */
	bool found;			/* 200 rather than 201 */
	bool piston;			/* answered by piston_reply */
	int64_t deadline_ms;		/* mono */
	bool final;
	/* PARK_STREAM */
	int64_t after;			/* last seq read */
	bool due;			/* a look happened since the last read */
	bool more;			/* the last read was cut by its bound */
	bool done;			/* out ends with the exit record */
	bool headers_sent;
	struct strbuf out;		/* read, not yet written */
	size_t out_off;
	struct park *next;		/* the finisher queue */
};

static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t finish_cond = PTHREAD_COND_INITIALIZER;
static struct park *parks[PARK_CAP];	/* under park_lock */
static struct park *finish_head, *finish_tail;
static int wake_fd = -1;
static const char *park_db_path;

static void
wake(void)
{
	uint64_t one = 1;

	/* Cannot fail short of a full counter; the loop wakes anyway. */
	(void) !write(wake_fd, &one, sizeof(one));
}

int
park_count(enum park_kind kind)
{
	int n = 0;

	(void) pthread_mutex_lock(&park_lock);
	for (int i = 0; i < PARK_CAP; i++)
		if (parks[i] && parks[i]->kind == kind)
			n++;
	(void) pthread_mutex_unlock(&park_lock);
	return n;
}

int
park_reserve(const struct api_server *srv, enum park_kind kind,
    int64_t consumer_id, struct api_err *err, struct park **ret)
{
	int all = 0, mine = 0, max_all, max_mine, slot = -1;
	struct park *p;

	max_all = kind == PARK_RUN ? srv->max_waiters : srv->max_streams;
	max_mine = kind == PARK_RUN ? srv->max_waiters_per_consumer :
	    srv->max_streams_per_consumer;
	if (!(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	(void) pthread_mutex_lock(&park_lock);
	for (int i = 0; i < PARK_CAP; i++) {
		if (!parks[i]) {
			if (slot < 0)
				slot = i;
			continue;
		}
		if (parks[i]->kind != kind)
			continue;
		all++;
		if (parks[i]->consumer_id == consumer_id)
			mine++;
	}
	if (mine >= max_mine || all >= max_all || slot < 0) {
		(void) pthread_mutex_unlock(&park_lock);
		free(p);
		if (kind == PARK_RUN)
			api_err_set(err, 503, "unavailable", mine >= max_mine ?
			    "this consumer already has %d requests waiting for "
			    "jobs; retry shortly" : "too many requests are "
			    "waiting for jobs; retry shortly",
			    mine >= max_mine ? max_mine : max_all);
		else
			api_err_set(err, 503, "unavailable", mine >= max_mine ?
			    "this consumer already has %d log streams open; "
			    "retry shortly" : "too many log streams are open; "
			    "retry shortly", mine >= max_mine ? max_mine : max_all);
		err->retry_after_s = 1;
		return -EBUSY;
	}
	*p = (struct park) { .kind = kind, .state = PARK_RESERVED,
	    .consumer_id = consumer_id };
	strbuf_init(&p->out, STREAM_OUT_MAX);
	parks[slot] = p;
	(void) pthread_mutex_unlock(&park_lock);
	*ret = p;
	return 0;
}

/* Removes p from the table and frees it; its connection is closed: after
 * the end of the reply if finish, else at once (the client left). */
static void
park_free(struct park *p, bool finish)
{
	if (!p)
		return;
	(void) pthread_mutex_lock(&park_lock);
	for (int i = 0; i < PARK_CAP; i++)
		if (parks[i] == p)
			parks[i] = NULL;
	(void) pthread_mutex_unlock(&park_lock);
	if (p->fr) {
		int fd = p->fr->ipcFd;

		/* FCGX_Finish_r's work, but the fd is closed here: libfcgi's
		 * own close lingers in select(), which must not see fds past
		 * FD_SETSIZE, and a gone client needs no linger. */
		if (finish) {
			(void) FCGX_FClose(p->fr->err);
			(void) FCGX_FClose(p->fr->out);
		}
		FCGX_Free(p->fr, 0);
		if (fd >= 0)
			(void) close(fd);
		free(p->fr);
	}
	strbuf_release(&p->out);
	free(p);
}

void
park_cancel(struct park *p)
{
	park_free(p, false);
}

static void
park_hand_over(struct park *p, struct req *rq, const char *id)
{
	(void) str_copy(p->id, sizeof(p->id), id);
	p->fr = rq->fcgi;
	rq->fcgi = NULL;
	rq->parked = true;
	(void) pthread_mutex_lock(&park_lock);
	p->state = PARK_WAITING;
	(void) pthread_mutex_unlock(&park_lock);
	wake();
}

void
park_run(struct park *p, struct req *rq, const char *id, bool found,
    int64_t deadline_mono_ms)
{
	p->found = found;
	p->deadline_ms = deadline_mono_ms;
	park_hand_over(p, rq, id);
}

void
park_run_piston(struct park *p, struct req *rq, const char *id,
    int64_t deadline_mono_ms)
{
	p->piston = true;
	park_run(p, rq, id, false, deadline_mono_ms);
}

void
park_stream(struct park *p, struct req *rq, const char *id, int64_t after)
{
	p->after = after;
	p->due = true;
	park_hand_over(p, rq, id);
}

/* ---- finishers ---- */

static void *
finisher_main(void *arg)
{
	sqlite3 *db = arg;

	for (;;) {
		struct park *p;
		int r;

		(void) pthread_mutex_lock(&park_lock);
		while (!finish_head)
			(void) pthread_cond_wait(&finish_cond, &park_lock);
		p = finish_head;
		finish_head = p->next;
		if (!finish_head)
			finish_tail = NULL;
		(void) pthread_mutex_unlock(&park_lock);
		r = p->piston ?
		    piston_reply(db, p->fr, p->consumer_id, p->id) :
		    jobs_run_reply(db, p->fr, p->consumer_id, p->id, p->found);
		if (r < 0 && r != -EPIPE)
			(void) log_errno(r, "job=%s: the run reply was cut",
			    p->id);
		park_free(p, true);
	}
	return NULL;
}

static void
finish_queue(struct park *p)
{
	(void) pthread_mutex_lock(&park_lock);
	p->state = PARK_FINISHING;
	p->next = NULL;
	if (finish_tail)
		finish_tail->next = p;
	else
		finish_head = p;
	finish_tail = p;
	(void) pthread_cond_signal(&finish_cond);
	(void) pthread_mutex_unlock(&park_lock);
}

/* ---- the loop ---- */

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
	if ((w->wal_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_warn("park: no inotify instance (fs.inotify."
		    "max_user_instances), looking every %d ms", PARK_POLL_MS);
		return;
	}
	if (inotify_add_watch(w->wal_fd, path, IN_MODIFY | IN_ATTRIB) < 0) {
		(void) close(w->wal_fd);
		w->wal_fd = -1;
	}
}

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

static int64_t
watch_due(const struct watch *w)
{
	if (w->stored)
		return w->last_ms + PARK_MIN_MS;
	if (w->wal_fd < 0 || w->changed || w->trail == 0)
		return w->last_ms + PARK_POLL_MS;
	return w->last_ms + (w->trail == 1 ? 4 * PARK_POLL_MS : PARK_QUIET_MS);
}

static void
watch_looked(struct watch *w, int64_t now)
{
	w->trail = w->changed ? 0 : w->trail < 2 ? w->trail + 1 : 2;
	w->changed = w->stored = false;
	w->last_ms = now;
}

/* Reads the status of every waiting run; final ones are marked. */
static void
look_runs(sqlite3 *db, struct park **list, int n)
{
	int r, runs = 0;

	for (int i = 0; i < n; i++)
		runs += list[i]->kind == PARK_RUN;
	if (runs == 0)
		return;	/* no read transaction for nothing */
	if ((r = db_exec_cached(db, "BEGIN")) < 0) {
		(void) log_errno(r, "park: cannot read job states, retrying");
		return;
	}
	for (int i = 0; i < n; i++) {
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		enum job_status status;

		if (list[i]->kind != PARK_RUN)
			continue;
		r = job_row(db, "SELECT status FROM jobs WHERE id = ?1 AND "
		    "consumer_id = ?2", list[i]->id, list[i]->consumer_id, &st);
		/* A job gone (retention) is answered as it stands: 404. */
		if (r == -ENOENT || (r == 0 && jobs_status_column(st, 0,
		    &status) == 0 && job_status_is_final(status)))
			list[i]->final = true;
	}
	(void) db_exec_cached(db, "COMMIT");
}

/* One turn of a writable stream. 1 while it goes on, 0 done (freed by the
 * caller, finished), -EPIPE the client is gone. */
static int
stream_turn(sqlite3 *db, struct park *p)
{
	size_t n;
	int r;

	if (p->out_off == p->out.len && !p->done && (p->due || p->more)) {
		strbuf_reset(&p->out);
		p->out_off = 0;
		p->due = false;
		r = stream_read(db, p->consumer_id, p->id, &p->after, &p->out,
		    &p->more, &p->done);
		if (r < 0 && !p->headers_sent) {
			struct api_err e = { 0 };
			struct req rq = { .fcgi = p->fr };

			if (r == -ENOENT)
				api_err_set(&e, 404, "not_found", "no such job");
			else
				api_err_internal(&e, r);
			(void) reply_error(&rq, &e);
			return 0;
		}
		if (r < 0) {
			/* Headers are out: the stream simply ends. */
			(void) log_errno(r, "job=%s: follow stream ended early",
			    p->id);
			return 0;
		}
	}
	if (!p->headers_sent) {
		if (fcgi_put_headers(p->fr->out, 200, "application/x-ndjson",
		    "X-Accel-Buffering: no\r\n") < 0)
			return -EPIPE;
		p->headers_sent = true;
	}
	n = p->out.len - p->out_off;
	if (n > PARK_WRITE_BYTES)
		n = PARK_WRITE_BYTES;
	if (n > 0 && FCGX_PutStr(p->out.buf + p->out_off, (int) n,
	    p->fr->out) < 0)
		return -EPIPE;
	if (FCGX_FFlush(p->fr->out) < 0)
		return -EPIPE;
	p->out_off += n;
	if (p->out_off < p->out.len)
		return 1;
	if (p->out.alloc > 2 * STREAM_TURN_BYTES)
		strbuf_release(&p->out);	/* a big entry: give it back */
	else
		strbuf_reset(&p->out);
	p->out_off = 0;
	return p->done ? 0 : 1;
}

static bool
stream_wants_out(const struct park *p)
{
	return p->out_off < p->out.len || (!p->done && (p->due || p->more)) ||
	    !p->headers_sent;
}

static void *
loop_main(void *arg)
{
	static struct park *list[PARK_CAP];	/* this thread only */
	static struct pollfd pfd[PARK_CAP + 2];
	sqlite3 *db = arg;
	struct watch w;

	watch_init(&w, park_db_path);
	for (;;) {
		int64_t now, due;
		int n = 0, nfd = 2, timeout;
		bool looked = false;

		(void) pthread_mutex_lock(&park_lock);
		for (int i = 0; i < PARK_CAP; i++)
			if (parks[i] && parks[i]->state == PARK_WAITING)
				list[n++] = parks[i];
		(void) pthread_mutex_unlock(&park_lock);

		pfd[0] = (struct pollfd) { wake_fd, POLLIN, 0 };
		pfd[1] = (struct pollfd) { w.wal_fd, POLLIN, 0 };
		now = time_mono_ms();
		due = watch_due(&w);
		for (int i = 0; i < n; i++) {
			struct park *p = list[i];
			short ev = POLLRDHUP;

			if (p->kind == PARK_STREAM && stream_wants_out(p))
				ev |= POLLOUT;
			if (p->kind == PARK_RUN && p->deadline_ms < due)
				due = p->deadline_ms;
			pfd[nfd++] = (struct pollfd) { p->fr->ipcFd, ev, 0 };
		}
		timeout = due <= now ? 0 : due - now > 60000 ? 60000 :
		    (int) (due - now);
		if (n == 0) {
			/* Nothing parked: sleep until something is, whatever
			 * the database does (an idle API stays idle). */
			nfd = 1;
			timeout = -1;
		}
		if (poll(pfd, (nfds_t) nfd, timeout) < 0) {
			if (errno != EINTR) {
				char ebuf[128];

				log_warn("park: poll failed: %s, retrying",
				    strerror_r(errno, ebuf, sizeof(ebuf)));
				(void) poll(NULL, 0, PARK_POLL_MS);
			}
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			uint64_t v;

			(void) !read(wake_fd, &v, sizeof(v));
			/* A run parked just now may have a job that ended
			 * before it was parked: look at once. */
			w.stored = true;
		}
		if (w.wal_fd >= 0 && nfd > 1 && (pfd[1].revents & POLLIN))
			watch_read(&w);
		now = time_mono_ms();
		if (n > 0 && now >= watch_due(&w)) {
			watch_looked(&w, now);
			look_runs(db, list, n);
			looked = true;
		}
		for (int i = 0; i < n; i++) {
			struct park *p = list[i];
			short rev = pfd[i + 2].revents;
			int r;

			if (rev & (POLLRDHUP | POLLHUP | POLLERR)) {
				/* The client went away: nginx closed. */
				park_free(p, false);
				continue;
			}
			if (p->kind == PARK_RUN) {
				if (p->final || now >= p->deadline_ms)
					finish_queue(p);
				continue;
			}
			if (looked)
				p->due = true;
			if (!(rev & POLLOUT))
				continue;
			if ((r = stream_turn(db, p)) <= 0)
				park_free(p, r == 0);
		}
	}
	return NULL;
}

int
park_start(const char *db_path, char *errmsg, size_t size)
{
	int r;

	park_db_path = db_path;
	if ((wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		r = -errno;
		(void) snprintf(errmsg, size, "cannot create an eventfd");
		return r;
	}
	if ((r = api_thread_start(loop_main, db_path, "a park thread", errmsg,
		 size)) < 0)
		return r;
	for (int i = 0; i < PARK_FINISHERS; i++)
		if ((r = api_thread_start(finisher_main, db_path,
			 "a park thread", errmsg, size)) < 0)
			return r;
	return 0;
}
