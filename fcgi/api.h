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

#define API_THREAD_STACK_BYTES (256 * 1024) /* each request thread's */
#define API_DB_CACHE_KIB "-256" /* PRAGMA cache_size: 256 KiB a thread */

/* Server-wide settings, read-only after start (shared by all threads). */
struct api_server {
	const char *db_path;
	const char *doorbell_path;	/* NULL: no doorbell, workers poll */
	int doorbell_fd;		/* SOCK_DGRAM, unconnected, shared */
	struct config_limits limits;
	bool has_data_dir;		/* [storage] data_dir is set: inputs and
					 * disk workspaces */
	int max_streams;		/* concurrent follow streams, all */
	int max_streams_per_consumer;	/* ... of one consumer */
	int max_waiters;		/* parked POST /v1/run, all */
	int max_waiters_per_consumer;	/* ... of one consumer */
	const char *data_dir;		/* [storage] data_dir; "": none */
	int64_t max_blob_mb;		/* [storage] max_blob_mb */
	int retry_storage_s;		/* Retry-After of a storage 429 */
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
	ROUTE_BLOB_PUT,
	ROUTE_BLOB_HEAD,
	ROUTE_JOB_ARTIFACTS,
	ROUTE_JOB_ARTIFACT,
	ROUTE_RUNTIMES,
	ROUTE_PISTON_RUNTIMES,
	ROUTE_PISTON_EXECUTE,
	ROUTE_IMAGES_CREATE,
	ROUTE_IMAGES_LIST,
	ROUTE_IMAGE_DELETE,
	ROUTE_METRICS, /* last: metrics.c counts after it */
};
#define ROUTE_ID_MAX 64	/* longest path segment we capture */
struct route_match {
	enum route_id id;
	char job_id[ROUTE_ID_MAX + 1];	/* "" unless the route has {id} */
	const char *rest;		/* {rest}: the rest of the path (in
					 * the caller's string, not empty);
					 * else NULL */
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
	char *data;			/* len bytes: UTF-8 without NUL, or any
					 * bytes if binary */
	size_t len;
	bool binary;	 /* given as base64: stored so */
	bool executable; /* mode 0755 */
};
/* One of "inputs": a blob of the caller's, checked against the blobs
 * table when the job is stored (jobs_writer.c). */
struct job_input {
	char digest[65]; /* 64 lowercase hex */
	char *path;	 /* wspath; "" (tar): the workspace */
	bool tar;	 /* "format": "tar" (default) or "file" */
	bool executable; /* "file" only */
};
/* An image build's request (images.c, issue 14). */
struct image_build {
	char name[65], tag[129];
	char daemon[JC_MAX_IMAGE_BYTES + 1]; /* jobcell/<consumer>/name:tag */
	char context[65];		     /* the blob's hex */
	char dockerfile[257];		     /* its path in the context */
	char *dockerfile_text; /* owned; NULL: the context's as it is */
	size_t dockerfile_len;
	char *build_args; /* owned JSON object text, or NULL */
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
	struct job_input *inputs;
	size_t ninputs;
	char *cwd;			/* NULL: the workspace itself */
	int64_t timeout_s, memory_mb, cpus, pids, disk_mb;
	bool network;
	char sandbox[16];		    /* "namespace", "docker", "swarm" */
	char image[JC_MAX_IMAGE_BYTES + 1]; /* docker, swarm: "" = the
						 * worker's default image */
	bool image_given;		    /* "image" was in the request */
	bool image_unlisted;	/* ... and is not on [worker] docker_images:
			      * refused unless the caller's own image */
	char own_image[2][129]; /* the caller's image it names (name, tag),
				 * "" none: its last use is the job's */
	const struct image_build *build; /* an image build, or NULL */
	/* swarm: placement constraints, each one of [worker]
	 * swarm_constraints */
	char constraints[JC_MAX_CONSTRAINTS][JC_MAX_CONSTRAINT_BYTES + 1];
	size_t nconstraints;
	char **artifacts;  /* globs (wsglob_check_len), owned */
	size_t nartifacts; /* <= WSGLOB_MAX_PATTERNS */
	bool artifacts_required;
	/* A code job (issue 14): parsed by job_request_parse_code ... */
	char runtime[96]; /* as asked; "": not a code job */
	char *code;	  /* moved into files by ..._apply_runtime */
	size_t code_len;
	char **args;
	size_t nargs;
	int64_t compile_timeout_s; /* 0: the runtime's */
	int64_t compile_memory_mb; /* 0: the runtime's (then set) */
	/* ... and made argv, files and compile by job_request_apply_runtime */
	char runtime_name[32];
	char runtime_version[64];
	char **compile_argv; /* NULL: no compile step */
	size_t compile_argc;
	int64_t compile_timeout_ms;
};
/* Writes "aliases":[…] from the runtimes table's space-separated list
 * (NULL: none); shared by /v1/runtimes and Piston's /api/v2/runtimes. */
void runtime_write_aliases(struct jw *w, const char *list);
/* The runtimes those two list: probed (not a docker runtime whose daemon
 * never answered) and published by a supervisor that beat since ?1 (ms)
 * and runs the runtime's sandbox now (a docker runtime only while its
 * daemon answers); a job naming one of the others gets 503 (jobs.c,
 * runtime_resolve). */
#define RUNTIMES_RUNNABLE \
	"probed = 1 AND supervisor_pid IN (SELECT pid FROM supervisors WHERE " \
	"heartbeat_at > ?1 AND instr(' ' || sandboxes || ' ', " \
	"' ' || runtimes.sandbox || ' ') > 0)"
/* A runtime as the runtimes table holds it (fcgi/runtimes.c). */
struct runtime_info {
	char name[32];
	char version[64];
	char file[64];
	char *compile; /* JSON argv, or NULL */
	char *run;     /* JSON argv */
	int64_t compile_timeout_ms, compile_memory_mb;
	char image[JC_MAX_IMAGE_BYTES + 1]; /* "": a namespace runtime */
};
int job_request_parse(const char *body, size_t len,
    const struct config_limits *lim, struct job_request *ret, struct api_err *err);
void job_request_release(struct job_request *jr);
/* The bytes of a swarm job's files stream (cell/swarm_spec.c) without its
 * inputs: each input adds 12 + its path + its blob (at most). */
size_t job_request_swarm_stream_bytes(const struct job_request *jr);
/* job_request.c, code jobs: the fields of a request with "code" (called by
 * job_request_parse); frees them. */
int job_request_parse_code(const struct jr_doc *doc, int root,
    struct job_request *jr, struct api_err *err);
void job_request_release_code(struct job_request *jr);
/* The runtime rt made of a parsed code job: the code as rt's file among
 * files, argv (rt's run words + args), the compile step. 0 or err. */
int job_request_apply_runtime(struct job_request *jr,
    const struct runtime_info *rt, struct api_err *err);
/* The stored spec: {"argv":[...],"env":{...}} plus "files":{path:data},
 * "cwd" and "network":true when given, and "image" for a docker job that
 * names one or has a configured default, and "artifacts":[globs] with
 * "artifacts_required":true when asked (read back by the worker). */
int job_request_spec_json(const struct job_request *jr, struct strbuf *out);
/* 1 if image is one of the words of list (job_request.c). */
bool image_listed(const char *list, const char *image);
/* job_request.c: a string field (type, UTF-8 without NUL, at most max
 * bytes) into a malloc'd *ret and *ret_len; 0, or err naming field. */
int job_request_get_string(const struct jr_doc *doc, int tok, const char *field,
    size_t max, char **ret, size_t *ret_len, struct api_err *err);

/* job_inputs.c: a submission's workspace fields, for job_request_parse.
 * "files", "inputs" and "cwd" into jr (what was parsed stays in jr, for
 * job_request_release, also on failure); 0, or err naming the field. */
int job_inputs_parse(const struct jr_doc *doc, int root, struct job_request *jr,
    struct api_err *err);
/* "artifacts" (globs, wsglob.h) and "artifacts_required" into jr, as
 * job_inputs_parse. Whether the server keeps artifacts is jobs.c's. */
int job_inputs_parse_artifacts(const struct jr_doc *doc, int root,
    struct job_request *jr, struct api_err *err);
/* True if dir names a directory above path ("a/b" above "a/b/c"). */
bool job_inputs_path_above(const char *dir, const char *path);

/* images.c: POST/GET /v1/images, DELETE /v1/images/{name}:{tag}. */
int images_create(struct req *rq, struct api_err *err);
int images_list(struct req *rq, struct api_err *err);
int images_delete(struct req *rq, const char *ref, struct api_err *err);
/* The stored spec of a build: {"build":{...},"network":b}. */
int images_spec_json(const struct job_request *jr, struct strbuf *out);
/* A job's "image" naming the caller's own image becomes the daemon's
 * name; another consumer's (jobcell/...) or an unlisted one is refused.
 * 0, or -EINVAL with err. Reads rq->db. */
int images_resolve(struct req *rq, struct job_request *jr, struct api_err *err);
/* In the submission's transaction (jobs_writer.c), before and after the
 * job's row: the image quota and a build already running (0, 1 with err set,
 * -errno); then the images row and the job's kind (0 or -errno). */
int images_check(sqlite3 *db, int64_t consumer_id, const struct job_request *jr,
    struct api_err *err);
int images_store(sqlite3 *db, int64_t consumer_id, const char *job_id,
    const struct job_request *jr, int64_t now);
/* In the transaction that cancels queued job job_id (jobs.c): the row of
 * the build it was goes, so its name is free at once. 0 or -errno. */
int images_cancel_queued(sqlite3 *db, const char *job_id);
/* jobs.c: 1 if ct is application/json (parameters allowed). */
bool content_type_json(const char *ct);
/* jobs.c: 201 (found: 200) with job id's object and a Location. */
int jobs_reply_created(struct req *rq, const char *id, bool found,
    struct api_err *err);

/* The built-in limits of config_defaults(). */
void api_limits_default(struct config_limits *lim);
/* main.c: starts a detached thread running fn with its own connection to
 * db_path (fn's argument; fn owns it). 0, or -errno with errmsg ("cannot
 * start <what>: ..." if the thread could not start). */
int api_thread_start(void *(*fn)(void *), const char *db_path, const char *what,
    char *errmsg, size_t size);

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
/* Validates and stores a submission (POST /v1/jobs, /v1/run). 0 and
 * ret_id (a new job, 201) or 1 and ret_id (an earlier job with the same
 * Idempotency-Key, 200); else err. With ret_json (may be NULL), the job
 * object as stored (empty if it could not be rendered). */
int jobs_submit(struct req *rq, struct api_err *err, char ret_id[JC_ID_LEN + 1],
    struct strbuf *ret_json);
int jobs_list(struct req *rq, struct api_err *err);
int jobs_get(struct req *rq, const char *id, struct api_err *err);
int jobs_cancel(struct req *rq, const char *id, struct api_err *err);
/* Writes the job object for a row of JOB_COLUMNS. */
#define JOB_COLUMNS \
	"id, name, status, exit_code, signal, timed_out, " \
	"oom_killed, error, created_at, started_at, finished_at, sandbox, " \
	"timeout_ms, memory_mb, cpus, pids, disk_mb, cpu_ms, max_rss_kb, " \
	"log_bytes, log_truncated, " \
	"json_type(spec, '$.artifacts') IS NOT NULL, " JOB_CODE_COLUMNS \
	", kind"
/* A code job's columns (issue 14), at JOB_CODE_COLUMNS_AT of JOB_COLUMNS. */
#define JOB_CODE_COLUMNS \
	"runtime, runtime_version, compile_exit_code, " \
	"compile_signal, compile_timed_out, compile_duration_ms"
#define JOB_CODE_COLUMNS_AT 22
#define JOB_KIND_COLUMN_AT 28 /* "kind": shown for image builds only */
/* "runtime" and "compile" of a code job from JOB_CODE_COLUMNS at col. */
void job_write_code_fields(struct jw *w, sqlite3_stmt *st, int col);
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
/* job_row of JOB_COLUMNS: the one query of a whole job, for its object. */
int job_row_by_id(sqlite3 *db, const char *id, int64_t consumer_id,
    sqlite3_stmt **ret_st);
/* Appends the job object of id (of this consumer) to sb, read on db (any
 * thread's own connection, inside the caller's transaction if it has
 * one). 0; -ENOENT if the consumer has no such job; another -errno (sb may
 * hold part of the object). */
int job_json_by_id(sqlite3 *db, const char *id, int64_t consumer_id,
    struct strbuf *sb);

/* jobs_writer.c: storing submissions, on one writer thread. */
/* Starts the thread that stores submissions in batches (group commit),
 * with its own connection to srv->db_path; srv must outlive it. 0, or
 * -errno with errmsg. Before the API threads serve. */
int jobs_writer_start(const struct api_server *srv, char *errmsg, size_t size);
/* Stores a validated request (resolving its runtime first) through the
 * writer thread, waiting for its batch: as jobs_submit, 0 or 1 with
 * ret_id, else err. jr stays the caller's. With ret_json (may be NULL),
 * the job object as stored, or empty if it could not be rendered. */
int jobs_store_request(struct req *rq, struct job_request *jr, const char *idem,
    struct api_err *err, char ret_id[JC_ID_LEN + 1], struct strbuf *ret_json);
/* BEGIN IMMEDIATE on db, API threads of this process taking turns (one
 * process-wide lock; the worker still meets busy_timeout). 0 or -errno,
 * the lock released on failure. The writer's batches and cancels. */
int jobs_write_begin(sqlite3 *db);
/* Ends it: COMMIT if commit, else ROLLBACK; releases the lock. Returns
 * the COMMIT's result (after a failed one, rolled back). */
int jobs_write_end(sqlite3 *db, bool commit);
/* Wakes the workers (srv's doorbell datagram), best effort: without it
 * they find the job at their fallback poll. Thread-safe. */
void jobs_doorbell_ring(const struct api_server *srv);

/* run.c: POST /v1/run. */
/* Submits, parks the request until the job ends (bounded): job + capped
 * output. */
int jobs_run(struct req *rq, struct api_err *err);
/* The reply of a POST /v1/run whose wait is over (park.c, on a finisher
 * thread with its own db): the job object plus its capped output, written
 * as it is read. found: 200 (an Idempotency-Key repeat), else 201. 0 or
 * -errno (the reply may be cut). */
int jobs_run_reply(sqlite3 *db, FCGX_Request *fr, int64_t consumer_id,
    const char *id, bool found);

/* blobs.c: PUT and HEAD /v1/blobs/sha256:{hex} (hex: the router's {id}). */
int blobs_put(struct req *rq, const char *hex, struct api_err *err);
int blobs_head(struct req *rq, const char *hex, struct api_err *err);
/* artifacts.c: GET /v1/jobs/{id}/artifacts and .../artifacts/{path}. */
int artifacts_list(struct req *rq, const char *id, struct api_err *err);
/* path: decoded by nginx (DOCUMENT_URI); answered with X-Accel-Redirect. */
int artifacts_get(struct req *rq, const char *id, const char *path,
    struct api_err *err);
/* The "artifacts" array of a job (unexpired, by path) into w, which has
 * an open key or array; an error of the database goes into w->err. */
void artifacts_write_json(struct jw *w, sqlite3 *db, const char *job_id,
    int64_t now_ms);

/* logs.c */
/* "stdout", "stderr", "compile_stdout", "compile_stderr" of a stored
 * stream number 1..4, and back (0: no such name). */
const char *log_stream_name(int stream);
int log_stream_number(const char *name);
int logs_page(struct req *rq, const char *id, struct api_err *err);
int logs_output(struct req *rq, const char *id, struct api_err *err);

/* runtimes.c: GET /v1/runtimes and the runtime of a code job. */
int runtimes_handle(struct req *rq, struct api_err *err);
/* The live runtime whose name or alias is name and whose version matches
 * version ("", "*", equal, or a dotted prefix), the newest first. 0 with
 * *ret (runtime_info_release it); -ENOENT no such name; -ESRCH the name
 * but no such version (ret_have gets a version it has); -EAGAIN none
 * matches but one of that name is not probed yet (its docker daemon has
 * not answered: it may have the version); -errno. */
int runtime_find(sqlite3 *db, const char *name, const char *version,
    struct runtime_info *ret, char *ret_have, size_t have_size);
void runtime_info_release(struct runtime_info *rt);
/* jr->runtime ("name", "alias", "name@version") resolved and applied
 * (job_request_apply_runtime); 0, or err (400 naming it; 503 if it is not
 * probed yet). */
int runtime_resolve(struct req *rq, struct job_request *jr,
    struct api_err *err);

/* piston.c: Piston's v2 API (issue 14): GET /api/v2/runtimes, POST
 * /api/v2/execute (parked like POST /v1/run), and the execute reply. */
int piston_runtimes(struct req *rq, struct api_err *err);
int piston_execute(struct req *rq, struct api_err *err);
int piston_reply(sqlite3 *db, FCGX_Request *fr, int64_t consumer_id,
    const char *id);
/* A Piston-shaped error reply {"message":...} of e. */
int piston_error(struct req *rq, const struct api_err *e);

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
/* The same, answered by piston_reply (POST /api/v2/execute). */
void park_run_piston(struct park *p, struct req *rq, const char *id,
    int64_t deadline_mono_ms);
void park_stream(struct park *p, struct req *rq, const char *id,
    int64_t after);

#endif
