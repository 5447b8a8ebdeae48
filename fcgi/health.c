/* health.c - GET /v1/health: a key is optional. To anyone it says whether
 * the service is up (status, version, whether the database answers) and
 * which sandboxes a live supervisor runs now (docker only while its daemon
 * answers: the supervisor pings it with every heartbeat); how busy it is
 * (worker slots alive and busy) only to a caller nginx authenticated
 * (JOBCELL_CONSUMER set: issue 12, section 6). */
#include <errno.h>

#include "api.h"
#include "db.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

/* A supervisor counts as alive if it wrote a heartbeat this recently. */
#define HEALTH_HEARTBEAT_MS 15000

int
health_sandbox_live(sqlite3 *db, const char *name)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare_cached(db, "SELECT EXISTS (SELECT 1 FROM supervisors "
	    "WHERE heartbeat_at > ?1 AND "
	    "instr(' ' || sandboxes || ' ', ' ' || ?2 || ' ') > 0)", &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, time_now_ms() - HEALTH_HEARTBEAT_MS) !=
	    SQLITE_OK || sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) !=
	    SQLITE_OK)
		return -EIO;
	if ((r = sqlite3_step(st)) != SQLITE_ROW)
		return db_errno(r);
	return sqlite3_column_int(st, 0) != 0;
}

int
health_handle(struct req *rq, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf sb;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	const char *consumer = req_param(rq, "JOBCELL_CONSUMER");
	int64_t slots = 0, busy = 0, id;
	bool db_ok = false, docker = false, detail;
	struct jw w;
	int r;

	strbuf_init(&sb, 4096);
	detail = consumer && parse_i64(consumer, 1, INT64_MAX, &id) == 0;
	r = db_prepare_cached(rq->db, "SELECT "
	    "(SELECT COALESCE(SUM(slots), 0) FROM supervisors "
	    " WHERE heartbeat_at > ?), "
	    "(SELECT COUNT(*) FROM jobs WHERE status = 'running')", &st);
	if (r >= 0 && sqlite3_bind_int64(st, 1, time_now_ms() -
	    HEALTH_HEARTBEAT_MS) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		slots = sqlite3_column_int64(st, 0);
		busy = sqlite3_column_int64(st, 1);
		db_ok = true;
	} else
		log_warn("health: database check failed: %s",
		    sqlite3_errmsg(rq->db));
	if (db_ok)
		docker = health_sandbox_live(rq->db, "docker") == 1;
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "status", db_ok ? "ok" : "degraded");
	jw_kv_str(&w, "version", PACKAGE_VERSION);
	jw_kv_str(&w, "db", db_ok ? "ok" : "error");
	if (detail) {
		jw_key(&w, "workers");
		jw_obj_open(&w);
		jw_kv_i64(&w, "slots", slots);
		jw_kv_i64(&w, "busy", busy);
		jw_obj_close(&w);
	}
	jw_key(&w, "sandboxes");
	jw_arr_open(&w);
	jw_str(&w, "namespace");
	if (docker)
		jw_str(&w, "docker");
	jw_arr_close(&w);
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0)
		return api_err_internal(err, r);
	return reply_json(rq, db_ok ? 200 : 503, NULL, &sb);
}
