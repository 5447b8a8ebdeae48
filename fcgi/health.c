/* health.c - GET /v1/health: a key is optional. To anyone it says whether
 * the service is up (status, version, whether the database answers) and
 * which sandboxes a live supervisor runs now (docker only while its daemon
 * answers: the supervisor pings it with every heartbeat); how busy it is
 * (worker slots alive and busy) only to a caller nginx authenticated
 * (JOBCELL_CONSUMER set: issue 12, section 6). */
#include <errno.h>
#include <string.h>

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

/* The value of word "name=N" in a supervisor's sandboxes list, or 0. */
static int64_t
sandboxes_word(const char *list, const char *name)
{
	size_t n = strlen(name);
	int64_t v;

	for (const char *p = list; p && *p;) {
		size_t w;
		char num[24];

		p += strspn(p, " ");
		w = strcspn(p, " ");
		if (w > n + 1 && w - n - 1 < sizeof(num) &&
		    memcmp(p, name, n) == 0 && p[n] == '=') {
			memcpy(num, p + n + 1, w - n - 1);
			num[w - n - 1] = '\0';
			return parse_i64(num, 0, INT32_MAX, &v) == 0 ? v : 0;
		}
		p += w;
	}
	return 0;
}

/* The swarm as the live supervisors that reach it say: nodes (the
 * largest count seen: they share one swarm) and swarm slots (summed).
 * 1 if any reaches it, 0 if none, -errno. */
static int
health_swarm(sqlite3 *db, int64_t *ret_nodes, int64_t *ret_slots)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int64_t nodes = 0, slots = 0;
	bool any = false;
	int r;

	if ((r = db_prepare_cached(db,
		 "SELECT sandboxes FROM supervisors "
		 "WHERE heartbeat_at > ?1 AND "
		 "instr(' ' || sandboxes || ' ', ' swarm ') > 0",
		 &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, time_now_ms() - HEALTH_HEARTBEAT_MS) !=
	    SQLITE_OK)
		return -EIO;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *list = (const char *) sqlite3_column_text(st, 0);
		int64_t n = sandboxes_word(list, "swarm-nodes");

		any = true;
		nodes = n > nodes ? n : nodes;
		slots += sandboxes_word(list, "swarm-slots");
	}
	if (r != SQLITE_DONE)
		return db_errno(r);
	*ret_nodes = nodes;
	*ret_slots = slots;
	return any;
}

int
health_handle(struct req *rq, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf sb;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	const char *consumer = req_param(rq, "JOBCELL_CONSUMER");
	int64_t slots = 0, busy = 0, id, swarm_nodes = 0, swarm_slots = 0;
	bool db_ok = false, docker = false, swarm = false, detail;
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
	if (db_ok) {
		docker = health_sandbox_live(rq->db, "docker") == 1;
		swarm = health_swarm(rq->db, &swarm_nodes, &swarm_slots) == 1;
	}
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
	if (swarm)
		jw_str(&w, "swarm");
	jw_arr_close(&w);
	/* The swarm backend: its manager answers; how many nodes it has (and,
	 * to a caller with a key, its slots). */
	if (swarm) {
		jw_key(&w, "swarm");
		jw_obj_open(&w);
		jw_kv_str(&w, "status", "ok");
		jw_kv_i64(&w, "nodes", swarm_nodes);
		if (detail)
			jw_kv_i64(&w, "slots", swarm_slots);
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0)
		return api_err_internal(err, r);
	return reply_json(rq, db_ok ? 200 : 503, NULL, &sb);
}
