/* job_result.c - how a job ended, as a stored result: the cell's outcome
 * (exit, signal, setup failure, lost), its usage and what the run did to
 * it (timeout, cancel, drain) become status, exit_code, signal and error.
 * A pure function (tests/unit/test_job_result.c); runs in a jobcell-worker
 * process. */
#include <stdio.h>

#include "worker.h"
#include "banned.h"

/* The job's main process ended by exit or signal (not our timeout or
 * cancel): its exit code, or 128 + the signal as a shell reports it. */
static void
set_exit(const struct cell_result *cr, struct job_result *res)
{
	res->has_exit_code = true;
	if (cr->outcome == CELL_EXITED) {
		res->exit_code = cr->exit_code;
	} else {
		res->exit_code = 128 + cr->signal;
		res->signal = cr->signal;
	}
}

void
job_classify(const struct job_end *e, struct job_result *res, char *msg,
    size_t size)
{
	const struct cell_result *cr = &e->cell;

	*res = (struct job_result) { 0 };
	if (cr->outcome == CELL_SETUP_FAILED || cr->outcome == CELL_LOST) {
		/* The job never ran, or its backend failed it: error, no
		 * exit code, no usage (DESIGN: "error" is ours). */
		if (cr->outcome == CELL_LOST)
			(void) snprintf(msg, size, "%s", cr->error);
		else
			(void) snprintf(msg, size, "the cell could not be "
			    "built: %s", cr->error);
		res->status = JOB_ERROR;
		res->error = msg;
		return;
	}
	res->has_compile = cr->compiled;
	res->compile_exit_code = cr->compile_exit_code;
	res->compile_signal = cr->compile_signal;
	res->compile_timed_out = cr->compile_timed_out;
	res->compile_duration_ms = cr->compile_duration_ms;
	res->has_usage = e->usage.has_usage;
	res->cpu_ms = e->usage.cpu_ms;
	res->max_rss_kb = e->usage.max_rss_kb;
	res->oom_killed = e->usage.oom_killed;
	res->timed_out = e->timed_out;
	if (e->timed_out) {
		res->status = JOB_TIMED_OUT;
		res->has_exit_code = true;
		res->exit_code = 124;
	} else if (e->cancelled) {
		res->status = JOB_CANCELLED;
		if (e->stopped)
			res->error = "the worker was stopped";
	} else if (cr->compile_failed) {
		/* The compile step failed (issue 14): the program never ran,
		 * so no exit code; compile{} in the job says how. */
		res->status = JOB_FAILED;
	} else if (res->oom_killed) {
		/* A process of the cell was OOM-killed: the job failed even
		 * if its main process got past it (DESIGN section 5); the
		 * exit code is honest, even if 0. */
		res->status = JOB_FAILED;
		set_exit(cr, res);
	} else {
		res->status = cr->outcome == CELL_EXITED && cr->exit_code == 0 ?
		    JOB_SUCCEEDED : JOB_FAILED;
		set_exit(cr, res);
		/* An image build's failure: the builder's message. */
		if (res->status == JOB_FAILED && cr->error[0]) {
			(void) snprintf(msg, size, "%s", cr->error);
			res->error = msg;
		}
		if (res->status == JOB_SUCCEEDED && cr->image_id[0]) {
			res->image_id = cr->image_id;
			res->image_size = cr->image_size;
		}
	}
}
