/* test_router.c - method + path routing and query parsing, with hostile
 * paths and query strings. */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "tap.h"

int
main(void)
{
	static const struct {
		const char *method, *path;
		int r;
		enum route_id id;
		const char *job_id;
	} rows[] = {
		{ "GET", "/v1/health", 0, ROUTE_HEALTH, "" },
		{ "HEAD", "/v1/health", 0, ROUTE_HEALTH, "" },
		{ "GET", "/v1/me", 0, ROUTE_ME, "" },
		{ "POST", "/v1/jobs", 0, ROUTE_JOBS_CREATE, "" },
		{ "GET", "/v1/jobs", 0, ROUTE_JOBS_LIST, "" },
		{ "POST", "/v1/run", 0, ROUTE_RUN, "" },
		{ "GET", "/v1/jobs/abc", 0, ROUTE_JOB_GET, "abc" },
		{ "POST", "/v1/jobs/a-b_c/cancel", 0, ROUTE_JOB_CANCEL,
		    "a-b_c" },
		{ "GET", "/v1/jobs/x/logs", 0, ROUTE_JOB_LOGS, "x" },
		{ "GET", "/v1/jobs/x/output", 0, ROUTE_JOB_OUTPUT, "x" },
		{ "GET", "/v1/jobs/x/artifacts", 0, ROUTE_JOB_ARTIFACTS, "x" },
		{ "GET", "/v1/jobs/x/artifacts/a", 0, ROUTE_JOB_ARTIFACT, "x" },
		{ "HEAD", "/v1/jobs/x/artifacts/d/e f", 0, ROUTE_JOB_ARTIFACT,
		    "x" },
		{ "GET", "/v1/jobs/x/artifacts/", -ENOENT, 0, "" },
		{ "POST", "/v1/jobs/x/artifacts/a", -EPERM, 0, "" },
		{ "GET", "/metrics", 0, ROUTE_METRICS, "" },
		{ "POST", "/metrics", -EPERM, 0, "" },
		{ "PUT",
		    "/v1/blobs/sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		    0, ROUTE_BLOB_PUT,
		    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
		{ "HEAD",
		    "/v1/blobs/sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		    0, ROUTE_BLOB_HEAD,
		    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
		{ "GET",
		    "/v1/blobs/sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		    -EPERM, 0, "" },
		{ "PUT",
		    "/v1/blobs/sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		    -ENOENT, 0, "" },
		{ "PUT", "/v1/blobs/md5:abc", -ENOENT, 0, "" },
		{ "PUT", "/v1/blobs/sha256:", -ENOENT, 0, "" },
		{ "PUT", "/v1/blobs/sha256:a/b", -ENOENT, 0, "" },
		{ "GET", "/v1/metrics", -ENOENT, 0, "" },
		{ "GET", "/metrics/", -ENOENT, 0, "" },
		{ "DELETE", "/v1/jobs", -EPERM, 0, "" },
		{ "PUT", "/v1/jobs/x", -EPERM, 0, "" },
		{ "GET", "/v1/jobs/x/cancel", -EPERM, 0, "" },
		{ "POST", "/v1/health", -EPERM, 0, "" },
		{ "GET", "", -ENOENT, 0, "" },
		{ "GET", "/", -ENOENT, 0, "" },
		{ "GET", "/v1", -ENOENT, 0, "" },
		{ "GET", "/v1/jobs/", -ENOENT, 0, "" },
		{ "GET", "/v1/jobs//logs", -ENOENT, 0, "" },
		{ "GET", "/v1/jobs/../logs", -ENOENT, 0, "" },
		{ "GET", "/v1/jobs/a/b", -ENOENT, 0, "" },
		{ "GET", "/v1/jobs/a%00", -ENOENT, 0, "" },
		{ "GET", "/v1/health/", -ENOENT, 0, "" },
		{ "GET", "/v1/healthz", -ENOENT, 0, "" },
		{ "GET", "/V1/health", -ENOENT, 0, "" },
		{ "GET", "/v1/jobs/x/logs?x=1", -ENOENT, 0, "" },
		{ "GET",
		    "/v1/jobs/"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    -ENOENT, 0, "" },
	};
	static const struct {
		const char *q, *name;
		int r;
		const char *v;
	} qrows[] = {
		{ "limit=5", "limit", 0, "5" },
		{ "a=1&limit=5&b=2", "limit", 0, "5" },
		{ "limits=5", "limit", -ENOENT, NULL },
		{ "xlimit=5", "limit", -ENOENT, NULL },
		{ "", "limit", -ENOENT, NULL },
		{ "limit", "limit", 0, "" },
		{ "limit=", "limit", 0, "" },
		{ "s=a%20b+c", "s", 0, "a b c" },
		{ "s=%41%4a", "s", 0, "AJ" },
		{ "s=%4", "s", -EINVAL, NULL },
		{ "s=%zz", "s", -EINVAL, NULL },
		{ "s=%00", "s", -EINVAL, NULL },
		{ "s=0123456789012345678901234567890123456789", "s", -E2BIG, NULL },
		{ "&&s=1&&", "s", 0, "1" },
	};
	struct route_match m;
	char buf[32];

	/* {rest}: what follows .../artifacts/, any bytes */
	memset(&m, 0, sizeof(m));
	is_int(router_match("GET", "/v1/jobs/j1/artifacts/a/b\nc%d", &m), 0,
	    "an artifact path");
	is_str(m.rest ? m.rest : "(null)", "a/b\nc%d", "its rest");
	memset(&m, 0, sizeof(m));
	is_int(router_match("GET", "/v1/jobs/j1/logs", &m), 0, "logs");
	ok(m.rest == NULL, "no rest for a route without one");

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int r;

		memset(&m, 0, sizeof(m));
		r = router_match(rows[i].method, rows[i].path, &m);
		is_int(r, rows[i].r, "%s '%s'", rows[i].method, rows[i].path);
		if (r == 0) {
			is_int(m.id, rows[i].id, "route of '%s'", rows[i].path);
			is_str(m.job_id, rows[i].job_id, "id of '%s'", rows[i].path);
		}
		if (r == -EPERM)
			ok(m.allow != NULL && *m.allow, "Allow for '%s'",
			    rows[i].path);
	}
	is_int(router_match(NULL, "/v1/health", &m), -ENOENT, "NULL method");
	is_int(router_match("GET", NULL, &m), -ENOENT, "NULL path");
	for (size_t i = 0; i < ARRAY_SIZE(qrows); i++) {
		int r = query_get(qrows[i].q, qrows[i].name, buf, sizeof(buf));

		is_int(r, qrows[i].r, "query '%s' name '%s'", qrows[i].q,
		    qrows[i].name);
		if (r == 0)
			is_str(buf, qrows[i].v, "value in '%s'", qrows[i].q);
	}
	return done_testing();
}
