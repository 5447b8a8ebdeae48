/* test_job_status.c - unit tests for lib/job_status.c: every state round
 * trips, hostile names are refused (empty, case, blanks, prefixes, a NUL
 * cut), finality, and the list matches the CHECK of jobs.status in
 * sql/schema.sql (the text the programs carry), so they cannot drift. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "job_status.h"
#include "tap.h"
#include "banned.h"

extern const char db_schema_sql[];	/* lib/schema_sql.c, from sql/ */

static void
test_names(void)
{
	static const struct {
		enum job_status s;
		const char *name;
		bool final;
	} rows[] = {
		{ JOB_QUEUED, "queued", false },
		{ JOB_RUNNING, "running", false },
		{ JOB_SUCCEEDED, "succeeded", true },
		{ JOB_FAILED, "failed", true },
		{ JOB_TIMED_OUT, "timed_out", true },
		{ JOB_CANCELLED, "cancelled", true },
		{ JOB_ERROR, "error", true },
	};

	is_int(ARRAY_SIZE(rows), JOB_STATUS_COUNT, "a row for every status");
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		enum job_status got = JOB_QUEUED;
		const char *name = job_status_to_string(rows[i].s);

		is_str(name ? name : "(null)", rows[i].name, "to_string(%d)",
		    (int) rows[i].s);
		is_int(job_status_from_string(rows[i].name, &got), 0,
		    "from_string('%s')", rows[i].name);
		is_int(got, rows[i].s, "  gives %d", (int) rows[i].s);
		is_int(job_status_is_final(rows[i].s), rows[i].final,
		    "is_final(%s)", rows[i].name);
	}
	ok(!job_status_to_string((enum job_status) JOB_STATUS_COUNT),
	    "to_string past the last is NULL");
	ok(!job_status_to_string((enum job_status) -1), "to_string(-1) is "
	    "NULL");
	ok(!job_status_is_final((enum job_status) JOB_STATUS_COUNT),
	    "is_final past the last is false");
}

static void
test_hostile(void)
{
	static const char *const bad[] = {
		"", "Queued", "QUEUED", " queued", "queued ", "queue",
		"queuedx", "timed-out", "timedout", "cancelled\n", "canceled",
		"err", "\xff", "running\x01",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		enum job_status got = JOB_RUNNING;

		is_int(job_status_from_string(bad[i], &got), -EINVAL,
		    "from_string('%s') is refused", bad[i]);
		is_int(got, JOB_RUNNING, "  and leaves the result alone");
	}
	{
		static const char cut[] = "error\0x";
		enum job_status got = JOB_RUNNING;

		/* a C string ends at the NUL: "error" */
		is_int(job_status_from_string(cut, &got), 0, "a NUL ends the "
		    "name");
		is_int(got, JOB_ERROR, "  at 'error'");
	}
}

/* The names in "CHECK (status IN ('a','b',...))" of sql/schema.sql, in
 * order, must be ours. */
static void
test_schema(void)
{
	const char *p = strstr(db_schema_sql, "status IN");
	const char *end = p ? strchr(p, ')') : NULL;
	unsigned n = 0;

	if (!ok(p && end, "the schema has the status CHECK"))
		return;
	while ((p = strchr(p, '\'')) && p < end) {
		const char *q = strchr(p + 1, '\'');
		const char *want = job_status_to_string((enum job_status) n);
		size_t len = q ? (size_t) (q - p - 1) : 0;

		if (!q)
			break;
		ok(want && strlen(want) == len && memcmp(p + 1, want, len) == 0,
		    "schema status %u is '%s'", n, want ? want : "(none)");
		n++;
		p = q + 1;
	}
	is_int(n, JOB_STATUS_COUNT, "the schema names as many statuses");
}

int
main(void)
{
	test_names();
	test_hostile();
	test_schema();
	return done_testing();
}
