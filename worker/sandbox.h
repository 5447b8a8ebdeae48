/* sandbox.h - the cell: one job's isolated process tree (DESIGN section 5).
 * Runs in a jobcell-worker process (single-threaded). The worker trusts
 * nothing that comes out of the cell except the fixed-size report record. */
#ifndef JOBCELL_SANDBOX_H
#define JOBCELL_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CELL_UID 1000		/* uid/gid the job sees inside the cell */
#define CELL_GID 1000
#define CELL_NOFILE 1024	/* RLIMIT_NOFILE of the job, soft = hard */

/* A file the cell's setup creates under /work before the job runs. The
 * path was checked by the API (relative, no "." or ".." or empty part);
 * the cell checks again and never follows a symlink. */
struct cell_file {
	const char *path;
	const char *data;
	size_t len;
};

struct cell_spec {
	const char *job_id;		/* for the hostname and logs */
	char *const *argv;		/* NULL-terminated; argv[0] looked up in
					 * PATH of envp if it has no '/' */
	char *const *envp;		/* NULL-terminated, the job's whole env */
	int stdin_fd;			/* becomes fd 0 (dup'ed); -1: /dev/null */
	uid_t host_uid;			/* unprivileged host uid, never 0 */
	gid_t host_gid;			/* unprivileged host gid, never 0 */
	uint64_t disk_mb;		/* size of /work and of /tmp (tmpfs) */
	const struct cell_file *files;	/* nfiles entries, or NULL */
	size_t nfiles;
	const char *cwd;		/* relative to /work; NULL: /work */
	bool network;			/* outbound network through slirp4netns
					 * (docs/operations.md, "Cells") */
	/* Optional (NULL: none). Called by cell_start in the worker once the
	 * cell's init exists (pid = its host pid) and before it runs any
	 * setup or job code, e.g. to put it into the job's cgroup so that
	 * every process of the cell starts inside it. A negative return
	 * aborts cell_start with that value. */
	int (*attach)(pid_t pid, void *attach_arg);
	void *attach_arg;
};

struct cell {
	pid_t pid;		/* host pid of the cell's init (our child) */
	int stdout_fd;		/* read ends, O_NONBLOCK | O_CLOEXEC */
	int stderr_fd;
	int report_fd;		/* read end of the report pipe, O_CLOEXEC */
	pid_t slirp_pid;	/* network: slirp4netns, our child; else -1 */
	int slirp_exit_fd;	/* closing it ends slirp4netns; else -1 */
	char argv0[64];		/* argv[0], truncated, for error sentences */
};

/* Fixed-size record the cell writes on report_fd. */
enum cell_report_kind {
	CELL_REPORT_SETUP_FAILED = 1,	/* step + err: building the cell failed */
	CELL_REPORT_EXITED = 2,		/* wstatus: the job's main process ended */
};
struct cell_report {
	int32_t kind;
	int32_t step;		/* enum cell_step */
	int32_t err;		/* positive errno */
	int32_t wstatus;	/* waitpid status of the job's main process */
};

enum cell_outcome {
	CELL_EXITED,		/* exit_code valid */
	CELL_SIGNALED,		/* signal valid (includes our SIGKILL) */
	CELL_SETUP_FAILED,	/* error holds why; the job never ran */
};

struct cell_result {
	enum cell_outcome outcome;
	int exit_code;
	int signal;
	char error[256];	/* human sentence for CELL_SETUP_FAILED */
};

/* Builds the cell and starts argv in it. On success fills *ret and returns 0;
 * the job is running. On failure returns -errno and leaves nothing behind. */
int cell_start(const struct cell_spec *spec, struct cell *ret);
/* SIGTERM: the cell's init forwards TERM to every process of the cell.
 * SIGKILL: kills init, and with it the cell's whole pid namespace.
 * 0 or -errno (-ESRCH once reaped). */
int cell_signal(struct cell *c, int sig);
/* Non-blocking: 1 and fills *ret if init has exited (then reaped), 0 if it
 * still runs, -errno on error. Reads the report pipe to tell setup failure,
 * exit and signal apart. */
int cell_try_wait(struct cell *c, struct cell_result *ret);
/* Closes the fds; if init was not reaped, SIGKILLs and reaps it. */
void cell_release(struct cell *c);

#endif
