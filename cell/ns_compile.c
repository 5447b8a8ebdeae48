/* ns_compile.c - the compile step of a code job (issue 14) in a namespace
 * cell: run by the cell's init, without privileges, after the workspace
 * holds the code and before the job's own process. Trusts nothing of the
 * compiler: it is bounded by its own wall time (here) and memory
 * (RLIMIT_DATA, ns_job.c), its output goes to pipes of its own, and
 * whatever it leaves running is killed before the program starts.
 * No stdio, no logging: the result is a CELL_REPORT_COMPILED record. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ns_int.h"
#include "banned.h"

static int64_t
mono_ms(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every process of the cell but init (kill(2): -1 in a pid namespace),
 * then reap them all. */
static void
kill_rest(void)
{
	(void) kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

int
ns_compile(const struct cell_spec *spec, struct cell_fds *f)
{
	int64_t start = mono_ms(), deadline = start + spec->compile_timeout_ms;
	bool timed_out = false;
	sigset_t wait_set;
	int st = 0;
	pid_t pid, w;

	/* Init's signals are all blocked here (ns_cell_main): SIGCHLD and
	 * the worker's TERM arrive through sigtimedwait. */
	if (sigemptyset(&wait_set) < 0 || sigaddset(&wait_set, SIGCHLD) < 0 ||
	    sigaddset(&wait_set, SIGTERM) < 0)
		ns_die(f->report_w, CELL_STEP_COMPILE, -errno);
	if ((pid = ns_compile_clone(spec, f)) < 0)
		ns_die(f->report_w, CELL_STEP_COMPILE, pid);
	for (;;) {
		int64_t left = deadline - mono_ms();
		struct timespec ts;
		int sig;

		w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			ns_die(f->report_w, CELL_STEP_WAIT, -errno);
		if (left <= 0 && !timed_out) {
			/* The compile's time is up: the whole cell but us. */
			timed_out = true;
			(void) kill(-1, SIGKILL);
			continue;
		}
		if (left <= 0)
			left = 100; /* KILLed: it goes within a moment */
		ts.tv_sec = (time_t) (left / 1000);
		ts.tv_nsec = (long) (left % 1000) * 1000000;
		sig = sigtimedwait(&wait_set, NULL, &ts);
		if (sig == SIGTERM)
			(void) kill(-1, SIGTERM); /* timeout or cancel */
	}
	kill_rest();
	/* EOF on the compile pipes for the worker: nothing else holds them
	 * now (the compiler and whatever it started are gone). */
	(void) close(f->compile_out_w);
	(void) close(f->compile_err_w);
	f->compile_out_w = f->compile_err_w = -1;
	ns_report(f->report_w, CELL_REPORT_COMPILED, timed_out ? 1 : 0,
	    (int32_t) (mono_ms() - start), st);
	return !timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
