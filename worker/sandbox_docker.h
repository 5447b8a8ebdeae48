/* sandbox_docker.h - the docker backend of the cell (DESIGN section 5): one
 * job in one container made through the Docker Engine API. Same shape as
 * the namespace cell of sandbox.h, so the worker drives both alike: start,
 * poll stdout_fd and stderr_fd, try_wait, signal TERM/KILL on timeout or
 * cancel, release. Runs in a jobcell-worker process (single-threaded).
 * Trusts nothing from the container or the daemon but the exit status the
 * daemon reports. */
#ifndef JOBCELL_SANDBOX_DOCKER_H
#define JOBCELL_SANDBOX_DOCKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "docker_api.h"

#define DOCKER_IMAGE_MAX	256		/* bytes of an image reference */
#define DOCKER_UNPACKER_NAME	"jobcell-cell-unpack"
#define DOCKER_UNPACKER_IN	"/.jobcell/unpack"	/* its path in the cell */

/* A file the job finds in /work (API-checked relative path). */
struct docker_file {
	const char *path;
	const char *data;
	size_t len;
};

struct docker_cell_spec {
	const char *socket_path;	/* NULL: DOCKER_SOCKET_DEFAULT */
	const char *image;		/* a reference present in the daemon */
	const char *job_id;		/* label jobcell.job, name jobcell-<id>;
					 * [A-Za-z0-9_-], at most 64 bytes */
	long worker_id;			/* label jobcell.worker (the worker's pid) */
	char *const *argv;		/* NULL-terminated; run as is (the image's
					 * ENTRYPOINT is not used) */
	char *const *envp;		/* NULL-terminated, the job's whole env */
	int stdin_fd;			/* read to EOF as the job's stdin (e.g. a
					 * memfd at offset 0); -1: none */
	const struct docker_file *files;	/* nfiles entries, or NULL */
	size_t nfiles;
	const char *cwd;		/* relative to /work; NULL: /work */
	const char *unpacker;		/* host path of jobcell-cell-unpack, bound
					 * read-only into the cell when files or
					 * cwd are given; NULL: none */
	uid_t uid;			/* the host uid and gid the job runs as
					 * (uid_base + slot, as for namespace
					 * cells); never 0 */
	gid_t gid;
	const char *cgroup_parent;	/* HostConfig.CgroupParent, e.g.
					 * "/jobcell/<job id>" (cgroupfs driver);
					 * NULL: the daemon's default */
	uint64_t disk_mb;		/* size of /work and of /tmp (tmpfs) */
	uint64_t memory_mb;		/* Memory = MemorySwap; 0: no limit */
	uint64_t nano_cpus;		/* 1e9 per CPU; 0: no limit */
	uint64_t pids;			/* PidsLimit; 0: no limit */
	bool network;			/* false: NetworkMode none; true: a
					 * bridge network of its own,
					 * "jobcell-<job id>", removed with the
					 * container */
	int64_t max_run_ms;		/* bound on the job's run time (the
					 * helper's wait); 0: a day */
	/* Optional: called between the daemon calls of docker_cell_start
	 * (each bounded by 10 s), e.g. to renew the job's lease. */
	void (*keepalive)(void *arg);
	void *keepalive_arg;
};

struct docker_cell {
	pid_t pid;		/* the helper (our child); -1 once reaped */
	int stdout_fd;		/* read ends, O_NONBLOCK | O_CLOEXEC */
	int stderr_fd;
	int report_fd;		/* the helper's report, O_CLOEXEC */
	char id[DOCKER_ID_LEN + 1];	/* the container */
	bool removed;
	char network[80];	/* the job's own network, or "" */
	struct docker api;	/* for kill and remove */
};

enum docker_outcome {
	DOCKER_EXITED,		/* exit_code valid (128+N: killed by N) */
	DOCKER_LOST,		/* error holds why: the daemon failed us */
};

struct docker_result {
	enum docker_outcome outcome;
	int exit_code;
	bool oom_killed;	/* State.OOMKilled */
	char error[256];	/* human sentence for DOCKER_LOST */
};

/* Negotiates the API version, creates the container, attaches to its
 * output (and stdin), starts it, and forks the helper that demultiplexes
 * the output into stdout_fd/stderr_fd and then waits for the exit. On
 * success fills *ret and returns 0: the job is running. On failure returns
 * -errno with a sentence in errmsg (e.g. the image is missing, the daemon
 * does not answer) and leaves no container behind (unless the daemon
 * stopped answering in between; the supervisor's sweep takes those). */
int docker_cell_start(const struct docker_cell_spec *spec,
    struct docker_cell *ret, char *errmsg, size_t errmsg_size);
/* POST /containers/{id}/kill?signal=SIG: TERM goes to the job (through the
 * container's init), KILL ends the whole container. 0, -ESRCH if it no
 * longer runs, other -errno. Bounded by a few seconds. */
int docker_cell_signal(struct docker_cell *c, int sig);
/* Non-blocking: 1 and fills *ret once the helper has reported and exited
 * (the container has stopped, or the daemon failed), 0 while it runs,
 * -errno if the helper ended without a report. */
int docker_cell_try_wait(struct docker_cell *c, struct docker_result *ret);
/* DELETE /containers/{id}?force=1 (whatever the state), ends and reaps the
 * helper if needed, closes the fds. Logs if the container could not be
 * removed. */
void docker_cell_release(struct docker_cell *c);

/* The host path of jobcell-cell-unpack: next to the running program (a
 * build tree), else in PKGLIBEXECDIR. 0, or -ENOENT. */
int docker_unpacker_find(char *buf, size_t size);

/* How the daemon at socket_path places containers in cgroups (GET /info):
 * *cgroupfs true if its CgroupDriver is "cgroupfs" (a CgroupParent is then
 * a cgroup path, e.g. "/jobcell/<job id>"), *version its CgroupVersion (1
 * or 2; 0 if not said). 0 or -errno. */
int docker_cgroup_info(const char *socket_path, int timeout_ms,
    bool *cgroupfs, int *version);

/* For the supervisor: lists the containers labelled jobcell.job (at most
 * DOCKER_SWEEP_MAX) on the daemon at socket_path and removes, forcibly,
 * each one for which keep(job_id, worker_pid, arg) returns false (labels
 * that do not parse count as false); then the same for jobs' networks.
 * Returns how many containers and networks were removed, or -errno if the
 * daemon could not be asked. Each call is bounded by timeout_ms. */
#define DOCKER_SWEEP_MAX 100
int docker_cell_sweep(const char *socket_path, int timeout_ms,
    bool (*keep)(const char *job_id, long worker_pid, void *arg), void *arg);

#endif
