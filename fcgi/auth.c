/* auth.c - the endpoint nginx's auth_request calls for every /v1 request.
 * Reads the presented key from Authorization: Bearer or X-API-Key, looks up
 * its key id and compares SHA-256(secret) in constant time. Answers 204 with
 * X-Jobcell-Consumer (which nginx copies into the JOBCELL_CONSUMER param),
 * 401 or 403. With JOBCELL_AUTH=optional (/v1/health) no key at all is
 * 204 without a consumer; a key that is wrong is still 401, so it passes
 * nginx's failed-auth throttle like any other. Never logs a key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "parse.h"
#include "banned.h"

/* The key text the client presented, or NULL. */
static const char *
presented_key(const struct req *rq)
{
	const char *h = req_param(rq, "HTTP_AUTHORIZATION");

	if (h) {
		if (strncasecmp(h, "Bearer ", 7) != 0)
			return NULL;
		h += 7;
		while (*h == ' ')
			h++;
		return h;
	}
	return req_param(rq, "HTTP_X_API_KEY");
}

/* 1 ok (ret_id set), 0 unknown or wrong key, 2 disabled, <0 -errno. */
static int
check_key(struct req *rq, const char *text, int64_t *ret_id)
{
	static const unsigned char dummy[KEY_HASH_LEN];
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	unsigned char hash[KEY_HASH_LEN];
	struct api_key k;
	bool match;
	int r, rc;

	if (key_parse(text, &k) < 0)
		return 0;
	r = key_hash(k.secret, hash);
	key_wipe(&k);
	if (r < 0)
		return r;
	if ((r = key_parse(text, &k)) < 0)
		return 0;
	r = db_prepare_cached(rq->db, "SELECT id, key_hash, disabled FROM consumers "
	    "WHERE key_id = ?", &st);
	if (r < 0)
		goto out;
	if (sqlite3_bind_text(st, 1, k.id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		r = -EIO;
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		/* Compare anyway, so an unknown id costs the same time. */
		(void) key_hash_equal(hash, dummy);
		r = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = db_errno(rc);
		goto out;
	}
	match = sqlite3_column_bytes(st, 1) == KEY_HASH_LEN &&
	    key_hash_equal(hash, sqlite3_column_blob(st, 1));
	if (!match) {
		r = 0;
		goto out;
	}
	*ret_id = sqlite3_column_int64(st, 0);
	r = sqlite3_column_int(st, 2) ? 2 : 1;
out:
	key_wipe(&k);
	explicit_bzero(hash, sizeof(hash));
	return r;
}

int
auth_handle(struct req *rq, bool optional)
{
	const char *text = presented_key(rq);
	char hdr[64];
	int64_t id = 0;
	int r;

	if (!text && optional && !req_param(rq, "HTTP_AUTHORIZATION"))
		return reply_raw_header(rq, 204, NULL, NULL);
	r = text ? check_key(rq, text, &id) : 0;
	if (r < 0) {
		log_errno(r, "auth: cannot check a key");
		return reply_raw_header(rq, 503, NULL, NULL);
	}
	if (r == 0)
		return reply_raw_header(rq, 401, NULL, NULL);
	if (r == 2)
		return reply_raw_header(rq, 403, NULL, NULL);
	(void) snprintf(hdr, sizeof(hdr), "X-Jobcell-Consumer: %lld\r\n",
	    (long long) id);
	return reply_raw_header(rq, 204, NULL, hdr);
}
