/* docker_int.h - private to the docker backend (docker_*.c): one job in one
 * container made through the Docker Engine API. Runs in a jobcell-worker
 * process (single-threaded) and, after fork(), as the cell's helper.
 * Trusts nothing from the container or the daemon but the exit status the
 * daemon reports. */
#ifndef JOBCELL_DOCKER_INT_H
#define JOBCELL_DOCKER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cell.h"
#include "cgroup.h"
#include "docker_api.h"
#include "jc_limits.h"

#define DOCKER_IMAGE_MAX	256		/* bytes of an image reference */
#define DOCKER_UNPACKER_NAME	CELL_UNPACKER_NAME
#define DOCKER_UNPACKER_IN	"/.jobcell/unpack"	/* its path in the cell */
#define DOCKER_SWEEP_MAX	100	/* containers looked at per sweep */
#define DOCKER_SWEEP_MS		10000	/* bound of each sweep call */
#define DOCKER_PING_MS		2000	/* bound of the availability ping */

#define CREATE_BODY_MAX		(8u * 1024 * 1024)	/* argv + env, bounded */
#define NEGOTIATE_TIMEOUT_MS	5000
#define SIGNAL_TIMEOUT_MS	5000
#define REMOVE_TIMEOUT_MS	10000
#define INSPECT_TIMEOUT_MS	10000
#define ATTACH_TIMEOUT_MS	10000
/* Create and start: each below the job's lease (15 s, renewed through
 * spec->keepalive between the calls), so a slow daemon cannot make the
 * supervisor take a starting job for lost. */
#define STEP_TIMEOUT_MS		10000
#define MAX_RUN_DEFAULT_MS	(24LL * 3600 * 1000)
#define WAIT_MARGIN_MS		60000	/* wait bound past max_run_ms */
#define CELL_NOFILE		1024	/* RLIMIT_NOFILE in the container */
#define CELL_SIGPENDING		256	/* RLIMIT_SIGPENDING, as ns_int.h */
#define JOB_ID_MAX		64
/* The files stream: contents, plus per file a path and two lengths. */
#define FILES_STREAM_MAX	(JC_MAX_FILES_BYTES + JC_MAX_FILES * \
				 (JC_MAX_FILE_PATH + 8) + JC_MAX_FILE_PATH + 16)

/* The helper's one record on the report pipe (atomic: < PIPE_BUF). */
enum docker_report_kind {
	DOCKER_REPORT_EXITED = 1,
	DOCKER_REPORT_LOST = 2,
};
struct docker_report {
	int32_t kind;
	int32_t exit_code;
	int32_t oom_killed;
	int32_t err;		/* positive errno for LOST */
	char msg[240];		/* NUL-terminated sentence for LOST */
};

/* What a container needs besides the job's spec: the host's side. */
struct docker_create {
	const char *socket_path;	/* NULL: DOCKER_SOCKET_DEFAULT */
	const char *image;		/* a reference present in the daemon */
	long worker_id;			/* label jobcell.worker (the worker's pid) */
	const char *network;		/* the job's own network, or NULL: none */
	const char *unpacker;		/* host path of jobcell-cell-unpack, bound
					 * read-only into the cell when files or
					 * cwd are given; NULL: none */
	const char *seccomp_profile;	/* Docker seccomp profile JSON
					 * (seccomp_docker_profile); NULL:
					 * the daemon's default */
	const char *cgroup_parent;	/* HostConfig.CgroupParent, e.g.
					 * "/jobcell/<job id>" (cgroupfs driver);
					 * NULL: the daemon's default */
};

/* The worker's side of one docker cell (struct cell's priv). */
struct docker_cell {
	pid_t pid;		/* the helper (our child); -1 once reaped */
	int stdout_fd;		/* read ends, O_NONBLOCK | O_CLOEXEC */
	int stderr_fd;
	int report_fd;		/* the helper's report, O_CLOEXEC */
	char id[DOCKER_ID_LEN + 1];	/* the container */
	bool removed;
	char network[80];	/* the job's own network, or "" */
	struct docker api;	/* for kill and remove */
	bool oom_killed;	/* State.OOMKilled, from try_wait */
};

/* docker_spec.c: pure, no daemon, no I/O. */
/* [A-Za-z0-9_-], 1 to JOB_ID_MAX bytes. */
bool docker_job_id_ok(const char *s);
/* Files or a cwd: the job starts through jobcell-cell-unpack. */
bool docker_needs_unpacker(const struct cell_spec *s);
/* POST /containers/create's body for the job, into sb. 0 or -errno. */
int docker_create_body(const struct cell_spec *s, const struct docker_create *o,
    struct strbuf *sb);
/* The stream jobcell-cell-unpack reads before the job's stdin. */
int docker_files_stream(const struct cell_spec *s, struct strbuf *sb);

/* docker_cell.c */
void docker_setmsg(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Words for errno values a reader of a job's error can act on. */
const char *docker_daemon_failure(int r);
int docker_remove_container(struct docker *api, const char *id);
int docker_network_remove(struct docker *api, const char *name);
/* Starts the job's container and its helper (see docker_cell.c). 0, or
 * -errno with a sentence in errmsg and no container left behind (unless
 * the daemon stopped answering in between: the sweep takes those). */
int docker_cell_start(const struct cell_spec *spec,
    const struct docker_create *o, struct docker_cell *ret, char *errmsg,
    size_t errmsg_size);
int docker_cell_signal(struct docker_cell *c, int sig);
/* 1 with *ret (EXITED with exit_code, or LOST with error) and
 * c->oom_killed once the helper has reported, 0 while it runs, -errno. */
int docker_cell_try_wait(struct docker_cell *c, struct cell_result *ret);
/* A docker or swarm cell's helper, without blocking: 0 while it runs;
 * once it has exited, *pid = -1 and 1 with its report in *ret_rep (msg
 * NUL-terminated); -ECHILD no helper, -EIO it ended without a report,
 * other -errno. */
int docker_helper_reap(pid_t *pid, int report_fd,
    struct docker_report *ret_rep);
void docker_cell_release(struct docker_cell *c);
/* The cells' seccomp profile as Docker's JSON, made once per process;
 * NULL if it could not be made. */
const char *docker_seccomp(void);
/* GET /info: the cgroup driver is cgroupfs, and its cgroup version. */
int docker_cgroup_info(const char *socket_path, int timeout_ms,
    bool *cgroupfs, int *version);

/* docker_helper.c: the forked helper; never returns. */
__attribute__((noreturn)) void docker_helper_main(struct docker *api,
    const char *id, pid_t parent, int sock, const struct strbuf *prefix,
    int in_fd, const struct strbuf *early, int out_w, int err_w, int rep_w,
    int64_t max_run_ms);

/* docker_sweep.c: the ops' housekeeping. */
int docker_ops_available(void);
int docker_ops_sweep(bool (*keep)(const char *job_id, long worker_pid,
    void *arg), void *arg);

#endif
