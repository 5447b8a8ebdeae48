/* ns_pool.c - warm cells for the namespace backend (issue 17): while a
 * worker is idle (or its job runs) it prepares the next cell, so that a
 * claimed job pays only for what is its own. Runs in a jobcell-worker
 * process (single-threaded, root) and, after clone(), as the warm cell's
 * init. The worker trusts nothing from the cell but the report records
 * ns_cell.c reads; the cell trusts only the worker's job message.
 *
 * How it works
 *
 *   worker (cell_pool_prepare)        warm init (pid 1 of new namespaces)
 *   --------------------------        -----------------------------------
 *   pipes out, err, report, sync;
 *   socketpair job; clone(the cold
 *   path's namespaces)           ->   ns_init_setup: ids, fds, hostname,
 *   id maps; "g" on sync              lo, root (pool's disk size, no
 *   (back to the doorbell)            network), /proc, counters; then
 *                                     blocks in recvmsg(job): no CPU
 *   a cgroup "warm-<worker pid>",
 *   no limits, init attached
 *   a job is claimed (ns_start ->
 *   ns_pool_take): the cgroup
 *   renamed to the job's id, its
 *   limits written; the job msg  ->   reads it (argv, env, cwd, files,
 *   (+ its stdin fd, SCM_RIGHTS)      disk size); resizes /work, /tmp,
 *                                     /dev/shm if needed; ns_init_run:
 *                                     cgroup ns, files, cwd, privileges
 *                                     dropped, the job, reaping
 *
 * The clone is made by the worker's helper (ns_zygote.c, CLONE_PARENT:
 * the cell is the worker's child all the same) while it runs, else by
 * the worker itself.
 *
 * From there the cell is the cold path's: the same struct ns_cell, the
 * same report pipe, try_wait, collect, release. A warm cell is taken once
 * and forgotten by the pool whatever happens; a job it cannot serve
 * (network, another slot's ids) takes the cold path. Dropping an idle warm
 * cell (cell_pool_drop) is one SIGKILL, its namespaces and mounts go with
 * it, and its cgroup is removed; after the worker's death (PDEATHSIG) the
 * supervisor removes the cgroup (cell_pool_reap_orphan). The cgroup is
 * made ahead because creating and joining it was ~0.4 ms of a warm
 * cell's start on cgroup v1 (four hierarchies), more than renaming it
 * and writing the limits (bench/cell, issue 17). On cgroup v2, which
 * cannot rename a cgroup, the job's is made when it comes, as before. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "io.h"
#include "jc_limits.h"
#include "cell_int.h"
#include "log.h"
#include "ns_int.h"
#include "privs.h"
#include "seccomp.h"
#include "banned.h"

#define POOL_MSG_MAGIC 0x6a63776dU	 /* "jcwm" */
#define POOL_MSG_MAX (64u * 1024 * 1024) /* argv + env + files */
#define POOL_MAX_STRINGS 65536u
#define POOL_MAX_FAILS 3 /* warm cells that died idle: stop trying */

/* The job, as the worker sends it to a warm cell; payload follows:
 * argv, env and compile argv strings (NUL-terminated), cwd (if has_cwd),
 * then per file its path (NUL-terminated), an 8-byte length and its
 * bytes. The fds named in fds ride along (SCM_RIGHTS), in POOL_FD_* order. */
struct pool_msg {
	uint32_t magic;
	uint32_t nargv;
	uint32_t nenv;
	uint32_t nfiles;
	uint64_t disk_mb;
	uint64_t len;
	uint32_t has_cwd;
	uint32_t fds;	   /* POOL_FD_* bits */
	uint32_t ncompile; /* compile argv strings; 0: no compile step */
	uint32_t pad;
	int64_t compile_timeout_ms;
	uint64_t compile_memory_mb;
	uint64_t run_data_mb;
};

/* The fds a job message may carry, in this order. */
enum {
	POOL_FD_STDIN = 1u << 0,   /* the job's stdin */
	POOL_FD_WORK = 1u << 1,	   /* its disk workspace (open_tree clone) */
	POOL_FD_COMPILE = 1u << 2, /* the compile step's stdout + stderr */
};
#define POOL_MAX_FDS 4

static struct warm_cell pool = WARM_CELL_INIT;
static int pool_fails;

/* ---- the warm cell's side ---- */

/* The next NUL-terminated string of p[*off, len); NULL if there is none. */
static char *
take_str(char *p, uint64_t len, uint64_t *off)
{
	char *s = p + *off, *nul;

	if (*off >= len || !(nul = memchr(s, '\0', len - *off)))
		return NULL;
	*off += (uint64_t) (nul - s) + 1;
	return s;
}

/* A file's length word also carries its executable bit (a file is far
 * below 2^63 bytes: POOL_MSG_MAX bounds the whole message). */
#define POOL_FILE_EXEC (UINT64_C(1) << 63)

/* The fds of a job message, in POOL_FD_* order, into f (each moved
 * above stdio: the cell closed 0-2). 0 or -errno. */
static int
take_fds(const struct pool_msg *m, const int *got, size_t ngot,
    struct cell_fds *f)
{
	int *dst[POOL_MAX_FDS];
	size_t n = 0;

	if (m->fds & POOL_FD_STDIN)
		dst[n++] = &f->stdin_fd;
	if (m->fds & POOL_FD_WORK)
		dst[n++] = &f->work_fd;
	if (m->fds & POOL_FD_COMPILE) {
		dst[n++] = &f->compile_out_w;
		dst[n++] = &f->compile_err_w;
	}
	if (n != ngot)
		return -EPROTO;
	for (size_t i = 0; i < n; i++)
		if ((*dst[i] = ns_fd_above_stdio(got[i])) < 0)
			return *dst[i];
	return 0;
}

/* Reads the job message into a spec pointing into a blob (never freed:
 * the init lives as long as the cell), its fds into f. 0, 1 on EOF (the
 * pool dropped us), -errno. */
static int
read_job(int fd, struct cell_spec *spec, struct cell_fds *f)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(POOL_MAX_FDS * sizeof(int))];
	} cm;
	struct pool_msg m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm.buf,
		.msg_controllen = sizeof(cm.buf),
	};
	struct cmsghdr *c;
	char *blob, **argv, **envp, **cargv = NULL;
	struct cell_file *files = NULL;
	int got[POOL_MAX_FDS];
	size_t ngot = 0;
	uint64_t off = 0;
	ssize_t n;
	int r;

	do
		n = recvmsg(fd, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 1;
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(0) &&
		    c->cmsg_len <= CMSG_LEN(sizeof(got))) {
			ngot = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(got, CMSG_DATA(c), ngot * sizeof(int));
		}
	if ((size_t) n != sizeof(m) || m.magic != POOL_MSG_MAGIC ||
	    m.len > POOL_MSG_MAX || m.nargv < 1 || m.nargv > POOL_MAX_STRINGS ||
	    m.nenv > POOL_MAX_STRINGS || m.nfiles > POOL_MAX_STRINGS ||
	    m.ncompile > POOL_MAX_STRINGS || m.disk_mb < 1 ||
	    m.disk_mb > CELL_DISK_MB_MAX)
		return -EPROTO;
	if (mh.msg_flags & MSG_CTRUNC)
		return -EPROTO;
	if ((r = take_fds(&m, got, ngot, f)) < 0)
		return r;
	blob = malloc((size_t) m.len + 1);
	argv = calloc((size_t) m.nargv + 1, sizeof(*argv));
	envp = calloc((size_t) m.nenv + 1, sizeof(*envp));
	if (m.ncompile)
		cargv = calloc((size_t) m.ncompile + 1, sizeof(*cargv));
	if (m.nfiles)
		files = calloc(m.nfiles, sizeof(*files));
	if (!blob || !argv || !envp || (m.nfiles && !files) ||
	    (m.ncompile && !cargv))
		return -ENOMEM;
	if (read_full(fd, blob, (size_t) m.len) != (ssize_t) m.len)
		return -EPROTO;
	blob[m.len] = '\0';
	for (uint32_t i = 0; i < m.nargv; i++)
		if (!(argv[i] = take_str(blob, m.len, &off)))
			return -EPROTO;
	for (uint32_t i = 0; i < m.nenv; i++)
		if (!(envp[i] = take_str(blob, m.len, &off)))
			return -EPROTO;
	for (uint32_t i = 0; i < m.ncompile; i++)
		if (!(cargv[i] = take_str(blob, m.len, &off)))
			return -EPROTO;
	*spec = (struct cell_spec){ .argv = argv,
		.envp = envp,
		.disk_mb = m.disk_mb,
		.files = files,
		.nfiles = m.nfiles,
		.compile_argv = cargv,
		.compile_timeout_ms = m.compile_timeout_ms,
		.compile_memory_mb = m.compile_memory_mb,
		.run_data_mb = m.run_data_mb };
	if (m.has_cwd && !(spec->cwd = take_str(blob, m.len, &off)))
		return -EPROTO;
	for (uint32_t i = 0; i < m.nfiles; i++) {
		uint64_t flen;

		if (!(files[i].path = take_str(blob, m.len, &off)) ||
		    m.len - off < sizeof(flen))
			return -EPROTO;
		memcpy(&flen, blob + off, sizeof(flen));
		off += sizeof(flen);
		files[i].executable = (flen & POOL_FILE_EXEC) != 0;
		flen &= ~POOL_FILE_EXEC;
		if (flen > m.len - off)
			return -EPROTO;
		files[i].data = blob + off;
		files[i].len = (size_t) flen;
		off += flen;
	}
	return off == m.len ? 0 : -EPROTO;
}

/* The warm cell's init: the cold path's setup, then a wait for the job. */
static _Noreturn void
warm_main(const struct cell_spec *tmpl, struct cell_fds *f)
{
	struct cell_spec spec;
	bool disk;
	int r;

	ns_init_setup(tmpl, f);
	(void) prctl(PR_SET_NAME, (unsigned long) "cell-warm", 0L, 0L, 0L);
	if ((r = read_job(f->job_r, &spec, f)) != 0) {
		if (r > 0)
			_exit(0); /* dropped before any job */
		ns_die(f->report_w, CELL_STEP_SYNC, r);
	}
	(void) close(f->job_r);
	f->job_r = -1;
	/* A disk workspace replaces the tmpfs /work (ns_workspace.c); the
	 * rest of the scratch space takes the job's size. */
	disk = f->work_fd >= 0;
	if (disk) {
		if ((r = ns_swap_in_workspace(f->work_fd)) < 0)
			ns_die(f->report_w, CELL_STEP_WORK, r);
		(void) close(f->work_fd);
		f->work_fd = -1;
	}
	if (spec.disk_mb != tmpl->disk_mb &&
	    (r = ns_resize_scratch(spec.disk_mb, !disk)) < 0)
		ns_die(f->report_w, CELL_STEP_WORK, r);
	ns_init_run(&spec, f);
}

/* ---- the worker's side ---- */

void
ns_pool_warm_end(struct warm_cell *w)
{
	if (w->pid > 0)
		ns_kill_and_reap(w->pid);
	w->pid = -1;
	if (w->have_cg)
		(void) cgroup_destroy(&w->cg);
	w->have_cg = false;
	close_fd(&w->out_r);
	close_fd(&w->err_r);
	close_fd(&w->report_r);
	close_fd(&w->job_w);
}

/* Why a warm cell ended before its job: its report, for the log. */
static void
log_lost(struct warm_cell *w)
{
	struct cell_report rec;

	if (read_full(w->report_r, &rec, sizeof(rec)) ==
		(ssize_t) sizeof(rec) &&
	    rec.kind == CELL_REPORT_SETUP_FAILED)
		log_warn("warm cell: could not be built (step %d: %s), using "
			 "cold cells%s",
		    (int) rec.step,
		    strerror(rec.err > 0 && rec.err < 4096 ? rec.err : EIO),
		    pool_fails + 1 >= POOL_MAX_FAILS ? " from now on" : "");
	else
		log_warn("warm cell: ended while idle, ignoring");
}

/* True while the prepared cell waits; reaps and forgets it otherwise. */
static bool
warm_alive(struct warm_cell *w)
{
	pid_t r;

	if (w->pid <= 0)
		return false;
	r = waitpid(w->pid, NULL, WNOHANG);
	if (r == 0)
		return true;
	if (r == w->pid)
		w->pid = -1; /* reaped: nothing to kill */
	log_lost(w);
	pool_fails++;
	ns_pool_warm_end(w);
	return false;
}

int
ns_pool_warm_clone(const struct cell_pool_config *cfg, struct warm_cell *w,
    unsigned long extra_flags)
{
	_cleanup_close_ int out_w = -1, err_w = -1, rep_w = -1, sync_r = -1;
	_cleanup_close_ int sync_w = -1;
	int sv[2];
	struct cell_spec tmpl = {
		.host_uid = cfg->host_uid,
		.host_gid = cfg->host_gid,
		.disk_mb = cfg->disk_mb,
		.stdin_fd = -1,
	};
	struct privs_owner owner;
	struct cell_fds f;
	sigset_t all, old;
	ssize_t n;
	pid_t pid;
	int r;

	if ((r = ns_make_pipe(&w->out_r, &out_w, true)) < 0 ||
	    (r = ns_make_pipe(&w->err_r, &err_w, true)) < 0 ||
	    (r = ns_make_pipe(&w->report_r, &rep_w, true)) < 0 ||
	    (r = ns_make_pipe(&sync_r, &sync_w, false)) < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	w->job_w = sv[0];
	/* As ns_cell_start: every signal blocked in the child, the user
	 * namespace owned by the slot's uid. */
	if (sigfillset(&all) < 0 || sigprocmask(SIG_SETMASK, &all, &old) < 0) {
		(void) close(sv[1]);
		return -errno;
	}
	if ((r = privs_owner_begin(cfg->host_uid, cfg->host_gid, &owner)) < 0) {
		(void) sigprocmask(SIG_SETMASK, &old, NULL);
		(void) close(sv[1]);
		return r;
	}
	pid = (pid_t) syscall(SYS_clone,
	    (unsigned long) (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS |
		CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD) |
		extra_flags,
	    NULL, NULL, NULL, 0UL);
	r = pid < 0 ? -errno : 0;
	if (pid != 0 && privs_owner_end(&owner) < 0)
		abort(); /* as ns_cell_start: never go on as non-root */
	if (pid == 0) {
		f = (struct cell_fds){
			.out_w = out_w,
			.err_w = err_w,
			.report_w = rep_w,
			.sync_r = sync_r,
			.stdin_fd = -1,
			.work_fd = -1,
			.job_r = sv[1],
			.compile_out_w = -1,
			.compile_err_w = -1,
		};
		(void) close(w->out_r);
		(void) close(w->err_r);
		(void) close(w->report_r);
		(void) close(w->job_w);
		(void) close(sync_w);
		warm_main(&tmpl, &f);
	}
	(void) close(sv[1]);
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0 && r == 0)
		r = -errno;
	if (pid < 0)
		return r;
	w->pid = pid;
	if (r < 0)
		return r;
	if ((r = privs_write_id_maps(pid, CELL_UID, cfg->host_uid, CELL_GID,
		 cfg->host_gid)) < 0)
		return r;
	if ((n = write(sync_w, "g", 1)) != 1)
		return n < 0 ? -errno : -EIO;
	w->uid = cfg->host_uid;
	w->gid = cfg->host_gid;
	w->disk_mb = cfg->disk_mb;
	return 0;
}

/* The warm cell's cgroup, made and joined now rather than when its job
 * comes; without limits until then. On failure the cell has none and
 * ns_pool_take makes the job's as the cold path does. */
static void
warm_cgroup(struct warm_cell *w)
{
	static const struct cgroup_limits none = { 0 };
	char name[32];
	int r;

	/* v1 only: cgroup2 cannot rename a cgroup, and there a job's is one
	 * mkdir, not one per hierarchy. */
	if (cell_cg_root.version != CGROUP_V1)
		return;
	(void) snprintf(name, sizeof(name), CELL_POOL_CGROUP_PREFIX "%ld",
	    (long) getpid());
	r = cgroup_create(&cell_cg_root, name, &none, &w->cg);
	if (r == -EEXIST) {
		/* A dead worker's of the same pid: ours now. */
		cell_pool_reap_orphan(getpid());
		r = cgroup_create(&cell_cg_root, name, &none, &w->cg);
	}
	if (r < 0) {
		log_warn("warm cell: cannot make its cgroup: %s; it is made "
			 "when the job comes",
		    strerror(-r));
		return;
	}
	if ((r = cgroup_attach(&w->cg, w->pid)) < 0) {
		log_warn("warm cell: cannot join its cgroup: %s", strerror(-r));
		(void) cgroup_destroy(&w->cg);
		return;
	}
	w->have_cg = true;
}

int
cell_pool_prepare(const struct cell_pool_config *cfg)
{
	struct warm_cell w = WARM_CELL_INIT;
	int r;

	if (!cfg || cfg->host_uid == 0 || cfg->host_gid == 0 ||
	    cfg->disk_mb < 1 || cfg->disk_mb > CELL_DISK_MB_MAX)
		return -EINVAL;
	if (warm_alive(&pool)) {
		if (pool.uid == cfg->host_uid && pool.gid == cfg->host_gid)
			return 0;
		ns_pool_warm_end(&pool);
	}
	if (pool_fails >= POOL_MAX_FAILS)
		return -EHOSTDOWN;
	/* The filter the job installs is built once, before any clone. */
	if (!ns_cell_filter.insns &&
	    (r = seccomp_prog_build(EPERM, &ns_cell_filter)) < 0)
		return r;
	if (ns_zygote_running()) {
		if ((r = ns_zygote_prepare(cfg, &w)) == 0) {
			warm_cgroup(&w);
			pool = w;
			return 0;
		}
		if (r != -EPIPE) {
			pool_fails++;
			return r;
		}
		/* the helper is gone: clone from here from now on */
	}
	if ((r = ns_pool_warm_clone(cfg, &w, 0)) < 0) {
		ns_pool_warm_end(&w);
		pool_fails++;
		return r;
	}
	warm_cgroup(&w);
	pool = w;
	return 0;
}

void
cell_pool_reap_orphan(pid_t worker_pid)
{
	struct cgroup cg;
	char name[32];

	(void) snprintf(name, sizeof(name), CELL_POOL_CGROUP_PREFIX "%ld",
	    (long) worker_pid);
	if (cell_cg_root.version != CGROUP_NONE &&
	    cgroup_open(&cell_cg_root, name, &cg) == 0)
		(void) cgroup_destroy(&cg); /* kills what is left in it */
}

void
cell_pool_drop(void)
{
	ns_pool_warm_end(&pool);
	ns_zygote_stop();
}

pid_t
cell_pool_pid(void)
{
	return warm_alive(&pool) ? pool.pid : -1;
}

/* Adds n bytes of src at *p (the caller sized the buffer). */
static void
put(char **p, const void *src, size_t n)
{
	memcpy(*p, src, n);
	*p += n;
}

/* The job message for spec: a header and a payload (malloc'd). */
static int
build_msg(const struct cell_spec *spec, struct pool_msg *ret_m,
    char **ret_payload)
{
	struct pool_msg m = { .magic = POOL_MSG_MAGIC,
		.disk_mb = spec->disk_mb,
		.nfiles = (uint32_t) spec->nfiles,
		.has_cwd = spec->cwd != NULL,
		.compile_timeout_ms = spec->compile_timeout_ms,
		.compile_memory_mb = spec->compile_memory_mb,
		.run_data_mb = spec->run_data_mb };
	uint64_t len = 0;
	char *buf, *p;

	for (; spec->argv[m.nargv]; m.nargv++)
		len += strlen(spec->argv[m.nargv]) + 1;
	for (; spec->envp[m.nenv]; m.nenv++)
		len += strlen(spec->envp[m.nenv]) + 1;
	for (; spec->compile_argv && spec->compile_argv[m.ncompile];
	     m.ncompile++)
		len += strlen(spec->compile_argv[m.ncompile]) + 1;
	if (spec->cwd)
		len += strlen(spec->cwd) + 1;
	for (size_t i = 0; i < spec->nfiles; i++)
		len += strlen(spec->files[i].path) + 1 + sizeof(uint64_t) +
		    spec->files[i].len;
	if (len > POOL_MSG_MAX || m.nargv > POOL_MAX_STRINGS ||
	    m.nenv > POOL_MAX_STRINGS || m.ncompile > POOL_MAX_STRINGS ||
	    spec->nfiles > POOL_MAX_STRINGS)
		return -E2BIG;
	m.len = len;
	if (!(buf = malloc(len ? (size_t) len : 1)))
		return -ENOMEM;
	p = buf;
	for (uint32_t i = 0; i < m.nargv; i++)
		put(&p, spec->argv[i], strlen(spec->argv[i]) + 1);
	for (uint32_t i = 0; i < m.nenv; i++)
		put(&p, spec->envp[i], strlen(spec->envp[i]) + 1);
	for (uint32_t i = 0; i < m.ncompile; i++)
		put(&p, spec->compile_argv[i],
		    strlen(spec->compile_argv[i]) + 1);
	if (spec->cwd)
		put(&p, spec->cwd, strlen(spec->cwd) + 1);
	for (size_t i = 0; i < spec->nfiles; i++) {
		uint64_t flen = spec->files[i].len |
		    (spec->files[i].executable ? POOL_FILE_EXEC : 0);

		put(&p, spec->files[i].path, strlen(spec->files[i].path) + 1);
		put(&p, &flen, sizeof(flen));
		put(&p, spec->files[i].data, spec->files[i].len);
	}
	*ret_m = m;
	*ret_payload = buf;
	return 0;
}

/* Sends the header (with the fds: stdin, the workspace's mount, the
 * compile pipes; each if the job has it) and the payload; the cell reads
 * as we write (MSG_NOSIGNAL: a dead cell is -EPIPE, not a signal). */
static int
send_job(int fd, const struct cell_spec *spec, int work_fd, int cout_w,
    int cerr_w)
{
	_cleanup_free_ char *payload = NULL;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(POOL_MAX_FDS * sizeof(int))];
	} cm;
	struct pool_msg m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[POOL_MAX_FDS];
	size_t done = 0, nfds = 0;
	ssize_t n;
	int r;

	if ((r = build_msg(spec, &m, &payload)) < 0)
		return r;
	if (spec->stdin_fd >= 0) {
		m.fds |= POOL_FD_STDIN;
		fds[nfds++] = spec->stdin_fd;
	}
	if (work_fd >= 0) {
		m.fds |= POOL_FD_WORK;
		fds[nfds++] = work_fd;
	}
	if (cout_w >= 0 && cerr_w >= 0) {
		m.fds |= POOL_FD_COMPILE;
		fds[nfds++] = cout_w;
		fds[nfds++] = cerr_w;
	}
	if (nfds) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(&cm.h), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t) sizeof(m))
		return n < 0 ? -errno : -EIO; /* a stream socket: all or
						 * nothing below its buffer */
	while (done < m.len) {
		n = send(fd, payload + done, (size_t) m.len - done,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t) n;
	}
	return 0;
}

/* Whether warm cell w can serve spec. Only what was fixed when it was
 * cloned can refuse a job: the network (a warm cell has none), the slot's
 * host ids, and its cgroup: one of its own, if it has one, which a job
 * without a cgroup (CELL_NO_CGROUP) must not get. The disk size is
 * resized to the job's, and a disk workspace's mount and a code job's
 * compile pipes go with the job message. The rest checks spec is whole. */
static bool
spec_fits(const struct cell_spec *spec, const struct warm_cell *w)
{
	if (w->have_cg && (spec->flags & CELL_NO_CGROUP))
		return false;
	return spec->argv && spec->argv[0] && spec->envp && !spec->network &&
	    spec->host_uid == w->uid && spec->host_gid == w->gid &&
	    spec->disk_mb >= 1 && spec->disk_mb <= CELL_DISK_MB_MAX &&
	    (spec->nfiles == 0 || spec->files);
}

int
ns_pool_take(const struct cell_spec *spec, struct ns_cell *nc)
{
	_cleanup_close_ int work_fd = -1, cout_r = -1, cout_w = -1;
	_cleanup_close_ int cerr_r = -1, cerr_w = -1;
	struct warm_cell w;
	size_t i;
	int r;

	if (pool.pid <= 0 || !spec_fits(spec, &pool) || !warm_alive(&pool))
		return -ENOENT;
	/* As ns_cell_start: the workspace's detached clone and the compile
	 * pipes; the cell gets its ends with the job. A failure here costs
	 * nothing of the warm cell: it stays for the next job. */
	if ((work_fd = ns_workspace_tree(spec)) < -1)
		return -ENOENT;
	if (spec->compile_argv &&
	    (ns_make_pipe(&cout_r, &cout_w, true) < 0 ||
		ns_make_pipe(&cerr_r, &cerr_w, true) < 0))
		return -ENOENT;
	w = pool; /* used once: the pool forgets it now */
	pool = (struct warm_cell) WARM_CELL_INIT;
	/* The job's cgroup, with its limits, before anything of the job
	 * runs: init is in it, and unshares its cgroup namespace there. The
	 * warm cell's own becomes the job's (named after it, for the sweeps
	 * and the supervisor's restart); else one is made now. */
	if (w.have_cg) {
		struct cgroup_limits lim = { .memory_mb = spec->memory_mb,
			.pids = spec->pids + 1, /* + init, as cell.c */
			.cpus = spec->cpus };

		if ((r = cgroup_rename(&w.cg, spec->job_id)) < 0)
			goto fail;
		nc->cg = w.cg;
		nc->have_cg = true;
		w.have_cg = false;
		if ((r = cgroup_set_limits(&nc->cg, &lim)) < 0)
			goto fail;
	} else if (!(spec->flags & CELL_NO_CGROUP)) {
		if ((r = cell_cgroup_create(spec, &nc->cg)) < 0)
			goto fail;
		nc->have_cg = true;
		if ((r = cgroup_attach(&nc->cg, w.pid)) < 0)
			goto fail;
	}
	if ((r = send_job(w.job_w, spec, work_fd, cout_w, cerr_w)) < 0)
		goto fail;
	close_fd(&w.job_w);
	nc->pid = w.pid;
	nc->slirp_pid = -1;
	nc->slirp_exit_fd = -1;
	nc->stdout_fd = w.out_r;
	nc->stderr_fd = w.err_r;
	nc->compile_out_fd = steal_fd(&cout_r);
	nc->compile_err_fd = steal_fd(&cerr_r);
	nc->report_fd = w.report_r;
	for (i = 0; i + 1 < sizeof(nc->argv0) && spec->argv[0][i]; i++)
		nc->argv0[i] = (unsigned char) spec->argv[0][i] < 0x20 ||
			spec->argv[0][i] == 0x7f ?
		    '?' :
		    spec->argv[0][i];
	nc->argv0[i] = '\0';
	return 0;
fail:
	log_warn("job=%s: warm cell unusable: %s, using a cold one", nc->job_id,
	    strerror(-r));
	ns_pool_warm_end(&w);
	if (nc->have_cg)
		cell_cgroup_destroy(nc->job_id, &nc->cg, false);
	nc->have_cg = false;
	return -ENOENT;
}
