/* ns_int.h - private to the namespace backend (ns_*.c): the steps and
 * records between the cell and the worker, the fds the cell keeps, and the
 * calls between the files of the backend. Runs in a jobcell-worker process
 * and, after clone(), in the cell. */
#ifndef JOBCELL_NS_INT_H
#define JOBCELL_NS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cell.h"
#include "cgroup.h"
#include "seccomp.h"

#define CELL_UID 1000		/* uid/gid the job sees inside the cell */
#define CELL_GID 1000
#define CELL_NOFILE 1024	/* RLIMIT_NOFILE of the job, soft = hard */
/* Queued signals of the job (RLIMIT_SIGPENDING), and the inotify bounds
 * of the cell's user namespace (ns_init.c): each far above what a build
 * uses, far below the slot uid's host allowance (issue 12). */
#define CELL_SIGPENDING 256
#define CELL_INOTIFY_INSTANCES "64"
#define CELL_INOTIFY_WATCHES "8192"

/* Where the cell's root tmpfs is built before pivot_root. The mount is made
 * in the cell's private mount namespace; the host never sees it. */
#define NEWROOT		"/tmp"
#define DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"
#define CELL_HOSTNAME	"cell"
#define CELL_DISK_MB_MAX (1024u * 1024)	/* 1 TiB of tmpfs: surely a bug */
/* Networked cells: slirp4netns (Debian package) in the cell's netns. */
#define SLIRP4NETNS	"/usr/bin/slirp4netns"
#define SLIRP_DNS	"10.0.2.3"
#define SLIRP_READY_MS	5000

/* The step a struct cell_report names . */
enum cell_step {
	CELL_STEP_SYNC = 1,
	CELL_STEP_SIGNALS,
	CELL_STEP_PDEATHSIG,
	CELL_STEP_CGROUP_NS,
	CELL_STEP_FDS,
	CELL_STEP_HOSTNAME,
	CELL_STEP_LOOPBACK,
	CELL_STEP_MOUNT_PRIVATE,
	CELL_STEP_ROOT_TMPFS,
	CELL_STEP_TOOLCHAIN,
	CELL_STEP_ETC,
	CELL_STEP_PROC,
	CELL_STEP_DEV,
	CELL_STEP_WORK,
	CELL_STEP_TMP,
	CELL_STEP_PIVOT,
	CELL_STEP_ROOT_READONLY,
	CELL_STEP_CHDIR,
	CELL_STEP_FORK,
	CELL_STEP_INIT,
	CELL_STEP_WAIT,
	CELL_STEP_STDIO,
	CELL_STEP_EXEC,
	CELL_STEP_RLIMITS,
	CELL_STEP_SECCOMP,
	CELL_STEP_FILES,
	CELL_STEP_CWD,
	CELL_STEP_USER_LIMITS,
	CELL_STEP_COMPILE,
	CELL_STEP__MAX,
	CELL_STEP_PRIVS = 100, /* + enum privs_step */
};

/* The fds the cell keeps from the worker. */
struct cell_fds {
	int out_w;
	int err_w;
	int report_w;
	int sync_r;
	int stdin_fd;		/* the worker's, or -1 */
	int work_fd;		/* a disk workspace: a detached clone of its
				 * mount (open_tree), moved onto /work; -1:
				 * /work is a tmpfs */
	int job_r;	   /* a warm cell's job socket (ns_pool.c), or -1 */
	int compile_out_w; /* spec->compile_argv: its stdout, stderr; */
	int compile_err_w; /* else -1 */
};

/* Fixed-size record the cell writes on report_fd. */
enum cell_report_kind {
	CELL_REPORT_SETUP_FAILED = 1, /* step + err: building the cell failed */
	CELL_REPORT_EXITED = 2,	  /* wstatus: the job's main process ended */
	CELL_REPORT_COMPILED = 3, /* wstatus: the compile step ended;
					 * step: 1 if its time was up; err: its
					 * duration in ms */
};
struct cell_report {
	int32_t kind;
	int32_t step;		/* enum cell_step */
	int32_t err;		/* positive errno */
	int32_t wstatus;	/* waitpid status of the job's main process */
};

/* The worker's side of one namespace cell (struct cell's priv). */
struct ns_cell {
	pid_t pid;		/* host pid of the cell's init (our child) */
	int stdout_fd;		/* read ends, O_NONBLOCK | O_CLOEXEC */
	int stderr_fd;
	int compile_out_fd; /* the compile step's stdout, stderr; or -1 */
	int compile_err_fd;
	int report_fd;		/* read end of the report pipe, O_CLOEXEC */
	pid_t slirp_pid;	/* network: slirp4netns, our child; else -1 */
	int slirp_exit_fd;	/* closing it ends slirp4netns; else -1 */
	char argv0[64];		/* argv[0], truncated, for error sentences */
	bool have_cg;		/* cg is the cell's own cgroup */
	bool collected;
	struct cgroup cg;
	char job_id[CGROUP_NAME_MAX + 1];	/* for logs */
};

/* The seccomp filter, built once per worker process by ns_cell_start()
 * (ns_cell.c) and inherited by every cell through clone(). */
extern struct seccomp_prog ns_cell_filter;

/* ns_cell.c (worker side) */
int ns_make_pipe(int *ret_r, int *ret_w, bool nonblock_read);
void ns_kill_and_reap(pid_t pid);

/* ns_init.c (the cell's init, after clone()) */
/* Sends one record; the worker tells the rest from our exit. */
void ns_report(int fd, int32_t kind, int32_t step, int32_t err,
    int32_t wstatus);
/* Reports {SETUP_FAILED, step, -neg_errno} and _exit(127). */
_Noreturn void ns_die(int report_fd, int step, int neg_errno);
/* fd moved to a number >= 3 (closing the original), or -errno. */
int ns_fd_above_stdio(int fd);
/* Closes every fd, the caller's stdio included, except keep[] (all >= 0). */
int ns_close_all_except(const int *keep, size_t n);
/* The cloned child: sets the cell up, clones the job, reaps. */
_Noreturn void ns_cell_main(const struct cell_spec *spec, struct cell_fds *f);
/* Its two halves: what needs nothing of the job but spec->disk_mb and
 * spec->network (a warm cell stops after it), and the job's own part. */
void ns_init_setup(const struct cell_spec *spec, struct cell_fds *f);
_Noreturn void ns_init_run(const struct cell_spec *spec, struct cell_fds *f);

/* ns_pool.c: a warm cell for this job, if the pool has one that fits
 * (no network, the same host ids): 0 with *nc filled as ns_cell_start
 * fills it (and its cgroup, unless CELL_NO_CGROUP), the job started;
 * -ENOENT (none fits, or it was lost: nothing is left of it) -> the cold
 * path. Never used twice: the pool forgets it either way. */
int ns_pool_take(const struct cell_spec *spec, struct ns_cell *nc);
/* One warm cell, as the worker holds it (ns_pool.c), and as the helper
 * holds it while it clones one (ns_zygote.c). */
struct warm_cell {
	pid_t pid; /* our child, waiting for its job; -1: none */
	int out_r, err_r, report_r, job_w;
	uid_t uid;
	gid_t gid;
	uint64_t disk_mb;
	struct cgroup cg; /* "warm-<worker pid>", if have_cg */
	bool have_cg;
};
#define WARM_CELL_INIT \
	{ \
		.pid = -1, .out_r = -1, .err_r = -1, .report_r = -1, \
		.job_w = -1 \
	}
/* Clones a warm cell for cfg into *w (its pid and fds; CLONE_PARENT in
 * extra_flags makes it the caller's parent's child) and lets it build
 * itself. 0, or -errno with what was made left in *w for
 * ns_pool_warm_end. */
int ns_pool_warm_clone(const struct cell_pool_config *cfg, struct warm_cell *w,
    unsigned long extra_flags);
/* Kills and reaps w's cell (if w->pid > 0), removes its cgroup, closes
 * its fds; *w is then empty. */
void ns_pool_warm_end(struct warm_cell *w);

/* ns_zygote.c (worker side; cell_pool_start_helper forks the helper) */
/* True while the helper runs. */
bool ns_zygote_running(void);
/* A warm cell for cfg, cloned by the helper: 0 with *w filled (the cell
 * is our child); -EPIPE if the helper is gone (stopped here: the caller
 * clones itself); another -errno, nothing left of the cell. */
int ns_zygote_prepare(const struct cell_pool_config *cfg, struct warm_cell *w);
/* Ends the helper (closes our end, kills and reaps it), if it runs. */
void ns_zygote_stop(void);

/* ns_job.c (the job's process) */
pid_t ns_job_clone(const struct cell_spec *spec, const struct cell_fds *f);
/* The compile step's process, the same way: compile_argv with stdout and
 * stderr on the compile pipes, stdin /dev/null, RLIMIT_DATA. */
pid_t ns_compile_clone(const struct cell_spec *spec, const struct cell_fds *f);

/* ns_compile.c (the cell's init, before the job): runs the compile step
 * to its end or its time, kills what it left, reports CELL_REPORT_COMPILED.
 * 0 if it exited 0 (the job may run), 1 if not. */
int ns_compile(const struct cell_spec *spec, struct cell_fds *f);

/* ns_root.c: builds the root under NEWROOT and enters it. -errno with
 * *step set. */
int ns_build_root(const struct cell_spec *spec, int work_fd, int *step);
/* ns_workspace.c (worker side): the detached clone of spec->workspace's
 * mount for cell_fds.work_fd, or -1 without one; -errno. */
int ns_workspace_tree(const struct cell_spec *spec);

/* ns_workspace.c (the cell): moves the workspace clone onto
 * NEWROOT/work. 0 or -errno. */
int ns_mount_workspace(int work_fd);
/* After ns_build_root, in the cell: /work (if work_too), /tmp, /dev/shm
 * resized. */
int ns_resize_scratch(uint64_t size_mb, bool work_too);
/* ns_workspace.c (a warm cell's init, after pivot_root): the tmpfs /work
 * detached, the workspace clone moved onto /work, cwd /work. 0 or -errno. */
int ns_swap_in_workspace(int work_fd);

/* ns_files.c: spec->files under /work (our cwd); chdir into /work/cwd. */
int ns_write_files(const struct cell_spec *spec);
int ns_enter_cwd(const char *cwd);

/* ns_net.c */
int ns_loopback_up(void);
int ns_slirp_start(int netns_fd, int userns_fd, pid_t *ret_pid,
    int *ret_exit_w);
void ns_slirp_stop(struct ns_cell *c);

#endif
