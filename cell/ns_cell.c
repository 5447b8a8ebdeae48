/* ns_cell.c - the namespace backend of the cell (docs/architecture.md,
 * "Cells"), the worker's side: clone() into new user, pid, mount, net, uts
 * and ipc namespaces (the user namespace is made here, in ns_cell_start),
 * the id maps, the cgroup, the report pipe, and the ops table. The cell's
 * side is in ns_init.c (init), ns_root.c (root and mounts, /proc),
 * ns_files.c, ns_job.c (the job's process) and ns_net.c.
 * Runs in a jobcell-worker process (single-threaded, root) and, after
 * clone(), as the cell's init and the job's first process. The worker trusts
 * nothing from the cell but fixed-size struct cell_report records.
 *
 * How it works
 *
 *   worker                    cell init (pid 1)          job
 *   ------                    -----------------          ---
 *   seccomp BPF (once);
 *   pipes: out, err, report,
 *   sync; block all signals
 *   clone(NEWUSER|NEWPID|NEWNS
 *   |NEWNET|NEWUTS|NEWIPC) -> reset handlers, PDEATHSIG,
 *   write uid_map, gid_map    wait on sync
 *   spec->attach(pid): cgroup
 *   network: slirp4netns
 *   "g" on sync ----------->  setgroups(0), become 1000
 *   return: job is starting   keeping caps (privs.c);
 *                             unshare the cgroup ns (now
 *                             rooted at the job's cgroup);
 *                             keep only our fds; hostname;
 *                             lo up; root on a tmpfs, /proc,
 *                             pivot_root; files into /work,
 *                             cwd; drop privs (privs.c);
 *                             clone(VM|VFORK) ---------> setsid, fds 0-2,
 *                             (suspended until exec)     close the rest,
 *                             non-dumpable, close fds    rlimits, seccomp,
 *                             but report; TERM handler:  execve (failure:
 *                             kill(-1, TERM); reap until {SETUP_FAILED,
 *                             the job ends               exec, errno})
 *   cell_try_wait: reap    <- {EXITED, wstatus};
 *   init, read records        _exit(0): the kernel kills
 *   cell_release: slirp ends  the rest of the pid ns
 *
 * Pipes: out/err (job -> worker, read ends O_NONBLOCK), report (cell ->
 * worker, 16-byte records, atomic below PIPE_BUF), sync (worker -> cell,
 * one byte once the id maps and the cgroup are in place). Any setup failure
 * in the cell sends {CELL_REPORT_SETUP_FAILED, step, errno} and _exit(127);
 * between clone() and execve() there is no stdio and no logging.
 *
 * Signals: SIGTERM to init is forwarded to every process of the cell; init
 * of a pid namespace only receives signals it has a handler for, except
 * SIGKILL from the worker, which ends init and with it the whole namespace
 * (pid_namespaces(7)). */
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "parse.h"
#include "jc_limits.h"
#include "privs.h"
#include "cell_int.h"
#include "log.h"
#include "ns_int.h"
#include "seccomp.h"
#include "banned.h"


static const char *const cell_step_names[CELL_STEP__MAX] = {
	[CELL_STEP_SYNC] = "waiting for the worker",
	[CELL_STEP_SIGNALS] = "resetting signal handlers",
	[CELL_STEP_PDEATHSIG] = "setting the parent-death signal",
	[CELL_STEP_CGROUP_NS] = "creating the cgroup namespace",
	[CELL_STEP_FDS] = "closing inherited file descriptors",
	[CELL_STEP_HOSTNAME] = "setting the hostname",
	[CELL_STEP_LOOPBACK] = "bringing up loopback",
	[CELL_STEP_MOUNT_PRIVATE] = "making mounts private",
	[CELL_STEP_ROOT_TMPFS] = "mounting the root tmpfs",
	[CELL_STEP_TOOLCHAIN] = "binding /usr, /bin and /lib*",
	[CELL_STEP_ETC] = "building /etc",
	[CELL_STEP_PROC] = "mounting /proc",
	[CELL_STEP_DEV] = "building /dev",
	[CELL_STEP_WORK] = "mounting /work",
	[CELL_STEP_TMP] = "mounting /tmp",
	[CELL_STEP_PIVOT] = "pivot_root",
	[CELL_STEP_ROOT_READONLY] = "making the root read-only",
	[CELL_STEP_CHDIR] = "entering /work",
	[CELL_STEP_FORK] = "forking the job",
	[CELL_STEP_INIT] = "preparing the cell's init",
	[CELL_STEP_WAIT] = "waiting for the job",
	[CELL_STEP_STDIO] = "setting up the job's stdin, stdout and stderr",
	[CELL_STEP_EXEC] = "exec",
	[CELL_STEP_RLIMITS] = "setting resource limits",
	[CELL_STEP_USER_LIMITS] = "bounding the user namespace's counters",
	[CELL_STEP_SECCOMP] = "installing the seccomp filter",
	[CELL_STEP_FILES] = "writing the job's files",
	[CELL_STEP_CWD] = "entering the job's cwd",
};

struct seccomp_prog ns_cell_filter;

/* ---- worker side ---- */

int
ns_make_pipe(int *ret_r, int *ret_w, bool nonblock_read)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* Only the read end: O_NONBLOCK is per open file description, and
	 * the job's write end must block like any ordinary stdout. */
	if (nonblock_read && fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		(void) close(p[0]);
		(void) close(p[1]);
		return r;
	}
	*ret_r = p[0];
	*ret_w = p[1];
	return 0;
}

void
ns_kill_and_reap(pid_t pid)
{
	pid_t w;

	(void) kill(pid, SIGKILL);
	do
		w = waitpid(pid, NULL, 0);
	while (w < 0 && errno == EINTR);
}

/* Copies s for error sentences: truncated, control bytes as '?'. */
static void
copy_name(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < size && s[i]; i++)
		dst[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	dst[i] = '\0';
}

static int
check_spec(const struct cell_spec *spec)
{
	if (!spec || !spec->argv || !spec->argv[0] || !spec->envp)
		return -EINVAL;
	if (spec->host_uid == 0 || spec->host_gid == 0 ||
	    spec->host_uid == (uid_t) -1 || spec->host_gid == (gid_t) -1)
		return -EINVAL;
	if (spec->disk_mb < 1 || spec->disk_mb > CELL_DISK_MB_MAX)
		return -EINVAL;
	if (spec->nfiles > 0 && !spec->files)
		return -EINVAL;
	return 0;
}

/* An fd of /proc/<pid>/ns/<name>, or -errno. */
static int
open_ns(pid_t pid, const char *name)
{
	char path[64];
	int fd;

	if ((size_t) snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) pid,
	    name) >= sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	return fd;
}

/* The worker's part between clone() and the cell's first step: the id
 * maps of its user namespace, its cgroup, its network, then "g" on sync.
 * -errno if any fails (the caller kills the child and slirp4netns). */
static int
let_go(const struct cell_spec *spec, const struct ns_cell *c, pid_t pid,
    const int ns_fds[2], int sync_w, pid_t *slirp_pid, int *slirp_w)
{
	ssize_t n;
	int r;

	if ((r = privs_write_id_maps(pid, CELL_UID, spec->host_uid, CELL_GID,
	    spec->host_gid)) < 0)
		return r;
	/* The cell's init joins the job's cgroup before it runs anything,
	 * so every process of the cell is born inside it. */
	if (c->have_cg && (r = cgroup_attach(&c->cg, pid)) < 0)
		return r;
	if (spec->network && (r = ns_slirp_start(ns_fds[0], ns_fds[1],
	    slirp_pid, slirp_w)) < 0)
		return r;
	if ((n = write(sync_w, "g", 1)) != 1)
		return n < 0 ? -errno : -EIO;
	return 0;
}

static int
ns_cell_start(const struct cell_spec *spec, struct ns_cell *ret)
{
	_cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
	_cleanup_close_ int rep_r = -1, rep_w = -1, sync_r = -1, sync_w = -1;
	_cleanup_close_ int slirp_w = -1, netns_fd = -1, userns_fd = -1;
	_cleanup_close_ int work_fd = -1;
	pid_t slirp_pid = -1;
	struct privs_owner owner;
	struct cell_fds f;
	sigset_t all, old;
	pid_t pid;
	int r;

	if ((r = check_spec(spec)) < 0)
		return r;
	if (!ns_cell_filter.insns &&
	    (r = seccomp_prog_build(EPERM, &ns_cell_filter)) < 0)
		return r;
	if ((r = ns_make_pipe(&out_r, &out_w, true)) < 0 ||
	    (r = ns_make_pipe(&err_r, &err_w, true)) < 0 ||
	    (r = ns_make_pipe(&rep_r, &rep_w, true)) < 0 ||
	    (r = ns_make_pipe(&sync_r, &sync_w, false)) < 0)
		return r;
	if ((work_fd = ns_workspace_tree(spec)) < -1)
		return work_fd;

	/* The child starts with every signal blocked, so none of the worker's
	 * handlers runs in it and a TERM sent before init installs its
	 * handler stays pending instead of being dropped (an init without a
	 * handler discards it). CLONE_NEWCGROUP is left to the child, after
	 * the cgroup attach. A fork-style clone (no new stack), as bubblewrap. */
	if (sigfillset(&all) < 0 || sigprocmask(SIG_SETMASK, &all, &old) < 0)
		return -errno;
	/* The new user namespace is owned by the slot's uid, not root: the
	 * per-user counters of the cell are charged to it (privs.h). */
	if ((r = privs_owner_begin(spec->host_uid, spec->host_gid,
	    &owner)) < 0) {
		(void) sigprocmask(SIG_SETMASK, &old, NULL);
		return r;
	}
	pid = (pid_t) syscall(SYS_clone, (unsigned long) (CLONE_NEWUSER |
	    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS |
	    CLONE_NEWIPC | SIGCHLD), NULL, NULL, NULL, 0UL);
	r = pid < 0 ? -errno : 0;
	/* Only the namespace's owner may open it now (the ptrace access
	 * rules: the worker has no CAP_SYS_PTRACE): a networked cell's
	 * network namespace is opened here, for slirp4netns. */
	if (pid > 0 && spec->network &&
	    ((netns_fd = open_ns(pid, "net")) < 0 ||
	    (userns_fd = open_ns(pid, "user")) < 0))
		r = netns_fd < 0 ? netns_fd : userns_fd;
	if (pid != 0 && privs_owner_end(&owner) < 0)
		abort();	/* a worker that cannot be root again must not
				 * go on: its supervisor forks a new one */
	if (pid == 0) {
		f = (struct cell_fds){
			.out_w = out_w,
			.err_w = err_w,
			.report_w = rep_w,
			.sync_r = sync_r,
			.stdin_fd = spec->stdin_fd,
			.work_fd = work_fd,
		};
		(void) close(out_r);
		(void) close(err_r);
		(void) close(rep_r);
		(void) close(sync_w);
		ns_cell_main(spec, &f);
	}
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0 && r == 0)
		r = -errno;
	if (pid < 0)
		return r;
	close_fd(&out_w);
	close_fd(&err_w);
	close_fd(&rep_w);
	close_fd(&sync_r);
	close_fd(&work_fd);
	if (r < 0)
		goto fail;

	if ((r = let_go(spec, ret, pid, (const int[]) { netns_fd, userns_fd },
	    sync_w, &slirp_pid, &slirp_w)) < 0)
		goto fail;

	ret->pid = pid;
	ret->slirp_pid = slirp_pid;
	ret->slirp_exit_fd = steal_fd(&slirp_w);
	ret->stdout_fd = steal_fd(&out_r);
	ret->stderr_fd = steal_fd(&err_r);
	ret->report_fd = steal_fd(&rep_r);
	copy_name(ret->argv0, sizeof(ret->argv0), spec->argv[0]);
	return 0;
fail:
	ns_kill_and_reap(pid);	/* it is still waiting on sync: nothing ran */
	if (slirp_pid > 0) {
		close_fd(&slirp_w);
		ns_kill_and_reap(slirp_pid);
	}
	return r;
}

static int
ns_cell_signal(struct ns_cell *c, int sig)
{
	if (sig != SIGTERM && sig != SIGKILL)
		return -EINVAL;
	if (c->pid <= 0)
		return -ESRCH;
	if (kill(c->pid, sig) < 0)
		return -errno;
	return 0;
}

static const char *
step_name(int32_t step)
{
	if (step >= CELL_STEP_PRIVS && step < CELL_STEP_PRIVS + PRIVS_STEP__MAX)
		return privs_step_name(step - CELL_STEP_PRIVS);
	if (step > 0 && step < CELL_STEP__MAX && cell_step_names[step])
		return cell_step_names[step];
	return "an unknown step";
}

static void
describe_failure(const struct ns_cell *c, const struct cell_report *rec,
    char *buf, size_t size)
{
	char ebuf[128];
	const char *es;
	int err = rec->err > 0 && rec->err < 4096 ? rec->err : EIO;

	es = strerror_r(err, ebuf, sizeof(ebuf));
	if (rec->step == CELL_STEP_EXEC)
		(void) snprintf(buf, size, "exec '%s': %s", c->argv0, es);
	else
		(void) snprintf(buf, size, "cannot build the cell: %s: %s",
		    step_name(rec->step), es);
}

static int
ns_cell_try_wait(struct ns_cell *c, struct cell_result *ret)
{
	struct cell_report rec, failed = { 0 }, exited = { 0 };
	bool have_failed = false, have_exited = false;
	struct cell_result res;
	ssize_t n;
	pid_t w;
	int st;

	if (c->pid <= 0)
		return -ECHILD;
	w = waitpid(c->pid, &st, WNOHANG);
	if (w < 0)
		return -errno;
	if (w == 0)
		return 0;
	c->pid = -1;

	/* Init is gone, and with it every process of the cell (the kernel
	 * reaps the pid namespace before init's exit completes), so the pipe
	 * holds all there will ever be: at most an exec failure and the
	 * exit record. Take a few, never more. */
	for (int i = 0; i < 4; i++) {
		n = read_full(c->report_fd, &rec, sizeof(rec));
		if (n != (ssize_t) sizeof(rec))
			break;
		if (rec.kind == CELL_REPORT_SETUP_FAILED && !have_failed) {
			failed = rec;
			have_failed = true;
		} else if (rec.kind == CELL_REPORT_EXITED && !have_exited) {
			exited = rec;
			have_exited = true;
		}
	}

	memset(&res, 0, sizeof(res));
	if (have_failed) {
		res.outcome = CELL_SETUP_FAILED;
		describe_failure(c, &failed, res.error, sizeof(res.error));
	} else if (have_exited && WIFEXITED(exited.wstatus)) {
		res.outcome = CELL_EXITED;
		res.exit_code = WEXITSTATUS(exited.wstatus);
	} else if (have_exited && WIFSIGNALED(exited.wstatus)) {
		res.outcome = CELL_SIGNALED;
		res.signal = WTERMSIG(exited.wstatus);
	} else if (!have_exited && WIFSIGNALED(st)) {
		/* Init killed before the job ended: our SIGKILL (timeout,
		 * cancel) or the worker's death taking it along. */
		res.outcome = CELL_SIGNALED;
		res.signal = WTERMSIG(st);
	} else {
		res.outcome = CELL_SETUP_FAILED;
		(void) snprintf(res.error, sizeof(res.error),
		    "cannot build the cell: its init ended (status 0x%x) "
		    "without a report", (unsigned) st);
	}
	*ret = res;
	return 1;
}

static void
ns_cell_end(struct ns_cell *c)
{
	if (c->pid > 0) {
		ns_kill_and_reap(c->pid);
		c->pid = -1;
	}
	ns_slirp_stop(c);
	close_fd(&c->stdout_fd);
	close_fd(&c->stderr_fd);
	close_fd(&c->report_fd);
}


/* ---- the ops table ---- */

static int
ns_start(const struct cell_spec *spec, struct cell *ret, char *msg,
    size_t size)
{
	struct ns_cell *nc = calloc(1, sizeof(*nc));
	int r;

	if (!nc) {
		(void) snprintf(msg, size, "the cell could not be built: %s",
		    strerror(ENOMEM));
		return -ENOMEM;
	}
	*nc = (struct ns_cell) { .pid = -1, .stdout_fd = -1, .stderr_fd = -1,
		.report_fd = -1, .slirp_pid = -1, .slirp_exit_fd = -1 };
	(void) str_copy(nc->job_id, sizeof(nc->job_id), spec->job_id ?
	    spec->job_id : "");
	if (!(spec->flags & CELL_NO_CGROUP)) {
		if ((r = cell_cgroup_create(spec, &nc->cg)) < 0) {
			(void) snprintf(msg, size, "the cell could not be built: "
			    "cannot create its cgroup: %s", strerror(-r));
			free(nc);
			return r;
		}
		nc->have_cg = true;
	}
	if ((r = ns_cell_start(spec, nc)) < 0) {
		(void) snprintf(msg, size, "the cell could not be built: %s",
		    strerror(-r));
		if (nc->have_cg)
			cell_cgroup_destroy(nc->job_id, &nc->cg, false);
		free(nc);
		return r;
	}
	*ret = (struct cell) { .ops = &cell_ns_ops, .stdout_fd = nc->stdout_fd,
		.stderr_fd = nc->stderr_fd, .priv = nc };
	/* Readable once the cell's init has exited: wakes the run loop at
	 * once (pidfd_open(2), Linux 5.3; always close-on-exec); without
	 * it the loop looks every few ms. Our unreaped child: the pid
	 * cannot be reused under us. */
	ret->exit_fd = (int) syscall(SYS_pidfd_open, nc->pid, 0);
	if (ret->exit_fd < 0)
		ret->exit_fd = -1;
	return 0;
}

static int
ns_signal(struct cell *c, int sig)
{
	return ns_cell_signal(c->priv, sig);
}

static int
ns_try_wait(struct cell *c, struct cell_result *ret)
{
	return ns_cell_try_wait(c->priv, ret);
}

static void
ns_collect(struct cell *c, struct cell_result *res, struct cell_usage *ret)
{
	struct ns_cell *nc = c->priv;

	ns_cell_end(nc);
	nc->collected = true;
	c->stdout_fd = c->stderr_fd = -1;
	if (nc->have_cg)
		cell_cgroup_usage(nc->job_id, &nc->cg,
		    res->outcome == CELL_SIGNALED && res->signal == SIGKILL, ret);
}

static void
ns_release(struct cell *c)
{
	struct ns_cell *nc = c->priv;

	if (!nc)
		return;
	if (!nc->collected)
		ns_cell_end(nc);
	if (nc->have_cg)
		cell_cgroup_destroy(nc->job_id, &nc->cg, false);
	close_fd(&c->exit_fd);
	c->stdout_fd = c->stderr_fd = -1;
	free(nc);
	c->priv = NULL;
}

/* A job of a previous run: whatever is left in its cgroup dies now. */
static void
ns_reap(const char *job_id)
{
	struct cgroup cg;
	int n, r;

	if (cgroup_open(&cell_cg_root, job_id, &cg) < 0)
		return;		/* none: nothing left */
	n = cgroup_count_procs(&cg);
	if ((r = cgroup_destroy(&cg)) < 0)
		log_err("job=%s: cannot remove the cgroup of a previous run: %s",
		    job_id, strerror(-r));
	else if (n > 0)
		log_warn("job=%s: killed %d process(es) left from a previous "
		    "run", job_id, n);
}

const struct cell_ops cell_ns_ops = {
	.name = "namespace",
	.start = ns_start,
	.signal = ns_signal,
	.try_wait = ns_try_wait,
	.collect = ns_collect,
	.release = ns_release,
	.reap = ns_reap,
};
