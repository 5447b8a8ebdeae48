/* test_job_result.c - job_classify (worker/job_result.c): every way a job
 * can end (exit, signal, timeout, OOM, cancel, drain, a cell that could
 * not be built or was lost) and the status, exit_code, signal and error
 * the API then shows. Table-driven, no root, no cell. */
#include <signal.h>
#include <string.h>

#include "tap.h"
#include "worker.h"
#include "banned.h"

#define EXITED(c)	{ .outcome = CELL_EXITED, .exit_code = (c) }
#define SIGNALED(s)	{ .outcome = CELL_SIGNALED, .signal = (s) }

static const struct {
	const char *name;
	struct cell_result cell;
	bool oom, timed_out, cancelled, stopped;
	const char *status;
	bool has_exit_code;
	int exit_code, signal;
	const char *error;
} rows[] = {
	{ "exit 0", EXITED(0), false, false, false, false,
	  "succeeded", true, 0, 0, NULL },
	{ "exit 1", EXITED(1), false, false, false, false,
	  "failed", true, 1, 0, NULL },
	{ "exit 255", EXITED(255), false, false, false, false,
	  "failed", true, 255, 0, NULL },
	{ "killed by SIGSEGV", SIGNALED(SIGSEGV), false, false, false, false,
	  "failed", true, 128 + SIGSEGV, SIGSEGV, NULL },
	{ "killed by SIGKILL", SIGNALED(SIGKILL), false, false, false, false,
	  "failed", true, 128 + SIGKILL, SIGKILL, NULL },
	/* Timeout wins over how the job died after our TERM. */
	{ "timeout, exited on TERM", EXITED(143), false, true, false, false,
	  "timed_out", true, 124, 0, NULL },
	{ "timeout, killed", SIGNALED(SIGKILL), false, true, false, false,
	  "timed_out", true, 124, 0, NULL },
	{ "timeout, exit 0 in the grace", EXITED(0), false, true, false, false,
	  "timed_out", true, 124, 0, NULL },
	{ "timeout and oom", SIGNALED(SIGKILL), true, true, false, false,
	  "timed_out", true, 124, 0, NULL },
	/* A cancel has no exit code. */
	{ "cancelled", SIGNALED(SIGTERM), false, false, true, false,
	  "cancelled", false, 0, 0, NULL },
	{ "cancelled, exit 0", EXITED(0), false, false, true, false,
	  "cancelled", false, 0, 0, NULL },
	{ "cancelled by a drain", SIGNALED(SIGKILL), false, false, true, true,
	  "cancelled", false, 0, 0, "the worker was stopped" },
	{ "cancelled and oom", SIGNALED(SIGKILL), true, false, true, false,
	  "cancelled", false, 0, 0, NULL },
	/* OOM: failed even if the main process got past it. */
	{ "oom, exit 0", EXITED(0), true, false, false, false,
	  "failed", true, 0, 0, NULL },
	{ "oom, exit 3", EXITED(3), true, false, false, false,
	  "failed", true, 3, 0, NULL },
	{ "oom, killed", SIGNALED(SIGKILL), true, false, false, false,
	  "failed", true, 128 + SIGKILL, SIGKILL, NULL },
	/* Our failures are "error", whatever else happened. */
	{ "setup failed", { .outcome = CELL_SETUP_FAILED,
	  .error = "exec 'nope': No such file or directory" },
	  false, false, false, false, "error", false, 0, 0,
	  "the cell could not be built: exec 'nope': No such file or "
	  "directory" },
	{ "setup failed at the deadline", { .outcome = CELL_SETUP_FAILED,
	  .error = "x" }, true, true, true, true, "error", false, 0, 0,
	  "the cell could not be built: x" },
	{ "lost", { .outcome = CELL_LOST,
	  .error = "the docker cell was lost: waiting for the container "
	  "failed: HTTP 500" }, false, false, false, false, "error", false,
	  0, 0, "the docker cell was lost: waiting for the container "
	  "failed: HTTP 500" },
	{ "setup failed, empty error", { .outcome = CELL_SETUP_FAILED },
	  false, false, false, false, "error", false, 0, 0,
	  "the cell could not be built: " },
};

static void
test_rows(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct job_end e = {
			.cell = rows[i].cell,
			.usage = { .has_usage = true, .cpu_ms = 7,
				.max_rss_kb = 1024, .oom_killed = rows[i].oom },
			.timed_out = rows[i].timed_out,
			.cancelled = rows[i].cancelled,
			.stopped = rows[i].stopped,
		};
		struct job_result res;
		char msg[400];
		bool err = !strcmp(rows[i].status, "error");

		memset(msg, 'x', sizeof(msg));
		job_classify(&e, &res, msg, sizeof(msg));
		is_str(job_status_to_string(res.status), rows[i].status,
		    "%s: status", rows[i].name);
		is_int(res.has_exit_code, rows[i].has_exit_code,
		    "%s: has an exit code", rows[i].name);
		if (rows[i].has_exit_code)
			is_int(res.exit_code, rows[i].exit_code,
			    "%s: exit code", rows[i].name);
		is_int(res.signal, rows[i].signal, "%s: signal", rows[i].name);
		is_int(res.timed_out, rows[i].timed_out && !err,
		    "%s: timed_out", rows[i].name);
		is_str(res.error, rows[i].error, "%s: error", rows[i].name);
		/* Usage is stored for jobs that ran, never for our errors. */
		is_int(res.has_usage, !err, "%s: usage", rows[i].name);
		if (!err) {
			is_int(res.oom_killed, rows[i].oom, "%s: oom_killed",
			    rows[i].name);
			is_int(res.cpu_ms, 7, "%s: cpu_ms", rows[i].name);
		}
	}
}

/* An error longer than the caller's buffer is cut, NUL-terminated. */
static void
test_long_error(void)
{
	struct job_end e = { .cell = { .outcome = CELL_SETUP_FAILED } };
	struct job_result res;
	char msg[40];

	memset(e.cell.error, 'e', sizeof(e.cell.error) - 1);
	job_classify(&e, &res, msg, sizeof(msg));
	is_int((int64_t) strlen(res.error), sizeof(msg) - 1,
	    "a long error is cut to the buffer");
	ok(res.error == msg, "the error is the caller's buffer");
}

int
main(void)
{
	test_rows();
	test_long_error();
	return done_testing();
}
