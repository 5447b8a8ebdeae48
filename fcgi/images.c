/* images.c - a consumer's docker images (issue 14, DESIGN section 4
 * "Images"): POST /v1/images (a build, stored as a job of kind "image"
 * that a worker runs through the Engine API's build endpoint), GET
 * /v1/images, DELETE /v1/images/{name}:{tag}, and the lookup of a job's
 * "image" among the caller's own. Runs in jobcell-api threads. Trusts
 * nothing of the context blob: it is read with libarchive, every member's
 * path checked, and the Dockerfile's FROM and --from= references are
 * each the caller's own image (renamed to the daemon's name) or a base
 * the server allows; another consumer's is refused by name. The daemon is
 * the supervisor's: DELETE marks the row, the collector removes it. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "archive_dl.h"
#include "cleanup.h"
#include "db.h"
#include "dockerfile.h"
#include "json_reader.h"
#include "json_writer.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

#define IMAGE_NAME_MAX 64
#define IMAGE_TAG_MAX 128
#define BUILD_ARGS_MAX 64
#define CONTEXT_BLOCK (64u * 1024)
/* An images row's build has not ended. A row without an image whose job
 * has (a lost worker; the collector removes it later) is no image and no
 * build: a new build takes its name, DELETE does not find it. */
#define BUILD_PENDING \
	"job_id IN (SELECT id FROM jobs WHERE status IN ('queued', " \
	"'running'))"

static bool
name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (!first && (c == '.' || c == '_' || c == '-'));
}

static bool
tag_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' ||
	    (!first && (c == '.' || c == '-'));
}

/* "name[:tag]" (tag "latest" if none) into name[65], tag[129]: the API's
 * names, one path segment each. 0 or -EINVAL. */
static int
split_ref(const char *ref, char *name, char *tag)
{
	const char *colon = strrchr(ref, ':');
	size_t n = colon ? (size_t) (colon - ref) : strlen(ref);
	const char *t = colon ? colon + 1 : "latest";
	size_t tl = strlen(t);

	if (n == 0 || n > IMAGE_NAME_MAX || tl == 0 || tl > IMAGE_TAG_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!name_char(ref[i], i == 0))
			return -EINVAL;
	for (size_t i = 0; i < tl; i++)
		if (!tag_char(t[i], i == 0))
			return -EINVAL;
	memcpy(name, ref, n);
	name[n] = '\0';
	memcpy(tag, t, tl + 1);
	return 0;
}

/* 1 if the caller has a built image name:tag (not being removed). */
static int
own_image(sqlite3 *db, int64_t consumer_id, const char *name, const char *tag)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "SELECT 1 FROM images WHERE consumer_id = ? AND name = ? "
		 "AND tag = ? AND image_id IS NOT NULL AND deleted = 0",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, tag, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

static bool
base_allowed(const struct config_limits *lim, const char *ref)
{
	return (lim->docker_image[0] && strcmp(lim->docker_image, ref) == 0) ||
	    (lim->docker_images[0] && image_listed(lim->docker_images, ref));
}

int
images_resolve(struct req *rq, struct job_request *jr, struct api_err *err)
{
	char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1];
	int r;

	if (!jr->image_given)
		return 0;
	if (str_startswith(jr->image, "jobcell/"))
		return api_err_set(err, 400, "invalid_request",
		    "field 'image': '%s' is not an image of this consumer "
		    "(name your own images as NAME:TAG)",
		    jr->image);
	if (strcmp(jr->sandbox, "docker") == 0 &&
	    split_ref(jr->image, name, tag) == 0) {
		if ((r = own_image(rq->db, rq->consumer_id, name, tag)) < 0)
			return api_err_internal(err, r);
		if (r == 1) {
			(void) snprintf(jr->image, sizeof(jr->image),
			    "jobcell/%lld/%s:%s", (long long) rq->consumer_id,
			    name, tag);
			(void) str_copy(jr->own_image[0],
			    sizeof(jr->own_image[0]), name);
			(void) str_copy(jr->own_image[1],
			    sizeof(jr->own_image[1]), tag);
			return 0;
		}
	}
	if (jr->image_unlisted)
		return api_err_set(err, 400, "invalid_request",
		    "field 'image': '%s' is not one of the images this server "
		    "allows, nor one of this consumer's images",
		    jr->image);
	return 0;
}

/* ---- the context ---- */

/* A member's path: relative, no ".." part (also a hard link's target). */
static bool
member_ok(const char *p)
{
	if (!p || p[0] == '/')
		return false;
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return false;
		s += n;
		s += *s == '/';
	}
	return true;
}

/* Reads the context (fd) through: every member's path checked, the
 * Dockerfile's bytes into *ret (owned). 0, or an error in err. */
static int
context_scan(int fd, const char *dockerfile, char **ret, size_t *ret_len,
    struct api_err *err)
{
	const char *why = NULL;
	const struct archive_dl *la = archive_dl_load(&why);
	struct archive *a;
	struct archive_entry *e;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int ar, n = 0, r = 0;

	if (!la) {
		log_warn("images: %s", why);
		return api_err_set(err, 503, "unavailable",
		    "image builds are not available: %s cannot be loaded",
		    ARCHIVE_DL_SONAME);
	}
	if (!(a = la->read_new()))
		return api_err_internal(err, -ENOMEM);
	/* The built-in decoders only: filter_all also runs outside programs
	 * (lrzip, lzop, grzip) on a stream this consumer wrote. */
	if (la->read_support_filter_gzip(a) != ARCHIVE_OK ||
	    la->read_support_filter_xz(a) != ARCHIVE_OK ||
	    la->read_support_filter_zstd(a) != ARCHIVE_OK ||
	    la->read_support_filter_bzip2(a) != ARCHIVE_OK ||
	    la->read_support_format_tar(a) != ARCHIVE_OK ||
	    la->read_open_fd(a, fd, CONTEXT_BLOCK) != ARCHIVE_OK) {
		r = api_err_set(err, 400, "invalid_request",
		    "field 'context': the blob is not a tar archive (plain or "
		    "gzip, xz, zstd or bzip2-compressed)");
		goto done;
	}
	while ((ar = la->read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = la->entry_pathname(e);
		const char *h = la->entry_hardlink(e);

		n++;
		if (!member_ok(p) || (h && !member_ok(h))) {
			r = api_err_set(err, 400, "invalid_request",
			    "field 'context': the member '%.200s' is outside "
			    "the context (an absolute path or '..')",
			    p ? p : "?");
			goto done;
		}
		if (text ||
		    strcmp(dockerfile_member_name(p), dockerfile) != 0 ||
		    la->entry_filetype(e) != AE_IFREG)
			continue;
		if (la->entry_size(e) > (la_int64_t) DOCKERFILE_MAX_BYTES) {
			r = api_err_set(err, 400, "invalid_request",
			    "field 'context': '%s' is over %u KiB", dockerfile,
			    DOCKERFILE_MAX_BYTES / 1024);
			goto done;
		}
		len = (size_t) la->entry_size(e);
		if (!(text = malloc(len + 1))) {
			r = api_err_internal(err, -ENOMEM);
			goto done;
		}
		if (la->read_data(a, text, len) != (la_ssize_t) len) {
			r = api_err_set(err, 400, "invalid_request",
			    "field 'context': cannot read '%s' from the tar",
			    dockerfile);
			goto done;
		}
		text[len] = '\0';
	}
	if (ar != ARCHIVE_EOF || n == 0)
		r = api_err_set(err, 400, "invalid_request",
		    "field 'context': the blob is not a tar archive (plain or "
		    "gzip, xz, zstd or bzip2-compressed)%s",
		    n ? ": it is cut short or damaged" : "");
	else if (!text)
		r = api_err_set(err, 400, "invalid_request",
		    "field 'context': the tar has no '%s'", dockerfile);
done:
	la->read_free(a);
	if (r == 0) {
		*ret = steal_ptr(&text);
		*ret_len = len;
	}
	return r;
}

/* Every FROM and --from= of text: a stage, the caller's own image
 * (renamed), or an allowed base; the rewritten text in b when any was
 * renamed. 0 or an error in err. */
static int
check_bases(struct req *rq, const char *text, size_t len, struct image_build *b,
    struct api_err *err)
{
	const struct config_limits *lim = &rq->srv->limits;
	_cleanup_free_ struct dockerfile *df = calloc(1, sizeof(*df));
	char repl[DOCKERFILE_MAX_REFS][JC_MAX_IMAGE_BYTES + 1];
	const char *rp[DOCKERFILE_MAX_REFS] = { 0 };
	char msg[300];
	bool any = false;
	int r;

	if (!df)
		return api_err_internal(err, -ENOMEM);
	if (dockerfile_parse(text, len, df, msg, sizeof(msg)) < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'context': %s: %s", b->dockerfile, msg);
	for (size_t i = 0; i < df->nrefs; i++) {
		const struct dockerfile_ref *ref = &df->refs[i];
		char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1];

		if (ref->stage)
			continue;
		if (!str_startswith(ref->image, "jobcell/") &&
		    split_ref(ref->image, name, tag) == 0) {
			if ((r = own_image(rq->db, rq->consumer_id, name,
				 tag)) < 0)
				return api_err_internal(err, r);
			if (r == 1) {
				(void) snprintf(repl[i], sizeof(repl[i]),
				    "jobcell/%lld/%s:%s",
				    (long long) rq->consumer_id, name, tag);
				rp[i] = repl[i];
				any = true;
				continue;
			}
		}
		if (!str_startswith(ref->image, "jobcell/") &&
		    base_allowed(lim, ref->image))
			continue;
		return api_err_set(err, 400, "invalid_request",
		    "field 'context': %s line %u: '%s' is neither one of this "
		    "consumer's images nor a base image this server allows",
		    b->dockerfile, ref->line, ref->image);
	}
	if (!any)
		return 0;
	{
		_cleanup_strbuf_ struct strbuf out;

		strbuf_init(&out, DOCKERFILE_MAX_BYTES * 2);
		if ((r = dockerfile_rewrite(text, len, df, rp, &out)) < 0)
			return api_err_internal(err, r);
		b->dockerfile_len = out.len;
		if (!(b->dockerfile_text = strbuf_detach(&out, NULL)))
			return api_err_internal(err, -ENOMEM);
	}
	return 0;
}

/* ---- POST /v1/images ---- */

static int
get_limit(const struct jr_doc *doc, int root, const char *key, int64_t dflt,
    int64_t max, int64_t *ret, struct api_err *err)
{
	int tok = jr_obj_get(doc, root, key);

	*ret = dflt;
	if (tok < 0)
		return 0;
	if (jr_i64(doc, tok, ret) < 0 || *ret < 1 || *ret > max)
		return api_err_set(err, 400, "invalid_request",
		    "field '%s' must be 1..%lld", key, (long long) max);
	return 0;
}

static int
parse_build_args(const struct jr_doc *doc, int tok, struct image_build *b,
    struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf sb;
	struct jw w;
	int n;

	if (jr_type(doc, tok) != JR_OBJECT ||
	    (n = jr_len(doc, tok)) > BUILD_ARGS_MAX)
		return api_err_set(err, 400, "invalid_request",
		    "field 'build_args' must be an object of at most %d "
		    "strings",
		    BUILD_ARGS_MAX);
	strbuf_init(&sb, 256 * 1024);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	for (int i = 0; i < n; i++) {
		int k = jr_child(doc, tok, i);
		char key[128], val[4096];

		if (jr_str(doc, k, key, sizeof(key), NULL) < 0 || !key[0] ||
		    jr_str(doc, k + 1, val, sizeof(val), NULL) < 0)
			return api_err_set(err, 400, "invalid_request",
			    "field 'build_args': names of 1 to 127 bytes, "
			    "string values of at most 4095");
		jw_kv_str(&w, key, val);
	}
	jw_obj_close(&w);
	if (jw_finish(&w) < 0)
		return api_err_internal(err, -E2BIG);
	b->build_args = strbuf_detach(&sb, NULL);
	return b->build_args ? 0 : api_err_internal(err, -ENOMEM);
}

/* The request's fields into b and jr (limits). 0 or err. */
static int
parse_body(struct req *rq, struct image_build *b, struct job_request *jr,
    struct api_err *err)
{
	static const char *const keys[] = { "name", "context", "dockerfile",
		"memory_mb", "cpus", "timeout", "network", "build_args", NULL };
	const struct config_limits *lim = &rq->srv->limits;
	struct jr_doc *doc = NULL;
	char ref[IMAGE_NAME_MAX + IMAGE_TAG_MAX + 2], bad[64];
	char ctx[80] = "";
	int root, tok, r = 0;

	if (jr_parse(rq->body.buf, rq->body.len, 1024, &doc) < 0)
		return api_err_set(err, 400, "invalid_json",
		    "the body is not valid JSON");
	root = jr_root(doc);
	if (jr_type(doc, root) != JR_OBJECT) {
		r = api_err_set(err, 400, "invalid_json",
		    "the body must be a JSON object");
		goto done;
	}
	if (jr_obj_check_keys(doc, root, keys, bad, sizeof(bad)) < 0) {
		r = api_err_set(err, 400, "invalid_request",
		    "unknown or repeated field '%s'", bad);
		goto done;
	}
	if ((tok = jr_obj_get(doc, root, "name")) < 0 ||
	    jr_str(doc, tok, ref, sizeof(ref), NULL) < 0 ||
	    split_ref(ref, b->name, b->tag) < 0) {
		r = api_err_set(err, 400, "invalid_request",
		    "field 'name' must be NAME:TAG: a name of 1 to %d "
		    "characters [a-z0-9._-], a tag of 1 to %d [A-Za-z0-9_.-]",
		    IMAGE_NAME_MAX, IMAGE_TAG_MAX);
		goto done;
	}
	if ((tok = jr_obj_get(doc, root, "context")) < 0 ||
	    jr_str(doc, tok, ctx, sizeof(ctx), NULL) < 0 ||
	    !str_startswith(ctx, "sha256:") || strlen(ctx + 7) != 64 ||
	    strspn(ctx + 7, "0123456789abcdef") != 64) {
		r = api_err_set(err, 400, "invalid_request",
		    "field 'context' must be a blob digest "
		    "\"sha256:<64 lowercase hex>\"");
		goto done;
	}
	memcpy(b->context, ctx + 7, 65);
	(void) str_copy(b->dockerfile, sizeof(b->dockerfile), "Dockerfile");
	if ((tok = jr_obj_get(doc, root, "dockerfile")) >= 0 &&
	    (jr_str(doc, tok, b->dockerfile, sizeof(b->dockerfile), NULL) < 0 ||
		!b->dockerfile[0] || !member_ok(b->dockerfile) ||
		strcmp(dockerfile_member_name(b->dockerfile), b->dockerfile) !=
		    0)) {
		r = api_err_set(err, 400, "invalid_request",
		    "field 'dockerfile' must be a relative path in the "
		    "context (no '..', at most 256 bytes)");
		goto done;
	}
	if ((r = get_limit(doc, root, "memory_mb", lim->memory_default_mb,
		 lim->memory_max_mb, &jr->memory_mb, err)) < 0 ||
	    (r = get_limit(doc, root, "cpus", lim->cpus_default, lim->cpus_max,
		 &jr->cpus, err)) < 0 ||
	    (r = get_limit(doc, root, "timeout", lim->timeout_default_s,
		 lim->timeout_max_s, &jr->timeout_s, err)) < 0)
		goto done;
	if ((tok = jr_obj_get(doc, root, "network")) >= 0 &&
	    jr_bool(doc, tok, &jr->network) < 0) {
		r = api_err_set(err, 400, "invalid_request",
		    "field 'network' must be a boolean");
		goto done;
	}
	if (jr->network && !lim->network_allowed) {
		r = api_err_set(err, 400, "invalid_request",
		    "field 'network': this server allows no network");
		goto done;
	}
	if ((tok = jr_obj_get(doc, root, "build_args")) >= 0)
		r = parse_build_args(doc, tok, b, err);
done:
	doc = jr_free(doc);
	return r;
}

int
images_create(struct req *rq, struct api_err *err)
{
	const struct config_limits *lim = &rq->srv->limits;
	struct image_build b = { 0 };
	struct job_request jr = { 0 };
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	char path[4096], id[JC_ID_LEN + 1], jname[256];
	size_t len = 0;
	int r;

	if (!content_type_json(req_param(rq, "CONTENT_TYPE")))
		return api_err_set(err, 415, "unsupported_media_type",
		    "the body must be sent as Content-Type: application/json");
	if ((r = req_read_body(rq, err)) < 0)
		return r;
	if (!rq->srv->data_dir || !*rq->srv->data_dir)
		return api_err_set(err, 503, "unavailable",
		    "this server keeps no blobs (no [storage] data_dir), so it "
		    "builds no images");
	if ((r = parse_body(rq, &b, &jr, err)) < 0)
		goto out;
	if ((size_t) snprintf(path, sizeof(path), "%s/blobs/%lld/%s",
		rq->srv->data_dir, (long long) rq->consumer_id,
		b.context) >= sizeof(path)) {
		r = api_err_internal(err, -ENAMETOOLONG);
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = api_err_set(err, 400, "invalid_request",
		    "field 'context': this consumer has no blob sha256:%s "
		    "(upload it first: PUT /v1/blobs/sha256:%s)",
		    b.context, b.context);
		goto out;
	}
	if ((r = context_scan(fd, b.dockerfile, &text, &len, err)) < 0 ||
	    (r = check_bases(rq, text, len, &b, err)) < 0)
		goto out;
	(void) snprintf(b.daemon, sizeof(b.daemon), "jobcell/%lld/%s:%s",
	    (long long) rq->consumer_id, b.name, b.tag);
	(void) snprintf(jname, sizeof(jname), "image %s:%s", b.name, b.tag);
	jr.build = &b;
	(void) str_copy(jr.sandbox, sizeof(jr.sandbox), "docker");
	jr.pids = lim->pids_default;
	jr.disk_mb = lim->disk_default_mb;
	if (!(jr.name = strdup(jname)) ||
	    !(jr.inputs = calloc(1, sizeof(*jr.inputs))) ||
	    !(jr.inputs[0].path = strdup(""))) {
		r = api_err_internal(err, -ENOMEM);
		goto out;
	}
	jr.ninputs = 1;
	memcpy(jr.inputs[0].digest, b.context, sizeof(jr.inputs[0].digest));
	jr.inputs[0].tar = true;
	if ((r = jobs_store_request(rq, &jr, NULL, err, id, NULL)) < 0)
		goto out;
	r = jobs_reply_created(rq, id, false, err);
out:
	job_request_release(&jr);
	free(b.dockerfile_text);
	free(b.build_args);
	return r;
}

/* ---- the submission's transaction (jobs_writer.c) ---- */

int
images_check(sqlite3 *db, int64_t consumer_id, const struct job_request *jr,
    struct api_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	_cleanup_reset_ sqlite3_stmt *q = NULL;
	const struct image_build *b = jr->build;
	int r, rc;

	if (!b)
		return 0;
	if ((r = db_prepare_cached(db,
		 "SELECT deleted, image_id IS NULL AND " BUILD_PENDING
		 " FROM images WHERE consumer_id = ? AND name = ? AND tag = ?",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, b->name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, b->tag, -1, SQLITE_STATIC) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int(st, 0)) {
			(void) api_err_set(err, 409, "conflict",
			    "the image %s:%s is being removed; build it again "
			    "once it is gone",
			    b->name, b->tag);
			return 1;
		}
		if (sqlite3_column_int(st, 1)) {
			(void) api_err_set(err, 409, "conflict",
			    "the image %s:%s is being built already", b->name,
			    b->tag);
			return 1;
		}
		return 0; /* a rebuild: the count stays */
	}
	if (rc != SQLITE_DONE)
		return db_errno(rc);
	if ((r = db_prepare_cached(db,
		 "SELECT (SELECT COUNT(*) FROM images WHERE consumer_id = ?1), "
		 "max_images FROM consumers WHERE id = ?1",
		 &q)) < 0)
		return r;
	if (sqlite3_bind_int64(q, 1, consumer_id) != SQLITE_OK)
		return -EIO;
	if ((rc = sqlite3_step(q)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	if (sqlite3_column_int64(q, 0) >= sqlite3_column_int64(q, 1)) {
		(void) api_err_set(err, 429, "quota_exceeded",
		    "this consumer has %lld images, the most it may keep; "
		    "remove one first (DELETE /v1/images/NAME:TAG)",
		    (long long) sqlite3_column_int64(q, 0));
		err->retry_after_s = 60;
		return 1;
	}
	return 0;
}

int
images_store(sqlite3 *db, int64_t consumer_id, const char *job_id,
    const struct job_request *jr, int64_t now)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	_cleanup_reset_ sqlite3_stmt *k = NULL;
	const char *name = jr->build ? jr->build->name : jr->own_image[0];
	const char *tag = jr->build ? jr->build->tag : jr->own_image[1];
	int r, rc;

	if (!jr->build && !jr->own_image[0][0])
		return 0;
	if ((r = db_prepare_cached(db,
		 jr->build ?
		     "INSERT INTO images (consumer_id, name, tag, job_id, "
		     "created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, "
		     "?5) ON CONFLICT (consumer_id, name, tag) DO UPDATE SET "
		     "job_id = ?4" :
		     "UPDATE images SET last_used_at = ?5 WHERE consumer_id "
		     "= ?1 AND name = ?2 AND tag = ?3 AND ?4 IS NOT NULL",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, tag, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, job_id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, now) != SQLITE_OK)
		return -EIO;
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		return db_errno(rc);
	if (!jr->build)
		return 0;
	if ((r = db_prepare_cached(db,
		 "UPDATE jobs SET kind = 'image' WHERE id = ?", &k)) < 0)
		return r;
	if (sqlite3_bind_text(k, 1, job_id, -1, SQLITE_STATIC) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(k);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

int
images_cancel_queued(sqlite3 *db, const char *job_id)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "DELETE FROM images WHERE job_id = ? AND image_id IS NULL",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : db_errno(rc);
}

/* ---- GET and DELETE ---- */

int
images_list(struct req *rq, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf out;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct jw w;
	int r, rc;

	strbuf_init(&out, 1024 * 1024);
	if ((r = db_prepare_cached(rq->db,
		 "SELECT name, tag, image_id, size, created_at, last_used_at "
		 "FROM images WHERE consumer_id = ? AND image_id IS NOT NULL "
		 "AND deleted = 0 ORDER BY name, tag",
		 &st)) < 0)
		return api_err_internal(err, r);
	if (sqlite3_bind_int64(st, 1, rq->consumer_id) != SQLITE_OK)
		return api_err_internal(err, -EIO);
	jw_init(&w, &out);
	jw_obj_open(&w);
	jw_key(&w, "images");
	jw_arr_open(&w);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char t[40];

		jw_obj_open(&w);
		jw_kv_str(&w, "name",
		    (const char *) sqlite3_column_text(st, 0));
		jw_kv_str(&w, "tag", (const char *) sqlite3_column_text(st, 1));
		jw_kv_str(&w, "id", (const char *) sqlite3_column_text(st, 2));
		jw_kv_i64(&w, "size", sqlite3_column_int64(st, 3));
		if (time_format_rfc3339(sqlite3_column_int64(st, 4), t,
			sizeof(t)) >= 0)
			jw_kv_str(&w, "created_at", t);
		if (time_format_rfc3339(sqlite3_column_int64(st, 5), t,
			sizeof(t)) >= 0)
			jw_kv_str(&w, "last_used_at", t);
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

int
images_delete(struct req *rq, const char *ref, struct api_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	_cleanup_reset_ sqlite3_stmt *up = NULL;
	char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1];
	int r, rc;

	if (!ref || split_ref(ref, name, tag) < 0)
		return api_err_set(err, 404, "not_found", "no such image");
	if ((r = db_prepare_cached(rq->db,
		 "SELECT image_id IS NULL, " BUILD_PENDING " FROM images "
		 "WHERE consumer_id = ? AND name = ? AND tag = ? AND deleted = 0",
		 &st)) < 0)
		return api_err_internal(err, r);
	if (sqlite3_bind_int64(st, 1, rq->consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, tag, -1, SQLITE_STATIC) != SQLITE_OK)
		return api_err_internal(err, -EIO);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return api_err_set(err, 404, "not_found", "no such image");
	if (rc != SQLITE_ROW)
		return api_err_internal(err, db_errno(rc));
	if (sqlite3_column_int(st, 0) && !sqlite3_column_int(st, 1))
		return api_err_set(err, 404, "not_found", "no such image");
	if (sqlite3_column_int(st, 0))
		return api_err_set(err, 409, "conflict",
		    "the image %s:%s is being built; cancel its job first",
		    name, tag);
	/* The collector removes it from the daemon (a container that
	 * still uses it delays that, not this answer), then the row. */
	if ((r = db_prepare_cached(rq->db,
		 "UPDATE images SET deleted = 1 WHERE consumer_id = ? AND "
		 "name = ? AND tag = ? AND image_id IS NOT NULL",
		 &up)) < 0)
		return api_err_internal(err, r);
	if (sqlite3_bind_int64(up, 1, rq->consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(up, 2, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(up, 3, tag, -1, SQLITE_STATIC) != SQLITE_OK)
		return api_err_internal(err, -EIO);
	if ((rc = sqlite3_step(up)) != SQLITE_DONE)
		return api_err_internal(err, db_errno(rc));
	return reply_raw_header(rq, 204, NULL, NULL);
}
