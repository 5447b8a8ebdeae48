/* job_status.h - the states of a job, as the database stores them
 * (sql/schema.sql, jobs.status CHECK) and the API shows them. Pure and
 * thread-safe; plain libc only. */
#ifndef JOBCELL_JOB_STATUS_H
#define JOBCELL_JOB_STATUS_H

#include <stdbool.h>

enum job_status {
	JOB_QUEUED,	/* stored, waiting for a worker */
	JOB_RUNNING,	/* claimed; its cell runs */
	JOB_SUCCEEDED,	/* exited 0 */
	JOB_FAILED,	/* exited non-zero or was killed by a signal */
	JOB_TIMED_OUT,	/* killed at its timeout */
	JOB_CANCELLED,	/* cancelled by its owner (or a draining worker) */
	JOB_ERROR,	/* its cell could not be built or run: not its fault */
};
#define JOB_STATUS_COUNT	7	/* JOB_ERROR + 1 */

/* The stored name ("queued", "timed_out", ...); NULL for a value that is
 * no enum job_status. */
const char *job_status_to_string(enum job_status s);
/* The status named exactly s (whole string, case-sensitive) into *ret:
 * 0, or -EINVAL (*ret untouched) for anything else. */
int job_status_from_string(const char *s, enum job_status *ret);
/* True for the states a job never leaves: succeeded, failed, timed_out,
 * cancelled, error. */
bool job_status_is_final(enum job_status s);

#endif
