/* api.h - private interfaces of jobcell-api, the FastCGI responder behind
 * nginx. Each thread owns one FCGX_Request and one SQLite connection; the
 * consumer identity comes only from the JOBCELL_CONSUMER param nginx sets. */
#ifndef JOBCELL_API_H
#define JOBCELL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>
#include <sqlite3.h>

#include "cleanup.h"
#include "jc_config.h"
#include "json_reader.h"
#include "json_writer.h"
#include "jc_limits.h"
#include "job_status.h"
#include "strbuf.h"

/* Server-wide settings, read-only after start (shared by all threads). */
struct api_server {
	const char *db_path;
	const char *doorbell_path;	/* NULL: no doorbell, workers poll */
	int doorbell_fd;		/* SOCK_DGRAM, unconnected, shared */
	struct config_limits limits;
	int max_streams;		/* concurrent follow streams, all */
	int max_streams_per_consumer;	/* ... of one consumer */
	int max_waiters;		/* parked POST /v1/run, all */
	int max_waiters_per_consumer;	/* ... of one consumer */
};

/* One error, as DESIGN section 4 spells it. */
struct api_err {
	int status;		/* 400 ... 503 */
	char code[32];		/* snake_case */
	char message[300];	/* human sentence, user data escaped by jw */
	int retry_after_s;	/* > 0: send Retry-After */
	char allow[32];		/* 405: the Allow header value */
};

struct req {
	FCGX_Request *fcgi;
	const struct api_server *srv;
	sqlite3 *db;
	const char *method;
	const char *path;		/* DOCUMENT_URI, no query */
	const char *query;		/* QUERY_STRING, may be "" */
	int64_t consumer_id;		/* 0: not authenticated */
	struct strbuf body;		/* request body, capped */
	int status;			/* the status written, 0: none yet */
	bool parked;			/* fcgi moved to park.c: the thread
					 * must neither finish nor reuse it */
};

/* router.c: pure, no I/O. */
enum route_id {
	ROUTE_HEALTH,
	ROUTE_ME,
	ROUTE_JOBS_CREATE,
	ROUTE_JOBS_LIST,
	ROUTE_RUN,
	ROUTE_JOB_GET,
	ROUTE_JOB_CANCEL,
	ROUTE_JOB_LOGS,
	ROUTE_JOB_OUTPUT,
	ROUTE_METRICS,
};
#define ROUTE_ID_MAX 64	/* longest path segment we capture */
struct route_match {
	enum route_id id;
	char job_id[ROUTE_ID_MAX + 1];	/* "" unless the route has {id} */
	const char *allow;		/* on -EPERM: the Allow header value */
};
/* 0 and *ret on a match; -ENOENT no such path (404); -EPERM the path exists
 * but not for this method (405, ret->allow set). */
int router_match(const char *method, const char *path, struct route_match *ret);
/* Looks up name in a query string ("a=1&b=2"), percent-decoding the value
 * into buf[size]. 0 found; -ENOENT absent; -E2BIG too long; -EINVAL bad
 * escape or a NUL. */
int query_get(const char *query, const char *name, char *buf, size_t size);

/* api_error.c: the one place errors become statuses and codes. */
int api_err_set(struct api_err *e, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Maps an internal -errno (database busy, disk full, ...) to 503/500. */
int api_err_internal(struct api_err *e, int r);
const char *api_status_text(int status);

/* job_request.c: parse + validate a job submission. Pure, unit-tested. */
struct job_env {
	char *name;
	char *value;
};
struct job_file {
	char *path;			/* checked: wspath_check_len */
	char *data;			/* UTF-8, no NUL */
	size_t len;
};
struct job_request {
	char *name;			/* NULL if not given */
	char **argv;			/* NULL-terminated */
	size_t argc;
	struct job_env *env;
	size_t envc;
	char *stdin_data;
	size_t stdin_len;
	struct job_file *files;
	size_t nfiles;
	char *cwd;			/* NULL: the workspace itself */
	int64_t timeout_s, memory_mb, cpus, pids, disk_mb;
	bool network;
	char sandbox[16];		    /* "namespace", "docker", "swarm" */
	char image[JC_MAX_IMAGE_BYTES + 1]; /* docker, swarm: "" = the
						 * worker's default image */
	/* swarm: placement constraints, each one of [worker]
	 * swarm_constraints */
	char constraints[JC_MAX_CONSTRAINTS][JC_MAX_CONSTRAINT_BYTES + 1];
	size_t nconstraints;
};
int job_request_parse(const char *body, size_t len,
    const struct config_limits *lim, struct job_request *ret, struct api_err *err);
void job_request_release(struct job_request *jr);
/* The stored spec: {"argv":[...],"env":{...}} plus "files":{path:data},
 * "cwd" and "network":true when given, and "image" for a docker job that
 * names one or has a configured default (read back by the worker). */
int job_request_spec_json(const struct job_request *jr, struct strbuf *out);
/* The built-in limits of config_defaults(). */
void api_limits_default(struct config_limits *lim);

/* request.c: reading the request and writing responses. */
int req_read_body(struct req *rq, struct api_err *err);
const char *req_param(const struct req *rq, const char *name);
/* Writes status line + headers ("Name: value\r\n" lines, may be NULL) +
 * the JSON body. */
int reply_json(struct req *rq, int status, const char *headers,
    const struct strbuf *body);
int reply_error(struct req *rq, const struct api_err *e);
int reply_raw_header(struct req *rq, int status, const char *content_type,
    const char *headers);
int fcgi_put_headers(FCGX_Stream *out, int status, const char *content_type,
    const char *headers);
/* A response body written as it is built: callers append to buf (with jw
 * or strbuf_*) and call sink_flush(), which sends the headers once and
 * then whatever buf holds once it reaches SINK_FLUSH_BYTES (all: now).
 * Until the first flush nothing is sent, so an error can still become a
 * JSON error. The error is sticky: 0 or -EIO/-EPIPE. */
#define SINK_FLUSH_BYTES (64u * 1024)
struct sink {
	FCGX_Stream *out;
	struct strbuf *buf;
	int status;
	const char *content_type;
	const char *headers;		/* "Name: value\r\n" lines, or NULL */
	bool headers_sent;
	size_t sent;			/* body bytes sent so far */
	int err;
};
int sink_flush(struct sink *k, bool all);

/* auth.c: optional: no key at all is 204 without a consumer. */
int auth_handle(struct req *rq, bool optional);

/* health.c, me.c */
int health_handle(struct req *rq, struct api_err *err);
/* 1 if a live supervisor runs sandbox name now, 0 if none, -errno. */
int health_sandbox_live(sqlite3 *db, const char *name);
int me_handle(struct req *rq, struct api_err *err);

/* jobs.c */
int jobs_create(struct req *rq, struct api_err *err);
/* Starts the thread that stores submissions in batches (group commit),
 * with its own connection to srv->db_path; srv must outlive it. 0, or
 * -errno with errmsg. Before the API threads serve. */
int jobs_writer_start(const struct api_server *srv, char *errmsg,
    size_t size);
int jobs_list(struct req *rq, struct api_err *err);
int jobs_get(struct req *rq, const char *id, struct api_err *err);
int jobs_cancel(struct req *rq, const char *id, struct api_err *err);
/* POST /v1/run: submit, wait for the end (bounded), job + capped output. */
int jobs_run(struct req *rq, struct api_err *err);
/* Writes the job object for a row of JOB_COLUMNS. */
#define JOB_COLUMNS "id, name, status, exit_code, signal, timed_out, " \
	"oom_killed, error, created_at, started_at, finished_at, sandbox, " \
	"timeout_ms, memory_mb, cpus, pids, disk_mb, cpu_ms, max_rss_kb, " \
	"log_bytes, log_truncated"
void job_write_json(struct jw *w, sqlite3_stmt *st);
/* The members only, inside an object the caller opened. */
void job_write_fields(struct jw *w, sqlite3_stmt *st);
/* Looks up a job of this consumer: 0, -ENOENT (other consumer's too), or
 * another -errno. *ret_status gets the status. */
int jobs_lookup(struct req *rq, const char *id, enum job_status *ret_status);
/* The status stored in column col of st's row: 0, or -EIO if it is none
 * (the schema's CHECK makes that a broken database). */
int jobs_status_column(sqlite3_stmt *st, int col, enum job_status *ret);
/* The one-row read of a job of a consumer: prepares sql (a literal with
 * ?1 the job id and ?2 the consumer id, through the thread's statement
 * cache), binds and steps. 0 with *ret_st on the row (the caller resets
 * it: _cleanup_reset_); -ENOENT no such job of this consumer; -errno. */
int job_row(sqlite3 *db, const char *sql, const char *id, int64_t consumer_id,
    sqlite3_stmt **ret_st);
/* The reply of a POST /v1/run whose wait is over (park.c, on a finisher
 * thread with its own db): the job object plus its capped output, written
 * as it is read. found: 200 (an Idempotency-Key repeat), else 201. 0 or
 * -errno (the reply may be cut). */
int jobs_run_reply(sqlite3 *db, FCGX_Request *fr, int64_t consumer_id,
    const char *id, bool found);

/* logs.c */
int logs_page(struct req *rq, const char *id, struct api_err *err);
int logs_output(struct req *rq, const char *id, struct api_err *err);

/* metrics.c: GET /metrics (Prometheus text), and the request counters
 * dispatch() keeps. route: an enum route_id, METRICS_ROUTE_AUTH for the
 * auth subrequest, anything else counts as METRICS_ROUTE_NONE (no such
 * path). Thread-safe (atomics). */
#define METRICS_ROUTE_AUTH	(ROUTE_METRICS + 1)
#define METRICS_ROUTE_NONE	(ROUTE_METRICS + 2)
#define METRICS_ROUTES		(ROUTE_METRICS + 3)
void metrics_request_begin(int route);
void metrics_request_end(int route, int status);
int metrics_handle(struct req *rq, struct api_err *err);

/* stream.c: NDJSON follow. stream_follow checks the job and parks the
 * request (park.c: no thread is held while the job runs); 503 past the
 * consumer's or the server's share. stream_read is one turn of a parked
 * stream: appends the lines of entries after *after (at most about
 * STREAM_TURN_BYTES, at least one entry) to out, and the exit record once
 * the job is final and everything is out (*ret_done). 0, -ENOENT, -errno.
 * Runs in its own short read transaction on db. */
#define STREAM_TURN_BYTES (32u * 1024)
#define STREAM_OUT_MAX (STREAM_TURN_BYTES + 7u * JC_LOG_CHUNK_BYTES + 4096)
int stream_follow(struct req *rq, const char *id, int64_t after,
    struct api_err *err);
int stream_read(sqlite3 *db, int64_t consumer_id, const char *id,
    int64_t *after, struct strbuf *out, bool *ret_more, bool *ret_done);

/* park.c: requests that wait for a job without holding a thread. A
 * thread reserves a place (counted against the consumer's and the
 * server's share) before it acts, then either cancels the reservation or
 * parks the request: the FastCGI request (rq->fcgi, heap-allocated) moves
 * to park.c, which watches its connection (a client that leaves frees
 * the place at once), looks at the database when the worker writes, and
 * answers; rq->parked tells the thread to take a fresh FCGX_Request.
 * All functions are thread-safe. */
enum park_kind { PARK_RUN, PARK_STREAM };
struct park;
/* Starts the loop and the finisher threads (own connections to db_path).
 * 0 or -errno with errmsg; before the API threads serve. */
int park_start(const char *db_path, char *errmsg, size_t size);
/* 0 and *ret; -EBUSY with err set (503 unavailable, Retry-After) past the
 * consumer's or the server's share; -ENOMEM. */
int park_reserve(const struct api_server *srv, enum park_kind kind,
    int64_t consumer_id, struct api_err *err, struct park **ret);
void park_cancel(struct park *p);
/* How many requests of kind hold a place now (for /metrics). */
int park_count(enum park_kind kind);
/* Parks rq (sets rq->parked): a run answered by jobs_run_reply once the
 * job is final or at deadline_mono_ms; a stream fed by stream_read. */
void park_run(struct park *p, struct req *rq, const char *id, bool found,
    int64_t deadline_mono_ms);
void park_stream(struct park *p, struct req *rq, const char *id,
    int64_t after);

#endif
