/* blobs.c - PUT and HEAD /v1/blobs/sha256:{hex} (issue 13). nginx writes an
 * upload's body to a file in DATA/uploads itself (client_body_in_file_only)
 * and passes only its path as JOBCELL_BODY_FILE: the bytes never cross
 * FastCGI. Here the file is hashed through one bounded buffer, checked
 * against the digest in the path, and renamed (same filesystem) to
 * DATA/blobs/<consumer id>/<hex> with its row, under the write lock so
 * that parallel uploads of one blob and the garbage collector (lib/gc.c,
 * which moves a blob's file aside under the same lock) see one order.
 * Trusts the consumer id and the file path only from nginx's params. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "blob.h"
#include "db.h"
#include "log.h"
#include "timefmt.h"
#include "banned.h"

#define MIB (1024 * 1024)

static int
no_data_dir(struct api_err *err)
{
	return api_err_set(err, 503, "unavailable",
	    "this server stores no "
	    "blobs: it has no data directory ([storage] data_dir)");
}

static int
reply_blob(struct req *rq, int status, const char *hex, int64_t size)
{
	_cleanup_strbuf_ struct strbuf sb;
	char digest[sizeof(BLOB_DIGEST_PREFIX) + BLOB_HEX_LEN];
	struct jw w;
	int r;

	(void) snprintf(digest, sizeof(digest), BLOB_DIGEST_PREFIX "%s", hex);
	strbuf_init(&sb, 256);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "digest", digest);
	jw_kv_i64(&w, "size", size);
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0)
		return r;
	return reply_json(rq, status, NULL, &sb);
}

/* 0 and the size if this consumer has the blob (touching last_used_at
 * when touch), -ENOENT if not, -errno. */
static int
blob_row(sqlite3 *db, int64_t consumer_id, const char *hex, int64_t now,
    bool touch, int64_t *ret_size)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "SELECT size FROM blobs WHERE "
		 "consumer_id = ? AND digest = ?",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_errno(rc);
	*ret_size = sqlite3_column_int64(st, 0);
	if (!touch)
		return 0;
	cleanup_resetp(&st);
	st = NULL;
	{
		_cleanup_reset_ sqlite3_stmt *up = NULL;

		if ((r = db_prepare_cached(db,
			 "UPDATE blobs SET "
			 "last_used_at = ? WHERE consumer_id = ? AND digest = ?",
			 &up)) < 0)
			return r;
		if (sqlite3_bind_int64(up, 1, now) != SQLITE_OK ||
		    sqlite3_bind_int64(up, 2, consumer_id) != SQLITE_OK ||
		    sqlite3_bind_text(up, 3, hex, -1, SQLITE_STATIC) !=
			SQLITE_OK)
			return -EIO;
		rc = sqlite3_step(up);
		if (rc != SQLITE_DONE)
			return db_errno(rc);
	}
	return 0;
}

/* Inside the write transaction: 0 if size more bytes fit the consumer's
 * max_storage_mb, 1 with err set (429) if not, -errno. */
static int
storage_check(sqlite3 *db, int64_t consumer_id, int64_t size,
    const struct api_server *srv, struct api_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t max_mb, used;
	int r, rc;

	if ((r = db_prepare_cached(db,
		 "SELECT max_storage_mb, storage_bytes "
		 "FROM consumers WHERE id = ?",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, consumer_id) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : db_errno(rc);
	max_mb = sqlite3_column_int64(st, 0);
	used = sqlite3_column_int64(st, 1);
	if (used <= max_mb * MIB && size <= max_mb * MIB - used)
		return 0;
	api_err_set(err, 429, "quota_exceeded",
	    "this blob (%" PRId64
	    " bytes) does not fit the storage quota: %" PRId64 " of %" PRId64
	    " MiB used",
	    size, (used + MIB - 1) / MIB, max_mb);
	err->retry_after_s = srv->retry_storage_s;
	return 1;
}

/* Renames the checked body file into the store and inserts its row, in one
 * write transaction. 201, 200 (this consumer has it already: the body file
 * is dropped), 429 with err, or -errno. */
static int
blob_store(struct req *rq, const char *body_path, const char *hex, int64_t size,
    struct api_err *err)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char dir[CONFIG_PATH_MAX + 64], final[CONFIG_PATH_MAX + 160];
	int64_t now = time_now_ms(), have = 0;
	bool renamed = false;
	int r, rc;

	if ((r = blob_path(rq->srv->data_dir, rq->consumer_id, NULL, dir,
		 sizeof(dir))) < 0 ||
	    (r = blob_path(rq->srv->data_dir, rq->consumer_id, hex, final,
		 sizeof(final))) < 0)
		return r;
	if ((r = db_exec_cached(rq->db, "BEGIN IMMEDIATE")) < 0)
		return r;
	r = blob_row(rq->db, rq->consumer_id, hex, now, true, &have);
	if (r == 0) {
		if ((r = db_exec_cached(rq->db, "COMMIT")) < 0)
			goto fail;
		(void) unlink(body_path); /* nginx's cleanup would too */
		return 200;
	}
	if (r != -ENOENT)
		goto fail;
	if ((r = storage_check(rq->db, rq->consumer_id, size, rq->srv, err)) !=
	    0)
		goto fail;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		r = log_errno(-errno,
		    "consumer=%" PRId64 ": cannot create "
		    "'%s'",
		    rq->consumer_id, dir);
		goto fail;
	}
	if (rename(body_path, final) < 0) {
		r = log_errno(-errno,
		    "consumer=%" PRId64 ": cannot move the "
		    "upload to '%s' (DATA/uploads and DATA/blobs must be one "
		    "filesystem)",
		    rq->consumer_id, final);
		goto fail;
	}
	renamed = true;
	if ((r = db_prepare_cached(rq->db,
		 "INSERT INTO blobs (consumer_id, "
		 "digest, size, created_at, last_used_at) VALUES (?, ?, ?, ?, ?)",
		 &st)) < 0)
		goto fail;
	if (sqlite3_bind_int64(st, 1, rq->consumer_id) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, size) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, now) != SQLITE_OK) {
		r = -EIO;
		goto fail;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		r = db_errno(rc);
		goto fail;
	}
	if ((r = db_exec_cached(rq->db, "COMMIT")) < 0)
		goto fail;
	return 201;
fail:
	(void) db_exec_cached(rq->db, "ROLLBACK");
	/* No row: the file must not stay (it would be an orphan until the
	 * collector's orphan pass). Nothing else can have it: its row is
	 * inserted only under the lock we held. */
	if (renamed)
		(void) unlink(final);
	return r;
}

/* The body file nginx wrote: opened without following links, and only if
 * it is a regular file directly in DATA/uploads. */
static int
body_open(struct req *rq, const char *path, struct api_err *err)
{
	char uploads[CONFIG_PATH_MAX + 16];
	int fd;

	(void) snprintf(uploads, sizeof(uploads), "%s/uploads",
	    rq->srv->data_dir);
	if (!path || !*path) {
		log_warn("consumer=%" PRId64 ": PUT of a blob without "
			 "JOBCELL_BODY_FILE: nginx's blob location is missing",
		    rq->consumer_id);
		return api_err_set(err, 503, "unavailable",
		    "uploads are not "
		    "set up on this server (nginx passes no body file)");
	}
	if (blob_path_in_dir(uploads, path) < 0) {
		log_warn("consumer=%" PRId64 ": body file '%s' is not in '%s': "
			 "client_body_temp_path must be DATA/uploads",
		    rq->consumer_id, path, uploads);
		return api_err_set(err, 503, "unavailable",
		    "uploads are not "
		    "set up on this server (the body file is elsewhere)");
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return log_errno(-errno,
		    "consumer=%" PRId64 ": cannot open "
		    "the body file '%s'",
		    rq->consumer_id, path);
	return fd;
}

int
blobs_put(struct req *rq, const char *hex, struct api_err *err)
{
	_cleanup_close_ int fd = -1;
	const char *path = req_param(rq, "JOBCELL_BODY_FILE");
	char got[BLOB_HEX_LEN + 1];
	int64_t size = 0, max = rq->srv->max_blob_mb * MIB;
	struct stat stt;
	int r;

	if (!rq->srv->data_dir || !*rq->srv->data_dir)
		return no_data_dir(err);
	if (blob_hex_check(hex) < 0)
		return api_err_set(err, 400, "invalid_request",
		    "the digest "
		    "'sha256:%.64s' must be 64 lowercase hex digits",
		    hex);
	if ((fd = body_open(rq, path, err)) < 0)
		return fd;
	if (fstat(fd, &stt) < 0)
		return -errno;
	if (!S_ISREG(stt.st_mode))
		return -EINVAL;
	/* nginx's client_max_body_size should have refused it already. */
	if (stt.st_size > max)
		return api_err_set(err, 413, "payload_too_large",
		    "the blob is "
		    "larger than this server's %" PRId64 " MiB (max_blob_mb)",
		    rq->srv->max_blob_mb);
	if ((r = blob_sha256_fd(fd, got, &size)) < 0)
		return log_errno(r, "consumer=%" PRId64 ": cannot hash '%s'",
		    rq->consumer_id, path);
	if (strcmp(got, hex) != 0)
		return api_err_set(err, 400, "invalid_request",
		    "the body's "
		    "digest is sha256:%s, not sha256:%s as the path says",
		    got, hex);
	r = blob_store(rq, path, hex, size, err);
	if (r == 201 || r == 200)
		return reply_blob(rq, r, hex, size);
	if (r == 1)
		return -EINVAL; /* err set: 429 */
	return r;
}

int
blobs_head(struct req *rq, const char *hex, struct api_err *err)
{
	int64_t size = 0;
	int r;

	if (!rq->srv->data_dir || !*rq->srv->data_dir)
		return no_data_dir(err);
	if (blob_hex_check(hex) < 0)
		return api_err_set(err, 404, "not_found", "no such blob");
	/* A hit counts as a use: the client is about to name it in a job. */
	if ((r = db_exec_cached(rq->db, "BEGIN IMMEDIATE")) < 0)
		return r;
	r = blob_row(rq->db, rq->consumer_id, hex, time_now_ms(), true, &size);
	if (r == 0)
		r = db_exec_cached(rq->db, "COMMIT");
	if (r < 0) {
		(void) db_exec_cached(rq->db, "ROLLBACK");
		if (r == -ENOENT)
			return api_err_set(err, 404, "not_found",
			    "no such blob");
		return r;
	}
	return reply_blob(rq, 200, hex, size);
}
