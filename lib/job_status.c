/* job_status.c - names of the job states (see job_status.h). Used by
 * every program that reads or shows a job; trusts no string it parses. */
#include <errno.h>
#include <string.h>

#include "job_status.h"
#include "banned.h"

static const char *const names[] = {
	[JOB_QUEUED] = "queued",
	[JOB_RUNNING] = "running",
	[JOB_SUCCEEDED] = "succeeded",
	[JOB_FAILED] = "failed",
	[JOB_TIMED_OUT] = "timed_out",
	[JOB_CANCELLED] = "cancelled",
	[JOB_ERROR] = "error",
};
_Static_assert(sizeof(names) / sizeof(names[0]) == JOB_STATUS_COUNT,
    "a name for every status");

const char *
job_status_to_string(enum job_status s)
{
	if ((unsigned) s >= JOB_STATUS_COUNT)
		return NULL;
	return names[s];
}

int
job_status_from_string(const char *s, enum job_status *ret)
{
	for (unsigned i = 0; i < JOB_STATUS_COUNT; i++)
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum job_status) i;
			return 0;
		}
	return -EINVAL;
}

bool
job_status_is_final(enum job_status s)
{
	switch (s) {
	case JOB_QUEUED:
	case JOB_RUNNING:
		return false;
	case JOB_SUCCEEDED:
	case JOB_FAILED:
	case JOB_TIMED_OUT:
	case JOB_CANCELLED:
	case JOB_ERROR:
		return true;
	}
	return false;	/* not a status */
}
