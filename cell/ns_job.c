/* ns_job.c - the job's own process in a namespace cell: cloned by the
 * cell's init (ns_init.c) on a stack of its own, it sets up stdio, rlimits
 * and the seccomp filter (seccomp.c) and execs argv with the job's PATH.
 * Runs with no privileges left; no stdio, no logging (ns_die). */
#include <errno.h>
#include <fcntl.h>
/* NAME_MAX; under -Ilib, <limits.h> finds lib/limits.h */
#include <linux/limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "jc_limits.h"
#include "ns_int.h"
#include "seccomp.h"
#include "banned.h"

/* execvpe() that takes PATH from the job's env, never from ours. Only
 * returns on failure, with -errno as execvp(3) would report it (but no
 * fallback to /bin/sh on ENOEXEC). */
static int
exec_job(char *const *argv, char *const *envp)
{
	const char *file = argv[0], *path = NULL, *p, *end;
	char buf[JC_PATH_MAX];
	size_t flen = strlen(file), dlen;
	bool eacces = false;

	if (flen == 0)
		return -ENOENT;
	if (strchr(file, '/')) {
		(void) execve(file, argv, envp);
		return -errno;
	}
	if (flen > NAME_MAX)
		return -ENAMETOOLONG;
	for (char *const *e = envp; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0) {
			path = *e + 5;
			break;
		}
	if (!path)
		path = DEFAULT_PATH;
	for (p = path;; p = end + 1) {
		end = strchrnul(p, ':');
		dlen = (size_t) (end - p);
		if (dlen + 1 + flen + 1 <= sizeof(buf)) {
			if (dlen == 0)	/* an empty entry is the cwd (POSIX) */
				memcpy(buf, ".", (dlen = 1));
			else
				memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			(void) execve(buf, argv, envp);
			switch (errno) {
			case EACCES:
				eacces = true;
				break;
			case ENOENT:
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
			case ELOOP:
			case ENAMETOOLONG:
				break;
			default:
				return -errno;
			}
		}
		if (*end == '\0')
			break;
	}
	return eacces ? -EACCES : -ENOENT;
}

/* Lowering a limit needs no privilege; the job cannot raise a hard limit
 * again (no CAP_SYS_RESOURCE). No core files (they would fill /work and may
 * hold secrets of other processes' memory... of the job only, but still
XX than the workspace; a bounded fd table. */
static int
set_rlimits(uint64_t disk_mb, uint64_t data_mb)
{
	const struct {
		int res;
		rlim_t v;
	} lims[] = {
		{ RLIMIT_CORE, 0 },
		{ RLIMIT_NOFILE, CELL_NOFILE },
		{ RLIMIT_SIGPENDING, CELL_SIGPENDING },
		{ RLIMIT_FSIZE, (rlim_t) disk_mb * 1024 * 1024 },
		/* A compile step's memory (issue 14): RLIMIT_DATA counts what
		 * a process writes (brk, private writable maps), not address
		 * space it only reserves (Go, the JVM), unlike RLIMIT_AS. */
		{ RLIMIT_DATA,
		    data_mb ? (rlim_t) data_mb * 1024 * 1024 : RLIM_INFINITY },
	};

	for (size_t i = 0; i < ARRAY_SIZE(lims); i++) {
		struct rlimit rl = { .rlim_cur = lims[i].v, .rlim_max = lims[i].v };

		/* No data bound asked: leave the inherited one (raising a
		 * hard limit would need CAP_SYS_RESOURCE). */
		if (lims[i].res == RLIMIT_DATA && !data_mb)
			continue;
		if (setrlimit(lims[i].res, &rl) < 0)
			return -errno;
	}
	return 0;
}

/* The stack the job's first process runs on until its execve. 64 KiB:
 * job_main's deepest frame is exec_job's JC_PATH_MAX buffer. */
static char job_stack[64 * 1024] __attribute__((aligned(16)));

struct job_args {
	const struct cell_spec *spec;
	const struct cell_fds *f;
	char *const *argv;
	int out_w, err_w, in;
	uint64_t data_mb;
};
static struct job_args job_args;

/* The job's first process (or the compile step's), cloned by init;
 * privileges are already gone. */
static _Noreturn void
job_main(const struct job_args *a)
{
	const struct cell_spec *spec = a->spec;
	const struct cell_fds *f = a->f;
	sigset_t none;
	int in = a->in, r;

	/* Signal handlers are all default already: init reset them first
	 * thing and installs its TERM handler only once we have exec'd
	 * (CLONE_VFORK holds it until then). */
	if (setsid() < 0)
		ns_die(f->report_w, CELL_STEP_STDIO, -errno);
	if (in < 0) {
		if ((in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			ns_die(f->report_w, CELL_STEP_STDIO, -errno);
		if ((in = ns_fd_above_stdio(in)) < 0)
			ns_die(f->report_w, CELL_STEP_STDIO, in);
	}
	/* All sources are >= 3 (keep_cell_fds), so no dup2 clobbers another. */
	if (dup2(in, 0) < 0 || dup2(a->out_w, 1) < 0 || dup2(a->err_w, 2) < 0)
		ns_die(f->report_w, CELL_STEP_STDIO, -errno);
	/* Everything else goes; the report fd is close-on-exec and stays
	 * only so that a failing execve can be told. */
	if (ns_close_all_except((const int[]) { 0, 1, 2, f->report_w }, 4) < 0)
		ns_die(f->report_w, CELL_STEP_FDS, -errno);
	(void) umask(022);
	if ((r = set_rlimits(spec->disk_mb, a->data_mb)) < 0)
		ns_die(f->report_w, CELL_STEP_RLIMITS, r);
	if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		ns_die(f->report_w, CELL_STEP_SIGNALS, -errno);
	/* Last: from here on only execve (and, on failure, write + exit). */
	if ((r = seccomp_prog_install(&ns_cell_filter)) < 0)
		ns_die(f->report_w, CELL_STEP_SECCOMP, r);
	r = exec_job(a->argv, spec->envp);
	ns_die(f->report_w,
	    a->argv == spec->argv ? CELL_STEP_EXEC : CELL_STEP_COMPILE, r);
}

static int
job_start(void *arg)
{
	job_main(arg);
}

static pid_t
step_clone(const struct job_args *a)
{
	pid_t job;

	job_args = *a;
	job = clone(job_start, job_stack + sizeof(job_stack),
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &job_args);
	return job < 0 ? -errno : job;
}

/* posix_spawn-style clone of the job (see ns_cell_main): returns its pid
 * once it has exec'd or died (CLONE_VFORK), or -errno. */
pid_t
ns_job_clone(const struct cell_spec *spec, const struct cell_fds *f)
{
	return step_clone(&(struct job_args){ .spec = spec,
	    .f = f,
	    .argv = spec->argv,
	    .out_w = f->out_w,
	    .err_w = f->err_w,
	    .in = f->stdin_fd,
	    .data_mb = spec->run_data_mb });
}

pid_t
ns_compile_clone(const struct cell_spec *spec, const struct cell_fds *f)
{
	return step_clone(&(struct job_args){ .spec = spec,
	    .f = f,
	    .argv = spec->compile_argv,
	    .out_w = f->compile_out_w,
	    .err_w = f->compile_err_w,
	    .in = -1,
	    .data_mb = spec->compile_memory_mb });
}
