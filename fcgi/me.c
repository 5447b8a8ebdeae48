/* me.c - GET /v1/me: the calling consumer, its limits and its usage
 * (running, queued, today, and storage: logs + blobs + artifacts). */
#include <errno.h>

#include "api.h"
#include "db.h"
#include "timefmt.h"
#include "banned.h"

int
me_handle(struct req *rq, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf sb;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t day_start = time_now_ms() / 86400000 * 86400000;
	struct jw w;
	int r, rc;

	strbuf_init(&sb, 4096);
	r = db_prepare_cached(rq->db,
	    "SELECT name, max_concurrent, max_per_day, "
	    "max_queued, "
	    "(SELECT COUNT(*) FROM jobs WHERE consumer_id = c.id AND "
	    " status = 'running'), "
	    "queued, CASE WHEN day_start = ? THEN day_count ELSE 0 END, "
	    "max_storage_mb, storage_bytes FROM consumers c WHERE id = ?",
	    &st);
	if (r < 0)
		return api_err_internal(err, r);
	if (sqlite3_bind_int64(st, 1, day_start) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, rq->consumer_id) != SQLITE_OK)
		return api_err_internal(err, -EIO);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return api_err_set(err, 401, "unauthorized",
		    "a valid API key is required");
	if (rc != SQLITE_ROW)
		return api_err_internal(err, db_errno(rc));
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "name", (const char *) sqlite3_column_text(st, 0));
	jw_key(&w, "limits");
	jw_obj_open(&w);
	jw_kv_i64(&w, "max_concurrent", sqlite3_column_int64(st, 1));
	jw_kv_i64(&w, "max_per_day", sqlite3_column_int64(st, 2));
	jw_kv_i64(&w, "max_queued", sqlite3_column_int64(st, 3));
	jw_kv_i64(&w, "max_storage_mb", sqlite3_column_int64(st, 7));
	jw_obj_close(&w);
	jw_key(&w, "usage");
	jw_obj_open(&w);
	jw_kv_i64(&w, "running", sqlite3_column_int64(st, 4));
	jw_kv_i64(&w, "queued", sqlite3_column_int64(st, 5));
	jw_kv_i64(&w, "today", sqlite3_column_int64(st, 6));
	/* Logs + blobs + artifacts, MiB rounded up (a byte stored shows). */
	jw_kv_i64(&w, "storage_mb",
	    (sqlite3_column_int64(st, 8) + 1024 * 1024 - 1) / (1024 * 1024));
	jw_kv_i64(&w, "storage_bytes", sqlite3_column_int64(st, 8));
	jw_obj_close(&w);
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0)
		return api_err_internal(err, r);
	return reply_json(rq, 200, NULL, &sb);
}
