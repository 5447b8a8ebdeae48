/* piston.c - Piston's v2 API (issue 14; engineer-man/piston api/src/api/
 * v2.js): GET /api/v2/runtimes and POST /api/v2/execute, mapped onto
 * jobcell code jobs, quotas and limits, so that existing Piston clients
 * work unchanged. Requests are validated as Piston does, then as any job
 * (job_request.c); errors are Piston's {"message":...}. An execute waits
 * parked like POST /v1/run (park.c) and is answered by piston_reply.
 * Runs on API threads (and park.c's finishers); trusts only the consumer
 * nginx authenticated. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "db.h"
#include "parse.h"
#include "log.h"
#include "timefmt.h"
#include "wspath.h"
#include "banned.h"

#define PISTON_OUTPUT_CAP (1024u * 1024) /* per stream in a reply */
#define PISTON_FILES_MAX 64

static const char *const signal_names[] = {
	[1] = "SIGHUP",
	[2] = "SIGINT",
	[3] = "SIGQUIT",
	[4] = "SIGILL",
	[5] = "SIGTRAP",
	[6] = "SIGABRT",
	[7] = "SIGBUS",
	[8] = "SIGFPE",
	[9] = "SIGKILL",
	[10] = "SIGUSR1",
	[11] = "SIGSEGV",
	[12] = "SIGUSR2",
	[13] = "SIGPIPE",
	[14] = "SIGALRM",
	[15] = "SIGTERM",
	[16] = "SIGSTKFLT",
	[17] = "SIGCHLD",
	[18] = "SIGCONT",
	[19] = "SIGSTOP",
	[20] = "SIGTSTP",
	[21] = "SIGTTIN",
	[22] = "SIGTTOU",
	[23] = "SIGURG",
	[24] = "SIGXCPU",
	[25] = "SIGXFSZ",
	[26] = "SIGVTALRM",
	[27] = "SIGPROF",
	[28] = "SIGWINCH",
	[29] = "SIGIO",
	[30] = "SIGPWR",
	[31] = "SIGSYS",
};

int
piston_error(struct req *rq, const struct api_err *e)
{
	_cleanup_strbuf_ struct strbuf sb;
	char hdr[64] = "";
	struct jw w;

	strbuf_init(&sb, 1024);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "message", e->message);
	jw_obj_close(&w);
	if (jw_finish(&w) < 0)
		return -ENOMEM;
	if (e->retry_after_s > 0)
		(void) snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n",
		    e->retry_after_s);
	return reply_json(rq, e->status, hdr[0] ? hdr : NULL, &sb);
}

/* Piston's 400 (api/v2.js get_job): the message is the whole answer. */
#define bad(err, ...) api_err_set(err, 400, "invalid_request", __VA_ARGS__)

int
piston_runtimes(struct req *rq, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct jw w;
	int r, rc;

	strbuf_init(&out, 256 * 1024);
	if ((r = db_prepare_cached(rq->db,
		 "SELECT name, version, aliases FROM runtimes "
		 "WHERE " RUNTIMES_RUNNABLE " GROUP BY name, version "
		 "ORDER BY name, version DESC",
		 &st)) < 0)
		return api_err_internal(err, r);
	if (sqlite3_bind_int64(st, 1, time_now_ms() - 15000) != SQLITE_OK)
		return api_err_internal(err, -EIO);
	jw_init(&w, &out);
	jw_arr_open(&w);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *a = (const char *) sqlite3_column_text(st, 2);

		jw_obj_open(&w);
		jw_kv_str(&w, "language",
		    (const char *) sqlite3_column_text(st, 0));
		jw_kv_str(&w, "version",
		    (const char *) sqlite3_column_text(st, 1));
		runtime_write_aliases(&w, a);
		jw_obj_close(&w);
	}
	if (rc != SQLITE_DONE)
		return api_err_internal(err, db_errno(rc));
	jw_arr_close(&w);
	if ((r = jw_finish(&w)) < 0)
		return api_err_internal(err, r);
	return reply_json(rq, 200, NULL, &out);
}

/* A limit of the request: absent, null or 0 is "not given" (Piston skips
 * falsy values); -1 for memory is "no limit" (the server's default). 1
 * with *ret, 0 not given, or err. */
static int
get_limit(const struct jr_doc *doc, int root, const char *field, int64_t max,
    int64_t *ret, struct api_err *err)
{
	int tok = jr_obj_get(doc, root, field);
	int64_t v;

	if (tok < 0 || jr_type(doc, tok) == JR_NULL ||
	    (jr_type(doc, tok) == JR_BOOL && jr_str_eq(doc, tok, "false")))
		return 0;
	if (jr_type(doc, tok) != JR_NUMBER || jr_i64(doc, tok, &v) < 0)
		return bad(err, "If specified, %s must be a number", field);
	if (v == 0 || (v == -1 && strstr(field, "memory")))
		return 0;
	if (v < 0)
		return bad(err, "%s must be non-negative", field);
	if (v > max) {
		return api_err_set(err, 400, "invalid_request",
		    "%s cannot "
		    "exceed the configured limit of %" PRId64,
		    field, max);
	}
	*ret = v;
	return 1;
}

static int
get_str(const struct jr_doc *doc, int tok, size_t max, char **ret,
    size_t *ret_len)
{
	int r = jr_str_dup(doc, tok, max, ret, ret_len);

	return r;
}

/* The files: the first UTF-8 one is the code (its name is the runtime's
 * to choose), the others go beside it under their names. */
static int
parse_files(const struct jr_doc *doc, int root, struct job_request *jr,
    struct api_err *err)
{
	int files = jr_obj_get(doc, root, "files");
	bool have_code = false;
	int n, r;

	if (files < 0 || jr_type(doc, files) != JR_ARRAY)
		return bad(err, "%s", "files is required as an array");
	n = jr_len(doc, files);
	if (n > PISTON_FILES_MAX)
		return api_err_set(err, 400, "invalid_request",
		    "files may hold "
		    "at most %d files here",
		    PISTON_FILES_MAX);
	if (!(jr->files = calloc((size_t) n + 1, sizeof(*jr->files))))
		return api_err_internal(err, -ENOMEM);
	for (int i = 0; i < n; i++) {
		int f = jr_child(doc, files, i), c, e, nm;
		char idx[16], *data = NULL, *name = NULL;
		size_t len, nlen;

		(void) snprintf(idx, sizeof(idx), "%d", i);
		c = jr_type(doc, f) == JR_OBJECT ?
		    jr_obj_get(doc, f, "content") :
		    -ENOENT;
		if (c < 0 || jr_type(doc, c) != JR_STRING)
			return bad(err,
			    "files[%s].content is required as a "
			    "string",
			    idx);
		e = jr_obj_get(doc, f, "encoding");
		if (e >= 0 && jr_type(doc, e) != JR_NULL &&
		    !jr_str_eq(doc, e, "utf8"))
			return bad(err,
			    "files[%s]: only the utf8 encoding is "
			    "supported by this server",
			    idx);
		r = get_str(doc, c, JC_MAX_CODE_BYTES, &data, &len);
		if (r == -E2BIG)
			return api_err_set(err, 400, "invalid_request",
			    "files[%d].content is longer than %u bytes", i,
			    JC_MAX_CODE_BYTES);
		if (r < 0)
			return bad(err,
			    "files[%s].content must be valid UTF-8 "
			    "without NUL bytes",
			    idx);
		if (!have_code) {
			jr->code = data;
			jr->code_len = len;
			have_code = true;
			continue;
		}
		nm = jr_obj_get(doc, f, "name");
		if (nm >= 0 && jr_type(doc, nm) == JR_STRING) {
			r = get_str(doc, nm, WSPATH_MAX, &name, &nlen);
			if (r < 0 || wspath_check_len(name, nlen) < 0) {
				free(name);
				free(data);
				return bad(err,
				    "files[%s].name must be a "
				    "relative path",
				    idx);
			}
		} else if (asprintf(&name, "file%d.code", i) < 0) {
			free(data);
			return api_err_internal(err, -ENOMEM);
		}
		for (size_t j = 0; j < jr->nfiles; j++)
			if (strcmp(jr->files[j].path, name) == 0) {
				free(name);
				free(data);
				return bad(err, "files[%s].name is given twice",
				    idx);
			}
		jr->files[jr->nfiles++] = (struct job_file){ .path = name,
			.data = data,
			.len = len };
	}
	if (!have_code)
		return bad(err, "%s",
		    "files must include at least one utf8 "
		    "encoded file");
	return 0;
}

/* A Piston execute body as a code job. 0, or err (400: a Piston
 * message). */
static int
parse_execute(struct req *rq, const struct jr_doc *doc, struct job_request *jr,
    struct api_err *err)
{
	const struct config_limits *lim = &rq->srv->limits;
	int root = jr_root(doc), lang, ver, tok, r;
	char language[64], version[64];
	int64_t v;

	if (jr_type(doc, root) != JR_OBJECT)
		return bad(err, "%s", "language is required as a string");
	lang = jr_obj_get(doc, root, "language");
	if (lang < 0 || jr_type(doc, lang) != JR_STRING ||
	    jr_str(doc, lang, language, sizeof(language), NULL) < 0 ||
	    !language[0])
		return bad(err, "%s", "language is required as a string");
	ver = jr_obj_get(doc, root, "version");
	if (ver < 0 || jr_type(doc, ver) != JR_STRING ||
	    jr_str(doc, ver, version, sizeof(version), NULL) < 0 || !version[0])
		return bad(err, "%s", "version is required as a string");
	if ((r = parse_files(doc, root, jr, err)) < 0)
		return r;
	if ((size_t) snprintf(jr->runtime, sizeof(jr->runtime), "%s@%s",
		language, version) >= sizeof(jr->runtime))
		return api_err_set(err, 400, "invalid_request",
		    "%s-%s runtime "
		    "is unknown",
		    language, version);
	if ((tok = jr_obj_get(doc, root, "stdin")) >= 0 &&
	    jr_type(doc, tok) != JR_NULL) {
		if (jr_type(doc, tok) != JR_STRING ||
		    get_str(doc, tok, JC_MAX_STDIN_BYTES, &jr->stdin_data,
			&jr->stdin_len) < 0)
			return api_err_set(err, 400, "invalid_request",
			    "stdin "
			    "must be a UTF-8 string of at most %u bytes",
			    JC_MAX_STDIN_BYTES);
	}
	if ((tok = jr_obj_get(doc, root, "args")) >= 0 &&
	    jr_type(doc, tok) != JR_NULL) {
		if (jr_type(doc, tok) != JR_ARRAY ||
		    jr_len(doc, tok) > JC_MAX_ARGV - 64)
			return bad(err, "%s",
			    "args must be an array of strings");
		if (!(jr->args = calloc((size_t) jr_len(doc, tok) + 1,
			  sizeof(char *))))
			return api_err_internal(err, -ENOMEM);
		for (int i = 0; i < jr_len(doc, tok); i++) {
			int el = jr_child(doc, tok, i);

			if (jr_type(doc, el) != JR_STRING ||
			    get_str(doc, el, JC_MAX_ARG_BYTES, &jr->args[i],
				NULL) < 0)
				return bad(err, "%s",
				    "args must be an array of "
				    "strings");
			jr->nargs++;
		}
	}
	/* Piston's units: ms and bytes; jobcell's run time is whole
	 * seconds (rounded up), memory whole MiB (rounded up). */
	jr->timeout_s = lim->timeout_default_s;
	jr->memory_mb = lim->memory_default_mb;
	if ((r = get_limit(doc, root, "run_timeout", lim->timeout_max_s * 1000,
		 &v, err)) < 0)
		return r;
	if (r > 0)
		jr->timeout_s = (v + 999) / 1000;
	if ((r = get_limit(doc, root, "compile_timeout",
		 lim->timeout_max_s * 1000, &v, err)) < 0)
		return r;
	if (r > 0)
		jr->compile_timeout_s = (v + 999) / 1000;
	if ((r = get_limit(doc, root, "run_memory_limit",
		 lim->memory_max_mb * 1048576, &v, err)) < 0)
		return r;
	if (r > 0)
		jr->memory_mb = (v + 1048575) / 1048576;
	if ((r = get_limit(doc, root, "compile_memory_limit",
		 lim->memory_max_mb * 1048576, &v, err)) < 0)
		return r;
	if (r > 0)
		jr->compile_memory_mb = (v + 1048575) / 1048576;
	/* CPU time: checked like Piston, bounded by the wall time here. */
	if ((r = get_limit(doc, root, "run_cpu_time", INT64_MAX, &v, err)) <
		0 ||
	    (r = get_limit(doc, root, "compile_cpu_time", INT64_MAX, &v, err)) <
		0)
		return r;
	jr->cpus = lim->cpus_default;
	jr->pids = lim->pids_default;
	jr->disk_mb = lim->disk_default_mb;
	(void) str_copy(jr->sandbox, sizeof(jr->sandbox), "namespace");
	return 0;
}

/* Clients send the JSON as application/json, text/plain, curl's default
 * form type, or with none: any body is read as JSON, but a multipart
 * form, which never is (Piston itself accepts application/json only). */
static bool
content_type_ok(const char *ct)
{
	return !ct || strncasecmp(ct, "multipart/", 10) != 0;
}

int
piston_execute(struct req *rq, struct api_err *err)
{
	struct job_request jr = { 0 };
	struct jr_doc *doc = NULL;
	struct park *p = NULL;
	char id[JC_ID_LEN + 1];
	int r;

	if (!content_type_ok(req_param(rq, "CONTENT_TYPE")))
		return api_err_set(err, 415, "unsupported_media_type",
		    "requests must be of type application/json");
	if ((r = park_reserve(rq->srv, PARK_RUN, rq->consumer_id, err, &p)) < 0)
		return r == -EBUSY ? r : api_err_internal(err, r);
	if ((r = req_read_body(rq, err)) < 0)
		goto fail;
	r = jr_parse(rq->body.buf, rq->body.len, JC_MAX_JSON_TOKENS, &doc);
	if (r == -ENOMEM) {
		r = api_err_internal(err, r);
		goto fail;
	}
	if (r < 0) {
		r = bad(err, "%s", "the body is not valid JSON");
		goto fail;
	}
	if ((r = parse_execute(rq, doc, &jr, err)) < 0)
		goto fail;
	doc = jr_free(doc);
	r = jobs_store_request(rq, &jr, NULL, err, id, NULL);
	if (r == -EINVAL && strstr(err->message, "field 'runtime'")) {
		/* Piston's words for an unknown language or version. */
		char *at = strchr(jr.runtime, '@');

		if (at)
			*at = '-';
		(void) api_err_set(err, 400, "invalid_request",
		    "%s runtime is "
		    "unknown",
		    jr.runtime);
	}
	if (r < 0)
		goto fail;
	job_request_release(&jr);
	park_run_piston(p, rq, id,
	    time_mono_ms() + rq->srv->limits.timeout_max_s * 2000 + 30000);
	return 0;
fail:
	doc = jr_free(doc);
	job_request_release(&jr);
	park_cancel(p);
	return r;
}

/* ---- the reply ---- */

struct piston_out {
	struct strbuf s[5];	 /* [stream]: 1 stdout ... 4 compile stderr */
	struct strbuf output[2]; /* [0] run, [1] compile: interleaved */
};

static int
read_logs(sqlite3 *db, const char *id, struct piston_out *o)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "SELECT stream, data FROM job_logs "
		 "WHERE job_id = ? ORDER BY seq",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int s = sqlite3_column_int(st, 0);
		const char *d = sqlite3_column_blob(st, 1);
		size_t n = (size_t) sqlite3_column_bytes(st, 1);
		struct strbuf *out;

		if (s < 1 || s > 4 || !d)
			continue;
		out = &o->output[s >= 3];
		/* Past the cap the rest is left out (strbuf max). */
		(void) strbuf_add(&o->s[s], d, n);
		(void) strbuf_add(out, d, n);
	}
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* One stage's object: stdout, stderr, output, code, signal, and the
 * newer Piston fields (message, status, memory, cpu_time, wall_time). */
static void
put_stage(struct jw *w, const char *key, const struct strbuf *out,
    const struct strbuf *err, const struct strbuf *both, bool has_code,
    int code, int sig, bool timed_out, const char *message, sqlite3_stmt *st,
    bool usage)
{
	const char *status = NULL;
	char msg[128] = "";

	if (timed_out) {
		status = "TO";
		(void) snprintf(msg, sizeof(msg), "Time limit exceeded");
		sig = 9;
		has_code = false;
	} else if (sig > 0) {
		status = "SG";
		(void) snprintf(msg, sizeof(msg), "Caught fatal signal %d",
		    sig);
		has_code = false;
	} else if (has_code && code != 0) {
		status = "RE";
		(void) snprintf(msg, sizeof(msg), "Exited with error status %d",
		    code);
	}
	if (message) {
		status = "XX";
		(void) snprintf(msg, sizeof(msg), "%s", message);
	}
	jw_key(w, key);
	jw_obj_open(w);
	jw_key(w, "stdout");
	jw_strn(w, out->buf, out->len);
	jw_key(w, "stderr");
	jw_strn(w, err->buf, err->len);
	jw_key(w, "output");
	jw_strn(w, both->buf, both->len);
	if (has_code)
		jw_kv_i64(w, "code", code);
	else
		jw_kv_null(w, "code");
	if (sig > 0 && sig < (int) ARRAY_SIZE(signal_names) &&
	    signal_names[sig])
		jw_kv_str(w, "signal", signal_names[sig]);
	else
		jw_kv_null(w, "signal");
	if (msg[0])
		jw_kv_str(w, "message", msg);
	else
		jw_kv_null(w, "message");
	if (status)
		jw_kv_str(w, "status", status);
	else
		jw_kv_null(w, "status");
	if (usage && sqlite3_column_type(st, 8) != SQLITE_NULL)
		jw_kv_i64(w, "memory", sqlite3_column_int64(st, 8) * 1024);
	else
		jw_kv_null(w, "memory");
	if (usage && sqlite3_column_type(st, 7) != SQLITE_NULL)
		jw_kv_i64(w, "cpu_time", sqlite3_column_int64(st, 7));
	else
		jw_kv_null(w, "cpu_time");
	jw_obj_close(w);
}

int
piston_reply(sqlite3 *db, FCGX_Request *fr, int64_t consumer_id, const char *id)
{
	_cleanup_strbuf_ struct strbuf buf;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct req rq = { .fcgi = fr };
	struct piston_out o;
	struct api_err e = { 0 };
	enum job_status status;
	bool compiled, compile_failed, final;
	const char *message = NULL;
	struct jw w;
	int r;

	strbuf_init(&buf, 6 * PISTON_OUTPUT_CAP + 65536);
	for (int i = 0; i < 5; i++)
		strbuf_init(&o.s[i], PISTON_OUTPUT_CAP);
	strbuf_init(&o.output[0], PISTON_OUTPUT_CAP);
	strbuf_init(&o.output[1], PISTON_OUTPUT_CAP);
	if ((r = db_exec_cached(db, "BEGIN")) < 0)
		goto out;
	/* 0 status, 1 exit_code, 2 signal, 3 timed_out, 4 error, 5 runtime,
	 * 6 runtime_version, 7 cpu_ms, 8 max_rss_kb, 9.. compile_* */
	r = job_row(db,
	    "SELECT status, exit_code, signal, timed_out, error, "
	    "runtime, runtime_version, cpu_ms, max_rss_kb, compile_exit_code, "
	    "compile_signal, compile_timed_out, compile_duration_ms "
	    "FROM jobs WHERE id = ?1 AND consumer_id = ?2",
	    id, consumer_id, &st);
	if (r >= 0)
		r = jobs_status_column(st, 0, &status);
	if (r >= 0)
		r = read_logs(db, id, &o);
	if (r < 0) {
		(void) db_exec_cached(db, "COMMIT");
		goto out;
	}
	final = job_status_is_final(status);
	compiled = sqlite3_column_type(st, 12) != SQLITE_NULL;
	compile_failed = compiled &&
	    (sqlite3_column_int(st, 11) ||
		sqlite3_column_type(st, 10) != SQLITE_NULL ||
		sqlite3_column_int(st, 9) != 0);
	if (!final)
		message = "the job did not finish in time";
	else if (status == JOB_ERROR || status == JOB_CANCELLED)
		message = sqlite3_column_type(st, 4) != SQLITE_NULL ?
		    (const char *) sqlite3_column_text(st, 4) :
		    job_status_to_string(status);
	jw_init(&w, &buf);
	jw_obj_open(&w);
	jw_kv_str(&w, "language", (const char *) sqlite3_column_text(st, 5));
	jw_kv_str(&w, "version", (const char *) sqlite3_column_text(st, 6));
	if (compiled)
		put_stage(&w, "compile", &o.s[3], &o.s[4], &o.output[1],
		    sqlite3_column_type(st, 9) != SQLITE_NULL,
		    sqlite3_column_int(st, 9), sqlite3_column_int(st, 10),
		    sqlite3_column_int(st, 11) != 0, NULL, st, false);
	/* Piston: a failed compile has no run stage; "run" repeats the
	 * compile's result for older clients. */
	if (compile_failed && final && status != JOB_TIMED_OUT &&
	    status != JOB_CANCELLED)
		put_stage(&w, "run", &o.s[3], &o.s[4], &o.output[1],
		    sqlite3_column_type(st, 9) != SQLITE_NULL,
		    sqlite3_column_int(st, 9), sqlite3_column_int(st, 10),
		    sqlite3_column_int(st, 11) != 0, NULL, st, false);
	else
		put_stage(&w, "run", &o.s[1], &o.s[2], &o.output[0],
		    sqlite3_column_type(st, 1) != SQLITE_NULL &&
			status != JOB_TIMED_OUT,
		    sqlite3_column_int(st, 1), sqlite3_column_int(st, 2),
		    sqlite3_column_int(st, 3) != 0, message, st, true);
	jw_obj_close(&w);
	r = jw_finish(&w);
	(void) sqlite3_reset(st);
	st = NULL;
	(void) db_exec_cached(db, "COMMIT");
	if (r < 0)
		goto out;
	r = reply_json(&rq, 200, NULL, &buf);
out:
	for (int i = 0; i < 5; i++)
		strbuf_release(&o.s[i]);
	strbuf_release(&o.output[0]);
	strbuf_release(&o.output[1]);
	if (r >= 0 || rq.status)
		return r;
	if (r == -ENOENT)
		api_err_set(&e, 404, "not_found", "no such job");
	else
		api_err_internal(&e, r);
	(void) piston_error(&rq, &e);
	return r;
}
