/* runtimes.c - the runtimes of code jobs (issue 14): GET /v1/runtimes,
 * and the lookup that turns a job's "runtime" (a name, an alias, or
 * name@version) into the runtime a live supervisor published
 * (worker/runtimes.c). Runs on API threads, each with its own
 * connection; trusts the runtimes table as the supervisors wrote it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

/* A supervisor counts as alive if it wrote a heartbeat this recently
 * (as for /v1/health). A job finds the runtimes of any live one (LIVE),
 * so that one whose sandbox is away now gets 503 (jobs.c), not 400, as
 * does one not probed yet (its docker daemon never answered); the lists
 * show only those it can run now (RUNTIMES_RUNNABLE, api.h). */
#define RUNTIME_HEARTBEAT_MS 15000
#define LIVE \
	"supervisor_pid IN (SELECT pid FROM supervisors WHERE " \
	"heartbeat_at > ?1)"

/* True if word is one of the space-separated words of list. */
static bool
word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t w;

		p += strspn(p, " ");
		w = strcspn(p, " ");
		if (w == n && n > 0 && memcmp(p, word, n) == 0)
			return true;
		p += w;
	}
	return false;
}

/* version matches want: any ("" or "*"), equal, or a dotted prefix
 * ("3" and "3.11" match "3.11.2"). */
static bool
version_match(const char *version, const char *want)
{
	size_t n = strlen(want);

	/* Piston clients write ranges as "3.x" or "3.*": a prefix too. */
	while (n >= 2 && want[n - 2] == '.' &&
	    (want[n - 1] == 'x' || want[n - 1] == 'X' || want[n - 1] == '*'))
		n -= 2;
	if (n == 0 || strcmp(want, "*") == 0 || strcmp(want, "x") == 0)
		return true;
	return strncmp(version, want, n) == 0 &&
	    (version[n] == '\0' || version[n] == '.');
}

void
runtime_info_release(struct runtime_info *rt)
{
	free(rt->compile);
	free(rt->run);
	rt->compile = rt->run = NULL;
}

static int
dup_col(sqlite3_stmt *st, int col, char **ret)
{
	const char *s = (const char *) sqlite3_column_text(st, col);

	*ret = NULL;
	if (!s)
		return 0;
	return (*ret = strdup(s)) ? 0 : -ENOMEM;
}

int
runtime_find(sqlite3 *db, const char *name, const char *version,
    struct runtime_info *ret, char *ret_have, size_t have_size)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct runtime_info rt = { 0 };
	bool named = false, unprobed = false;
	int r, rc;

	if (ret_have && have_size)
		ret_have[0] = '\0';
	if ((r = db_prepare_cached(db,
		 "SELECT name, version, aliases, file, "
		 "compile, run, compile_timeout_ms, compile_memory_mb, image, "
		 "probed FROM runtimes "
		 "WHERE " LIVE " ORDER BY name, version DESC",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, time_now_ms() - RUNTIME_HEARTBEAT_MS) !=
	    SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *n = (const char *) sqlite3_column_text(st, 0);
		const char *v = (const char *) sqlite3_column_text(st, 1);
		const char *a = (const char *) sqlite3_column_text(st, 2);
		const char *f = (const char *) sqlite3_column_text(st, 3);

		if (!n || !v || !f ||
		    (strcmp(n, name) != 0 && !(a && word_in(a, name))))
			continue;
		/* No version yet: it may have the one asked for. */
		if (sqlite3_column_int(st, 9) == 0) {
			unprobed = true;
			continue;
		}
		if (!named && ret_have && have_size)
			(void) str_copy(ret_have, have_size, v);
		named = true;
		if (!version_match(v, version))
			continue;
		if (str_copy(rt.name, sizeof(rt.name), n) < 0 ||
		    str_copy(rt.version, sizeof(rt.version), v) < 0 ||
		    str_copy(rt.file, sizeof(rt.file), f) < 0)
			return -EIO;
		if ((r = dup_col(st, 4, &rt.compile)) < 0 ||
		    (r = dup_col(st, 5, &rt.run)) < 0 || !rt.run) {
			runtime_info_release(&rt);
			return r < 0 ? r : -EIO;
		}
		rt.compile_timeout_ms = sqlite3_column_int64(st, 6);
		rt.compile_memory_mb = sqlite3_column_int64(st, 7);
		if (sqlite3_column_type(st, 8) == SQLITE_TEXT &&
		    str_copy(rt.image, sizeof(rt.image),
			(const char *) sqlite3_column_text(st, 8)) < 0) {
			runtime_info_release(&rt);
			return -EIO;
		}
		*ret = rt;
		return 0;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_errno(rc);
	if (unprobed)
		return -EAGAIN;
	return named ? -ESRCH : -ENOENT;
}

int
runtime_resolve(struct req *rq, struct job_request *jr, struct api_err *err)
{
	struct runtime_info rt;
	char name[sizeof(jr->runtime)], have[64];
	const char *version = "";
	char *at;
	int r;

	(void) str_copy(name, sizeof(name), jr->runtime);
	if ((at = strchr(name, '@'))) {
		*at = '\0';
		version = at + 1;
	}
	r = runtime_find(rq->db, name, version, &rt, have, sizeof(have));
	/* It exists; its daemon is what is away (DESIGN section 4). Not
	 * "field 'runtime'": Piston's execute would call it unknown. */
	if (r == -EAGAIN)
		return api_err_set(err, 503, "unavailable",
		    "runtime '%s' is not available now: no worker has reached "
		    "the docker daemon it runs in yet",
		    name);
	if (r == -ENOENT)
		return api_err_set(err, 400, "invalid_request",
		    "field 'runtime': this server has no runtime '%s' (see GET "
		    "/v1/runtimes)",
		    name);
	if (r == -ESRCH)
		return api_err_set(err, 400, "invalid_request",
		    "field 'runtime': runtime '%s' has no version '%s' here "
		    "(it has %s)",
		    name, version, have);
	if (r < 0)
		return api_err_internal(err, r);
	/* A docker runtime runs in its image (issue 14), whatever the
	 * request's sandbox; the others in namespace cells (the host's
	 * toolchain). */
	if (rt.image[0]) {
		(void) str_copy(jr->sandbox, sizeof(jr->sandbox), "docker");
		(void) str_copy(jr->image, sizeof(jr->image), rt.image);
		jr->image_given = false;
		jr->image_unlisted = false;
		goto apply;
	}
	if (strcmp(jr->sandbox, "docker") == 0 &&
	    strcmp(rq->srv->limits.sandbox, "docker") != 0) {
		runtime_info_release(&rt);
		return api_err_set(err, 400, "invalid_request",
		    "field 'sandbox': runtime '%s' runs in the namespace "
		    "sandbox",
		    rt.name);
	}
	(void) str_copy(jr->sandbox, sizeof(jr->sandbox), "namespace");
	jr->image[0] = '\0';
apply:
	if (jr->compile_memory_mb > rq->srv->limits.memory_max_mb) {
		runtime_info_release(&rt);
		return api_err_set(err, 400, "invalid_request",
		    "field 'compile_memory_mb' must be a whole number from 1 to "
		    "%lld",
		    (long long) rq->srv->limits.memory_max_mb);
	}
	if (jr->compile_timeout_s > rq->srv->limits.timeout_max_s) {
		runtime_info_release(&rt);
		return api_err_set(err, 400, "invalid_request",
		    "field 'compile_timeout' must be a whole number from 1 to "
		    "%lld",
		    (long long) rq->srv->limits.timeout_max_s);
	}
	r = job_request_apply_runtime(jr, &rt, err);
	runtime_info_release(&rt);
	return r;
}

void
runtime_write_aliases(struct jw *w, const char *list)
{
	jw_key(w, "aliases");
	jw_arr_open(w);
	for (const char *p = list ? list : ""; *p;) {
		size_t n;

		p += strspn(p, " ");
		if (!*p)
			break;
		n = strcspn(p, " ");
		jw_strn(w, p, n);
		p += n;
	}
	jw_arr_close(w);
}

int
runtimes_handle(struct req *rq, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct jw w;
	int r, rc;

	strbuf_init(&out, 256 * 1024);
	if ((r = db_prepare_cached(rq->db,
		 "SELECT name, version, aliases, "
		 "sandbox, compile IS NOT NULL FROM runtimes WHERE " RUNTIMES_RUNNABLE
		 " GROUP BY name, version ORDER BY name, version DESC",
		 &st)) < 0)
		return api_err_internal(err, r);
	if (sqlite3_bind_int64(st, 1, time_now_ms() - RUNTIME_HEARTBEAT_MS) !=
	    SQLITE_OK)
		return api_err_internal(err, -EIO);
	jw_init(&w, &out);
	jw_obj_open(&w);
	jw_key(&w, "runtimes");
	jw_arr_open(&w);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *a = (const char *) sqlite3_column_text(st, 2);

		jw_obj_open(&w);
		jw_kv_str(&w, "name",
		    (const char *) sqlite3_column_text(st, 0));
		jw_kv_str(&w, "version",
		    (const char *) sqlite3_column_text(st, 1));
		runtime_write_aliases(&w, a);
		jw_kv_str(&w, "sandbox",
		    (const char *) sqlite3_column_text(st, 3));
		jw_kv_bool(&w, "compiled", sqlite3_column_int(st, 4) != 0);
		jw_obj_close(&w);
	}
	if (rc != SQLITE_DONE)
		return api_err_internal(err, db_errno(rc));
	jw_arr_close(&w);
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0)
		return api_err_internal(err, r);
	return reply_json(rq, 200, NULL, &out);
}
