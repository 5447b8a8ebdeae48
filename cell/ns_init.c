/* ns_init.c - the namespace cell's init: everything that runs in the cloned
 * child (pid 1 of the cell) between clone() and the job's own process:
 * ids, the cgroup namespace, fds, hostname, the root (ns_root.c), the
 * job's files (ns_files.c), dropping privileges (privs.c), then reaping.
 * No stdio, no logging: a failure goes down the report pipe as a
 * fixed-size record (ns_die). Trusts only the worker's spec. */
#include <errno.h>
#include <fcntl.h>
/* NAME_MAX; under -Ilib, <limits.h> finds lib/limits.h */
#include <linux/limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "jc_limits.h"
#include "ns_int.h"
#include "privs.h"
#include "banned.h"


/* Sends one record; the worker tells the rest from our exit. */
void
ns_report(int fd, int32_t kind, int32_t step, int32_t err, int32_t wstatus)
{
	struct cell_report rec = {
		.kind = kind, .step = step, .err = err, .wstatus = wstatus,
	};

	(void) write_full(fd, &rec, sizeof(rec));
	/* EPIPE: the worker is gone. A short write cannot happen below
	 * PIPE_BUF, and the worker ignores records of the wrong size. */
}

_Noreturn void
ns_die(int report_fd, int step, int neg_errno)
{
	ns_report(report_fd, CELL_REPORT_SETUP_FAILED, step,
	    neg_errno < 0 ? -neg_errno : EIO, 0);
	_exit(127);
}

static int
reset_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	if (sigemptyset(&sa.sa_mask) < 0)
		return -errno;
	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		/* glibc answers EINVAL for its internal real-time signals. */
		if (sigaction(s, &sa, NULL) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

/* The per-user counters of this cell's user namespace, bounded below the
 * host's (called once the cell's own /proc is mounted at /proc): the namespace is owned by the slot's uid, so the kernel charges
 * it at the host level too, but one job could still take its slot's whole
 * host allowance. These files are per user namespace: the one we are in
 * (user_namespaces(7), /proc/sys/user); the namespace's own CAP_SYS_RESOURCE
 * may lower them. A kernel without one of the files has no such counter. */
static int
bound_user_counters(void)
{
	static const struct { const char *file; const char *value; } lims[] = {
		{ "/proc/sys/user/max_inotify_instances", CELL_INOTIFY_INSTANCES },
		{ "/proc/sys/user/max_inotify_watches", CELL_INOTIFY_WATCHES },
		{ "/proc/sys/user/max_fanotify_groups", "0" },
		{ "/proc/sys/user/max_fanotify_marks", "0" },
		/* seccomp refuses new namespaces already: a second wall */
		{ "/proc/sys/user/max_user_namespaces", "0" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(lims); i++) {
		int fd = open(lims[i].file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		size_t n = strlen(lims[i].value);
		ssize_t w;

		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		w = write(fd, lims[i].value, n);
		if (w < 0 || (size_t) w != n) {
			int e = w < 0 ? errno : EIO;

			(void) close(fd);
			return -e;
		}
		(void) close(fd);
	}
	return 0;
}

/* Returns fd moved to a number >= 3 (closing the original), or -errno. */
int
ns_fd_above_stdio(int fd)
{
	int nfd;

	if (fd >= 3)
		return fd;
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return -errno;
	(void) close(fd);
	return nfd;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *) a, y = *(const int *) b;

	return (x > y) - (x < y);
}

/* Closes every fd, the worker's stdio included, except keep[] (all >= 0). */
int
ns_close_all_except(const int *keep, size_t n)
{
	int sorted[8];
	unsigned lo = 0;

	if (n > ARRAY_SIZE(sorted))
		return -E2BIG;
	memcpy(sorted, keep, n * sizeof(*keep));
	qsort(sorted, n, sizeof(*sorted), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned) sorted[i] > lo &&
		    close_range(lo, (unsigned) sorted[i] - 1, 0) < 0)
			return -errno;
		lo = (unsigned) sorted[i] + 1;
	}
	if (close_range(lo, ~0U, 0) < 0)
		return -errno;
	return 0;
}

/* Moves every fd we keep above 2 and closes everything else. */
static int
keep_cell_fds(struct cell_fds *f)
{
	int keep[8];
	size_t n = 0;
	int *mine[] = { &f->out_w, &f->err_w, &f->report_w, &f->stdin_fd,
		&f->work_fd, &f->job_r, &f->compile_out_w, &f->compile_err_w };

	for (size_t i = 0; i < ARRAY_SIZE(mine); i++) {
		if (*mine[i] < 0)
			continue;
		if ((*mine[i] = ns_fd_above_stdio(*mine[i])) < 0)
			return *mine[i];
		keep[n++] = *mine[i];
	}
	return ns_close_all_except(keep, n);
}

/* /proc/1/cmdline is world-readable and would show the worker's command
 * line (and a setproctitle-style overrun its environment), which init's
 * memory still holds. Blank both regions of our copy; fork() gave the job
 * its own, so spec->argv pointing there (cellrun does) is unaffected.
 * Addresses from /proc/self/stat fields 48-51 (proc(5)). */
static int
scrub_cmdline(void)
{
	_cleanup_close_ int fd = -1;
	char buf[2048], *p, *end;
	unsigned long long v[4];
	ssize_t n;
	int field;

	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((n = read(fd, buf, sizeof(buf) - 1)) < 0)
		return -errno;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: skip past the
	 * last ')'. */
	if (!(p = strrchr(buf, ')')))
		return -EINVAL;
	p++;
	for (field = 3; field <= 51; field++) {
		while (*p == ' ')
			p++;
		if (field >= 48) {
			errno = 0;
			v[field - 48] = strtoull(p, &end, 10);
			if (errno || end == p)
				return -EINVAL;
			p = end;
		} else {
			p = strchrnul(p, ' ');
		}
		if (!*p && field < 51)
			return -EINVAL;
	}
	if (v[1] < v[0] || v[3] < v[2] || v[1] - v[0] > 1u << 24 ||
	    v[3] - v[2] > 1u << 24)
		return -EINVAL;
	memset((void *) (uintptr_t) v[0], 0, (size_t) (v[1] - v[0]));
	memset((void *) (uintptr_t) v[2], 0, (size_t) (v[3] - v[2]));
	if (v[1] - v[0] > sizeof("cell-init"))
		memcpy((void *) (uintptr_t) v[0], "cell-init", sizeof("cell-init"));
	return 0;
}

static void
init_on_term(int sig)
{
	int saved = errno;

	(void) sig;
	/* Every process of the pid namespace but init itself (kill(2)). */
	(void) kill(-1, SIGTERM);
	errno = saved;
}

/* The cell's pid 1 once the job runs: forward TERM, reap, report. */
static _Noreturn void
init_main(pid_t job, int report_w)
{
	struct sigaction sa = { .sa_handler = init_on_term };
	sigset_t mask;
	pid_t w;
	int st = 0, r;

	/* Non-dumpable: the job (same uid) cannot ptrace us or read our
	 * /proc files, which still show the worker's memory. */
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0 ||
	    prctl(PR_SET_NAME, (unsigned long) "cell-init", 0L, 0L, 0L) < 0)
		ns_die(report_w, CELL_STEP_INIT, -errno);
	if ((r = scrub_cmdline()) < 0)
		ns_die(report_w, CELL_STEP_INIT, r);
	/* Our copies of the job's pipes must go, or the worker never sees
	 * EOF; the worker's stdio and stdin fd too. */
	if (ns_close_all_except(&report_w, 1) < 0)
		ns_die(report_w, CELL_STEP_INIT, -errno);
	if (sigfillset(&sa.sa_mask) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		ns_die(report_w, CELL_STEP_INIT, -errno);
	/* A TERM that came while it was blocked is delivered now and reaches
	 * the job (which keeps it pending until its own handlers are reset). */
	if (sigfillset(&mask) < 0 || sigdelset(&mask, SIGTERM) < 0 ||
	    sigprocmask(SIG_SETMASK, &mask, NULL) < 0)
		ns_die(report_w, CELL_STEP_INIT, -errno);
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w == job)
			break;
		if (w < 0 && errno != EINTR)
			ns_die(report_w, CELL_STEP_WAIT, -errno);
	}
	ns_report(report_w, CELL_REPORT_EXITED, 0, 0, st);
	/* Exiting init makes the kernel SIGKILL everything left in the pid
	 * namespace (pid_namespaces(7)). */
	_exit(0);
}

/* The cloned child's first part, which needs nothing of the job but the
 * size of its scratch space and whether it has a network: ids, fds,
 * hostname, loopback, the root. A warm cell (ns_pool.c) stops after it
 * and waits for its job; f->job_r (if >= 0) is kept open through it. */
void
ns_init_setup(const struct cell_spec *spec, struct cell_fds *f)
{
	struct pollfd pfd;
	char go;
	ssize_t n;
	int r, step;

	if ((r = privs_owner_child()) < 0)
		ns_die(f->report_w, CELL_STEP_SIGNALS, r);
	if ((r = reset_signal_handlers()) < 0)
		ns_die(f->report_w, CELL_STEP_SIGNALS, r);
	if (prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L) < 0)
		ns_die(f->report_w, CELL_STEP_PDEATHSIG, -errno);
	n = read_full(f->sync_r, &go, 1);
	if (n != 1 || go != 'g')
		_exit(127);	/* the worker gave up on us and reaps us */
	(void) close(f->sync_r);
	f->sync_r = -1;

	if ((r = privs_enter_cell_ids(CELL_UID, CELL_GID, &step)) < 0)
		ns_die(f->report_w, CELL_STEP_PRIVS + step, r);
	/* The uid change cleared the parent-death signal (prctl(2)): set it
	 * again, then make sure the worker did not die in between; with it
	 * gone, the report pipe has no reader and polls POLLERR. getppid()
	 * cannot tell: it is 0 for the init of a pid namespace. */
	if (prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L) < 0)
		ns_die(f->report_w, CELL_STEP_PDEATHSIG, -errno);
	pfd = (struct pollfd) { .fd = f->report_w, .events = POLLOUT };
	if (poll(&pfd, 1, 0) < 0)
		ns_die(f->report_w, CELL_STEP_PDEATHSIG, -errno);
	if (pfd.revents & POLLERR)
		_exit(127);
	if ((r = keep_cell_fds(f)) < 0)
		ns_die(f->report_w, CELL_STEP_FDS, r);
	(void) umask(022);

	if (sethostname(CELL_HOSTNAME, sizeof(CELL_HOSTNAME) - 1) < 0)
		ns_die(f->report_w, CELL_STEP_HOSTNAME, -errno);
	if ((r = ns_loopback_up()) < 0)
		ns_die(f->report_w, CELL_STEP_LOOPBACK, r);
	if ((r = ns_build_root(spec, f->work_fd, &step)) < 0)
		ns_die(f->report_w, step, r);
	if (f->work_fd >= 0) {
		(void) close(f->work_fd);
		f->work_fd = -1;
	}
	/* Through the cell's own /proc (the root is built): the host's
	 * /proc/sys may be read-only where we run (systemd's
	 * ProtectKernelTunables=), a fresh proc mount's is not. */
	if ((r = bound_user_counters()) < 0)
		ns_die(f->report_w, CELL_STEP_USER_LIMITS, r);
}

/* The cloned child's second part, the job's own: the cgroup namespace
 * (the worker has attached us to the job's cgroup by now), its files, its
 * cwd, dropping privileges, the job's process; then reaping. */
_Noreturn void
ns_init_run(const struct cell_spec *spec, struct cell_fds *f)
{
	pid_t job;
	int r, step;

	/* A cgroup namespace rooted at the job's cgroup hides the host's
	 * hierarchy (nothing before needed it: /proc reads it per look). */
	if (unshare(CLONE_NEWCGROUP) < 0)
		ns_die(f->report_w, CELL_STEP_CGROUP_NS, -errno);
	if ((r = ns_write_files(spec)) < 0)
		ns_die(f->report_w, CELL_STEP_FILES, r);
	if ((r = ns_enter_cwd(spec->cwd)) < 0)
		ns_die(f->report_w, CELL_STEP_CWD, r);

	/* Init and job both run without privileges from here: the job
	 * inherits the dropped state through fork(). */
	if ((r = privs_drop_all(CELL_UID, CELL_GID, &step)) < 0)
		ns_die(f->report_w, CELL_STEP_PRIVS + step, r);
	if (prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L) < 0)
		ns_die(f->report_w, CELL_STEP_PDEATHSIG, -errno);

	/* posix_spawn-style: the job shares init's memory until its execve
	 * (CLONE_VM | CLONE_VFORK) and runs on a stack of its own, so no page
	 * table of the worker's address space is copied a second time; it
	 * was the largest single cost of a cell (bench/README.md). Init is
	 * suspended meanwhile, so nothing races on the shared memory; the
	 * job's writes there are to its own stack and errno. */
	/* A code job's compile step first, in this same cell (issue 14).
	 * The compiler is job code too: init is hidden from it as from the
	 * job (init_main). A failed compile ends the cell here; its record
	 * tells the worker why. */
	if (spec->compile_argv) {
		if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0)
			ns_die(f->report_w, CELL_STEP_INIT, -errno);
		if ((r = scrub_cmdline()) < 0)
			ns_die(f->report_w, CELL_STEP_INIT, r);
		if (ns_compile(spec, f) != 0)
			_exit(0);
	}
	if ((job = ns_job_clone(spec, f)) < 0)
		ns_die(f->report_w, CELL_STEP_FORK, job);
	init_main(job, f->report_w);
}

/* The cloned child: pid 1 of the new pid namespace, all capabilities in the
 * new user namespace, all signals blocked (inherited from ns_cell_start). */
_Noreturn void
ns_cell_main(const struct cell_spec *spec, struct cell_fds *f)
{
	ns_init_setup(spec, f);
	ns_init_run(spec, f);
}
