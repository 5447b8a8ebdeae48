/* artifacts.c - the artifacts resource: a job's list, and the download of
 * one, which jobcell-api only authorizes: it answers X-Accel-Redirect to
 * nginx's internal location over DATA/artifacts/ (nginx/jobcell-site.conf.in),
 * and nginx sends the file (sendfile, Range). Runs on an API thread with
 * its own SQLite connection. A consumer sees only its own jobs' artifacts:
 * another's, a missing job, a missing path and an expired artifact are
 * the same 404. The path comes decoded from nginx (DOCUMENT_URI) and is
 * only ever a key to look up, never a file name: the file is the row's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "keys.h"
#include "parse.h"
#include "timefmt.h"
#include "wspath.h"
#include "banned.h"

/* nginx's internal location (jobcell-site.conf.in) aliasing DATA/artifacts/ */
#define ARTIFACTS_ACCEL_PREFIX "/_jobcell/artifacts/"

static int
not_found(struct api_err *err)
{
	return api_err_set(err, 404, "not_found", "no such artifact");
}

void
artifacts_write_json(struct jw *w, sqlite3 *db, const char *job_id,
    int64_t now_ms)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char buf[TIMEFMT_RFC3339_LEN];
	int r, rc;

	if ((r = db_prepare_cached(db, "SELECT path, size, sha256, expires_at "
	    "FROM artifacts WHERE job_id = ?1 AND expires_at > ?2 "
	    "ORDER BY path", &st)) < 0 ||
	    sqlite3_bind_text(st, 1, job_id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(st, 2, now_ms)) {
		w->err = r < 0 ? r : -EIO;
		return;
	}
	jw_arr_open(w);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		jw_obj_open(w);
		jw_key(w, "path");
		jw_strn(w, (const char *) sqlite3_column_text(st, 0),
		    (size_t) sqlite3_column_bytes(st, 0));
		jw_kv_i64(w, "size", sqlite3_column_int64(st, 1));
		jw_kv_str(w, "sha256", (const char *) sqlite3_column_text(st,
		    2));
		if (time_format_rfc3339(sqlite3_column_int64(st, 3), buf,
		    sizeof(buf)) < 0)
			jw_kv_null(w, "expires_at");
		else
			jw_kv_str(w, "expires_at", buf);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	if (rc != SQLITE_DONE && w->err == 0)
		w->err = db_errno(rc);
}

int
artifacts_list(struct req *rq, const char *id, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	bool truncated;
	struct jw w;
	int r;

	/* JC_MAX artifacts of ~1.2 KiB each at most per job (files cap). */
	strbuf_init(&out, 256u * 1024 * 1024);
	if (!id_valid(id))
		return api_err_set(err, 404, "not_found", "no such job");
	if ((r = db_exec_cached(rq->db, "BEGIN")) < 0)
		return api_err_internal(err, r);
	r = job_row(rq->db, "SELECT artifacts_truncated FROM jobs WHERE "
	    "id = ?1 AND consumer_id = ?2", id, rq->consumer_id, &st);
	if (r < 0) {
		(void) db_exec_cached(rq->db, "COMMIT");
		if (r == -ENOENT)
			return api_err_set(err, 404, "not_found", "no such job");
		return api_err_internal(err, r);
	}
	truncated = sqlite3_column_int(st, 0) != 0;
	(void) sqlite3_reset(st);
	st = NULL;
	jw_init(&w, &out);
	jw_obj_open(&w);
	jw_key(&w, "artifacts");
	artifacts_write_json(&w, rq->db, id, time_now_ms());
	jw_kv_bool(&w, "truncated", truncated);
	jw_obj_close(&w);
	(void) db_exec_cached(rq->db, "COMMIT");
	if ((r = jw_finish(&w)) < 0)
		return api_err_internal(err, r);
	return reply_json(rq, 200, NULL, &out);
}

/* RFC 5987 attr-char: what filename*= may carry unescaped. */
static bool
attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c) != NULL;
}

/* Content-Disposition for the last part of path, any bytes: "attachment;
 * filename*=UTF-8''" and the part percent-encoded (RFC 6266, 5987). */
static int
disposition(struct strbuf *sb, const char *path)
{
	const char *base = strrchr(path, '/');
	int r;

	base = base ? base + 1 : path;
	if ((r = strbuf_addstr(sb, "Content-Disposition: attachment; "
	    "filename*=UTF-8''")) < 0)
		return r;
	for (const unsigned char *p = (const unsigned char *) base; *p; p++)
		if ((r = attr_char(*p) ? strbuf_addf(sb, "%c", *p) :
		    strbuf_addf(sb, "%%%02X", *p)) < 0)
			return r;
	return strbuf_addstr(sb, "\r\n");
}

/* True if an If-None-Match value names the entity tag "<sha>" (or "*"). */
static bool
etag_matches(const char *inm, const char *sha)
{
	size_t n = strlen(sha);

	if (!inm)
		return false;
	for (const char *p = inm; *p;) {
		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;	/* weak comparison (RFC 9110 13.1.2) */
		if (*p == '"' && strncmp(p + 1, sha, n) == 0 && p[n + 1] == '"')
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

int
artifacts_get(struct req *rq, const char *id, const char *path,
    struct api_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	_cleanup_strbuf_ struct strbuf hdr;
	char file[32], sha[65];
	int r, rc;

	strbuf_init(&hdr, 8192);
	if (!id_valid(id) || strnlen(path, WSPATH_MAX + 1) > WSPATH_MAX)
		return not_found(err);
	if ((r = db_prepare_cached(rq->db, "SELECT a.file, a.sha256 FROM "
	    "artifacts a JOIN jobs j ON j.id = a.job_id WHERE a.job_id = ?1 "
	    "AND j.consumer_id = ?2 AND a.path = ?3 AND a.expires_at > ?4",
	    &st)) < 0)
		return api_err_internal(err, r);
	if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(st, 2, rq->consumer_id) ||
	    sqlite3_bind_text(st, 3, path, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(st, 4, time_now_ms()))
		return api_err_internal(err, -EIO);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE)
		return not_found(err);
	if (rc != SQLITE_ROW)
		return api_err_internal(err, db_errno(rc));
	if (str_copy(file, sizeof(file), (const char *)
	    sqlite3_column_text(st, 0)) < 0 ||
	    str_copy(sha, sizeof(sha), (const char *)
	    sqlite3_column_text(st, 1)) < 0)
		return api_err_internal(err, -EIO);
	(void) sqlite3_reset(st);
	st = NULL;
	if ((r = strbuf_addf(&hdr, "ETag: \"%s\"\r\n", sha)) < 0)
		return api_err_internal(err, r);
	/* The client has these bytes: no file to send (RFC 9110 13.1.2). */
	if (etag_matches(req_param(rq, "HTTP_IF_NONE_MATCH"), sha))
		return reply_raw_header(rq, 304, NULL, hdr.buf);
	/* nginx keeps Content-Type and Content-Disposition of this reply
	 * for the file it sends; ETag it replaces with its own unless the
	 * location says otherwise (it does: etag off + add_header). */
	if ((r = disposition(&hdr, path)) < 0 ||
	    (r = strbuf_addf(&hdr, "X-Accel-Redirect: "
	    ARTIFACTS_ACCEL_PREFIX "%s/%s\r\n"
	    "X-Content-Type-Options: nosniff\r\n", id, file)) < 0)
		return api_err_internal(err, r);
	return reply_raw_header(rq, 200, "application/octet-stream", hdr.buf);
}
