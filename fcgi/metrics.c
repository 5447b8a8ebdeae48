/* metrics.c - GET /metrics: the Prometheus text exposition (format 0.0.4)
 * of jobcell-api. Runs on an API thread; nginx serves the path only from
 * where the operator allows (loopback by default), never under /v1 and
 * never with a consumer's identity.
 *
 * Two kinds of numbers: request counters this process keeps (lock-free
 * atomics, bumped by dispatch() in main.c through metrics_request_begin()
 * and metrics_request_end()), and the state of the service read from the
 * database at scrape time in one read transaction (jobs by status and
 * sandbox, queue depth per consumer, duration and claim-latency
 * histograms of the jobs retention keeps, cell start failures, database
 * and WAL size, stored output). Label values come from closed sets (route
 * names, statuses, sandboxes) or are bounded (the METRICS_TOP_CONSUMERS
 * longest queues by name, the rest summed under consumer="(other)"), so a
 * scrape stays small whatever the load. docs/operations.md lists every
 * metric. */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "db.h"
#include "log.h"
#include "timefmt.h"
#include "banned.h"

#define METRICS_MAX_BYTES	(256 * 1024)
#define METRICS_TOP_CONSUMERS	20
#define METRICS_HEARTBEAT_MS	15000	/* as health.c: a live supervisor */

/* Statuses counted one by one; anything else is "other". */
static const int known_status[] = {
	200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503,
};
#define N_STATUS (ARRAY_SIZE(known_status) + 1)

static const char *const route_names[METRICS_ROUTES] = {
	[ROUTE_HEALTH] = "health",
	[ROUTE_ME] = "me",
	[ROUTE_JOBS_CREATE] = "jobs_create",
	[ROUTE_JOBS_LIST] = "jobs_list",
	[ROUTE_RUN] = "run",
	[ROUTE_JOB_GET] = "job_get",
	[ROUTE_JOB_CANCEL] = "job_cancel",
	[ROUTE_JOB_LOGS] = "job_logs",
	[ROUTE_JOB_OUTPUT] = "job_output",
	[ROUTE_BLOB_PUT] = "blob_put",
	[ROUTE_BLOB_HEAD] = "blob_head",
	[ROUTE_JOB_ARTIFACTS] = "job_artifacts",
	[ROUTE_JOB_ARTIFACT] = "job_artifact",
	[ROUTE_RUNTIMES] = "runtimes",
	[ROUTE_IMAGES_CREATE] = "images_create",
	[ROUTE_IMAGES_LIST] = "images_list",
	[ROUTE_IMAGE_DELETE] = "image_delete",
	[ROUTE_PISTON_RUNTIMES] = "piston_runtimes",
	[ROUTE_PISTON_EXECUTE] = "piston_execute",
	[ROUTE_METRICS] = "metrics",
	[METRICS_ROUTE_AUTH] = "auth",
	[METRICS_ROUTE_NONE] = "none",
};

static atomic_uint_fast64_t requests[METRICS_ROUTES][N_STATUS];
static atomic_int in_flight[METRICS_ROUTES];


/* Upper bounds in ms; +Inf is implicit. */
static const int64_t duration_le_ms[] = {
	100, 500, 1000, 5000, 10000, 30000, 60000, 300000, 1800000,
};
static const int64_t claim_le_ms[] = {
	5, 10, 50, 100, 500, 1000, 5000, 30000, 300000,
};

static size_t
status_slot(int status)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_status); i++)
		if (known_status[i] == status)
			return i;
	return N_STATUS - 1;
}

static int
route_slot(int route)
{
	return route >= 0 && route < METRICS_ROUTES ? route : METRICS_ROUTE_NONE;
}

void
metrics_request_begin(int route)
{
	atomic_fetch_add(&in_flight[route_slot(route)], 1);
}

void
metrics_request_end(int route, int status)
{
	int r = route_slot(route);

	atomic_fetch_sub(&in_flight[r], 1);
	atomic_fetch_add(&requests[r][status_slot(status)], 1);
}

static void
put_help(struct strbuf *sb, const char *name, const char *type,
    const char *help)
{
	(void) strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
put_api_counters(struct strbuf *sb)
{
	put_help(sb, "jobcell_api_requests_total", "counter",
	    "Requests answered by jobcell-api since it started, by route and "
	    "HTTP status.");
	for (int r = 0; r < METRICS_ROUTES; r++)
		for (size_t s = 0; s < N_STATUS; s++) {
			uint64_t n = atomic_load(&requests[r][s]);
			char code[8] = "other";

			if (n == 0)
				continue;
			if (s < ARRAY_SIZE(known_status))
				(void) snprintf(code, sizeof(code), "%d",
				    known_status[s]);
			(void) strbuf_addf(sb, "jobcell_api_requests_total{route="
			    "\"%s\",code=\"%s\"} %" PRIu64 "\n", route_names[r],
			    code, n);
		}
	put_help(sb, "jobcell_api_requests_in_flight", "gauge",
	    "Requests an API thread is answering now, by route (a parked "
	    "request is counted by jobcell_api_parked instead).");
	for (int r = 0; r < METRICS_ROUTES; r++)
		(void) strbuf_addf(sb, "jobcell_api_requests_in_flight{route="
		    "\"%s\"} %d\n", route_names[r], atomic_load(&in_flight[r]));
	put_help(sb, "jobcell_api_parked", "gauge",
	    "Requests parked until their job moves, holding no thread: "
	    "kind=\"run\" waiting POST /v1/run calls, kind=\"stream\" open log "
	    "follow streams.");
	(void) strbuf_addf(sb, "jobcell_api_parked{kind=\"run\"} %d\n"
	    "jobcell_api_parked{kind=\"stream\"} %d\n", park_count(PARK_RUN),
	    park_count(PARK_STREAM));
}

static int
put_jobs(sqlite3 *db, struct strbuf *sb)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int64_t ns[JOB_STATUS_COUNT] = { 0 };
	int r;

	put_help(sb, "jobcell_jobs", "gauge",
	    "Jobs in the database (retention bounds the finished ones), by "
	    "status and sandbox.");
	if ((r = db_prepare(db, "SELECT status, sandbox, COUNT(*) FROM jobs "
	    "GROUP BY status, sandbox ORDER BY status, sandbox", &st)) < 0)
		return r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *status = (const char *) sqlite3_column_text(st, 0);
		const char *sandbox = (const char *) sqlite3_column_text(st, 1);
		int64_t n = sqlite3_column_int64(st, 2);
		enum job_status s;

		if (!status || !sandbox)
			continue;
		/* A sandbox name is one of ours, checked on submit. */
		(void) strbuf_addf(sb, "jobcell_jobs{status=\"%s\",sandbox="
		    "\"%s\"} %" PRId64 "\n", status, sandbox, n);
		if (job_status_from_string(status, &s) == 0)
			ns[s] += n;
	}
	if (r != SQLITE_DONE)
		return db_errno(r);
	put_help(sb, "jobcell_jobs_by_status", "gauge",
	    "Jobs in the database by status, every status listed.");
	for (unsigned i = 0; i < JOB_STATUS_COUNT; i++)
		(void) strbuf_addf(sb, "jobcell_jobs_by_status{status=\"%s\"} %"
		    PRId64 "\n", job_status_to_string((enum job_status) i),
		    ns[i]);
	return 0;
}

/* Consumer names are [A-Za-z0-9_.-] (jobcell-admin checks them); escape
 * anyway, as the exposition format asks (\\, \", \n). */
static void
put_label_value(struct strbuf *sb, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			(void) strbuf_addch(sb, '\\');
		if (*v == '\n') {
			(void) strbuf_addstr(sb, "\\n");
			continue;
		}
		(void) strbuf_addch(sb, *v);
	}
}

static int
put_queues(sqlite3 *db, struct strbuf *sb)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int64_t other = 0;
	int r, i = 0;

	put_help(sb, "jobcell_queue_depth", "gauge",
	    "Queued jobs of the consumers with the longest queues (at most "
	    "20, by name); consumer=\"(other)\" sums the rest.");
	if ((r = db_prepare(db, "SELECT name, queued FROM consumers "
	    "WHERE queued > 0 ORDER BY queued DESC, name", &st)) < 0)
		return r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *) sqlite3_column_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);

		if (i++ >= METRICS_TOP_CONSUMERS || !name) {
			other += n;
			continue;
		}
		(void) strbuf_addstr(sb, "jobcell_queue_depth{consumer=\"");
		put_label_value(sb, name);
		(void) strbuf_addf(sb, "\"} %" PRId64 "\n", n);
	}
	if (r != SQLITE_DONE)
		return db_errno(r);
	(void) strbuf_addf(sb, "jobcell_queue_depth{consumer=\"(other)\"} %"
	    PRId64 "\n", other);
	return 0;
}

/* One histogram over jobs whose [from, to] columns are both set: a single
 * scan with one SUM per bucket. The SQL is built from constants only. */
static int
put_histogram(sqlite3 *db, struct strbuf *sb, const char *name,
    const char *help, const char *from, const char *to,
    const int64_t *le_ms, size_t n_le)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_strbuf_ struct strbuf sql;
	int r;

	strbuf_init(&sql, 4096);
	(void) strbuf_addf(&sql, "SELECT COUNT(*), COALESCE(SUM(%s - %s), 0)",
	    to, from);
	for (size_t i = 0; i < n_le; i++)
		(void) strbuf_addf(&sql, ", COALESCE(SUM(%s - %s <= %" PRId64
		    "), 0)", to, from, le_ms[i]);
	if ((r = strbuf_addf(&sql, " FROM jobs WHERE %s IS NOT NULL AND %s IS "
	    "NOT NULL", from, to)) < 0)
		return r;
	if ((r = db_prepare(db, sql.buf, &st)) < 0)
		return r;
	if ((r = sqlite3_step(st)) != SQLITE_ROW)
		return db_errno(r);
	put_help(sb, name, "histogram", help);
	for (size_t i = 0; i < n_le; i++)
		(void) strbuf_addf(sb, "%s_bucket{le=\"%g\"} %" PRId64 "\n", name,
		    (double) le_ms[i] / 1000.0, (int64_t) sqlite3_column_int64(st,
		    (int) i + 2));
	(void) strbuf_addf(sb, "%s_bucket{le=\"+Inf\"} %" PRId64 "\n", name,
	    (int64_t) sqlite3_column_int64(st, 0));
	(void) strbuf_addf(sb, "%s_sum %.3f\n", name,
	    (double) sqlite3_column_int64(st, 1) / 1000.0);
	(void) strbuf_addf(sb, "%s_count %" PRId64 "\n", name,
	    (int64_t) sqlite3_column_int64(st, 0));
	return 0;
}

static int
put_scalars(sqlite3 *db, struct strbuf *sb)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db, "SELECT "
	    "(SELECT COUNT(*) FROM jobs WHERE status = 'error' AND "
	    " error LIKE 'the cell could not be built%'), "
	    "(SELECT COUNT(*) FROM jobs WHERE status = 'error' AND "
	    " error = 'worker lost'), "
	    "(SELECT COALESCE(SUM(log_bytes), 0) FROM jobs), "
	    "(SELECT COALESCE(SUM(slots), 0) FROM supervisors "
	    " WHERE heartbeat_at > ?1), "
	    "(SELECT COUNT(*) FROM consumers)", &st)) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, time_now_ms() - METRICS_HEARTBEAT_MS) !=
	    SQLITE_OK)
		return -EIO;
	if ((r = sqlite3_step(st)) != SQLITE_ROW)
		return db_errno(r);
	put_help(sb, "jobcell_cell_start_failures", "gauge",
	    "Jobs in the database that ended error because their cell could "
	    "not be built.");
	(void) strbuf_addf(sb, "jobcell_cell_start_failures %" PRId64 "\n",
	    (int64_t) sqlite3_column_int64(st, 0));
	put_help(sb, "jobcell_jobs_worker_lost", "gauge",
	    "Jobs in the database that ended error because their worker was "
	    "lost.");
	(void) strbuf_addf(sb, "jobcell_jobs_worker_lost %" PRId64 "\n",
	    (int64_t) sqlite3_column_int64(st, 1));
	put_help(sb, "jobcell_storage_used_bytes", "gauge",
	    "Stored job output (logs), in bytes.");
	(void) strbuf_addf(sb, "jobcell_storage_used_bytes{kind=\"logs\"} %"
	    PRId64 "\n", (int64_t) sqlite3_column_int64(st, 2));
	put_help(sb, "jobcell_worker_slots", "gauge",
	    "Job slots of the live jobcell-worker supervisors.");
	(void) strbuf_addf(sb, "jobcell_worker_slots %" PRId64 "\n",
	    (int64_t) sqlite3_column_int64(st, 3));
	put_help(sb, "jobcell_consumers", "gauge", "Consumers in the database.");
	(void) strbuf_addf(sb, "jobcell_consumers %" PRId64 "\n",
	    (int64_t) sqlite3_column_int64(st, 4));
	return 0;
}

static void
put_file_size(struct strbuf *sb, const char *name, const char *help,
    const char *path, const char *suffix)
{
	char p[CONFIG_PATH_MAX + 8];
	struct stat s;
	int n;

	n = snprintf(p, sizeof(p), "%s%s", path, suffix);
	if (n < 0 || (size_t) n >= sizeof(p))
		return;
	put_help(sb, name, "gauge", help);
	/* No -wal file (no connection open, or a fresh checkpoint): 0. */
	(void) strbuf_addf(sb, "%s %lld\n", name,
	    stat(p, &s) == 0 ? (long long) s.st_size : 0LL);
}

static int
put_db(struct req *rq, struct strbuf *sb)
{
	int r;

	/* One snapshot for all the queries. */
	if ((r = db_exec(rq->db, "BEGIN")) < 0)
		return r;
	if ((r = put_jobs(rq->db, sb)) >= 0 && (r = put_queues(rq->db, sb)) >= 0 &&
	    (r = put_histogram(rq->db, sb, "jobcell_job_duration_seconds",
	    "Wall time of the jobs in the database that started and ended, "
	    "from start to end.", "started_at", "finished_at", duration_le_ms,
	    ARRAY_SIZE(duration_le_ms))) >= 0 &&
	    (r = put_histogram(rq->db, sb, "jobcell_job_claim_latency_seconds",
	    "Time from submission to start of the jobs in the database that "
	    "started.", "created_at", "started_at", claim_le_ms,
	    ARRAY_SIZE(claim_le_ms))) >= 0)
		r = put_scalars(rq->db, sb);
	(void) db_exec(rq->db, "COMMIT");	/* read-only: nothing to lose */
	return r;
}

int
metrics_handle(struct req *rq, struct api_err *err)
{
	_cleanup_strbuf_ struct strbuf sb;
	int r;

	strbuf_init(&sb, METRICS_MAX_BYTES);
	(void) strbuf_addf(&sb, "# HELP jobcell_build_info The running "
	    "jobcell-api version.\n# TYPE jobcell_build_info gauge\n"
	    "jobcell_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	put_api_counters(&sb);
	put_file_size(&sb, "jobcell_database_bytes",
	    "Size of the SQLite database file.", rq->srv->db_path, "");
	put_file_size(&sb, "jobcell_database_wal_bytes",
	    "Size of the SQLite write-ahead log.", rq->srv->db_path, "-wal");
	if ((r = put_db(rq, &sb)) < 0) {
		log_warn("metrics: cannot read the database: %s",
		    sqlite3_errmsg(rq->db));
		return api_err_internal(err, r);
	}
	/* A strbuf_add* past the cap fails and adds nothing; no single add
	 * here is 4 KiB long, so ending below max - 4 KiB proves none failed
	 * (a cut exposition would be invalid). */
	if (sb.len + 4096 > sb.max)
		return api_err_internal(err, -E2BIG);
	if ((r = reply_raw_header(rq, 200, "text/plain; version=0.0.4; "
	    "charset=utf-8", NULL)) < 0)
		return r;
	if (FCGX_PutStr(sb.buf, (int) sb.len, rq->fcgi->out) < 0)
		return -EIO;
	return 0;
}
