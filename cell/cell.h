/* cell.h - the cell: one job's isolated process tree (docs/architecture.md,
 * "Cells"), behind one ops table per backend (namespace, docker), in the
 * manner of OpenSMTPD's queue_backend (and swarm). The only header of cell/ that code
 * outside cell/ includes. Runs in jobcell-worker processes (single-threaded)
 * and, for the housekeeping calls, in the supervisor. Trusts nothing that
 * comes out of a cell but bytes on its pipes and its backend's report. */
#ifndef JOBCELL_CELL_H
#define JOBCELL_CELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A file the cell's setup creates under /work before the job runs. The
 * path was checked by the API (relative, no "." or ".." or empty part);
 * the cell checks again and never follows a symlink. */
struct cell_file {
	const char *path;
	const char *data; /* len bytes, any (binary) */
	size_t len;
	bool executable; /* mode 0755, else 0644 */
};

/* A disk workspace (workspace.c): a sparse ext4 image of the job's own,
 * loop-mounted at DATA/work/<job id>, its root the slot uid's. */
struct cell_workspace;

/* An image build (issue 14; cell_docker_build_ops): the Engine API's
 * build endpoint with this context, tagged tag, under the spec's
 * memory_mb, cpus and network. */
struct cell_build {
	int context_fd;		     /* the context (a tar, maybe compressed),
				 * read from offset 0; not closed */
	const char *tag;	     /* jobcell/<consumer id>/<name>:<tag> */
	const char *dockerfile;	     /* its path in the context */
	const char *dockerfile_text; /* NULL: sent as it is; else that
				 * member's new content (bases renamed) */
	size_t dockerfile_len;
	const char *build_args; /* a JSON object of strings, or NULL */
};

/* spec->flags */
#define CELL_NO_CGROUP	(1u << 0)	/* benches: no cgroup of its own */

/* One job's cell, the same for every backend. Borrowed by start() only. */
struct cell_spec {
	const char *job_id;		/* [A-Za-z0-9_-], at most 64 bytes: the
					 * cgroup's and container's name */
	char *const *argv;		/* NULL-terminated; argv[0] looked up in
					 * PATH of envp if it has no '/' */
	char *const *envp;		/* NULL-terminated, the job's whole env */
	int stdin_fd;			/* read to EOF as the job's stdin (e.g. a
					 * memfd at offset 0); -1: /dev/null */
	uid_t host_uid;			/* unprivileged host uid, never 0 */
	gid_t host_gid;			/* unprivileged host gid, never 0 */
	uint64_t disk_mb;		/* size of /work and of /tmp */
	uint64_t memory_mb;		/* cgroup limits; 0: none */
	uint64_t cpus;
	uint64_t pids;			/* the job's; the cell's init is added */
	const struct cell_file *files;	/* nfiles entries, or NULL */
	size_t nfiles;
	const char *cwd;		/* relative to /work; NULL: /work */
	/* Backends with CELL_OPS_REMOTE only (the others get a filled disk
	 * workspace): the job's inputs, their blobs open. */
	const struct cell_input *inputs;
	size_t ninputs;
	const struct cell_workspace *workspace; /* /work: this disk
					 * workspace (filled before start; files
					 * then NULL); NULL: a tmpfs of disk_mb */
	bool network;			/* outbound network (docs/operations.md,
					 * "Cells") */
	const char *image;		/* backends with CELL_OPS_IMAGE: the
					 * image; NULL: the host's default */
	int64_t max_run_ms;		/* bound on the run, for backends that
					 * wait in a helper; 0: a day */
	unsigned flags;			/* CELL_NO_CGROUP */
	const struct cell_build *build; /* cell_docker_build_ops only */
	/* Code jobs (issue 14), backends with CELL_OPS_COMPILE only: a
	 * compile step run in the same cell before argv; NULL: none. Its
	 * stdout and stderr go to the cell's compile_out_fd/compile_err_fd
	 * (no stdin); it gets compile_timeout_ms of wall time and
	 * compile_memory_mb of data (RLIMIT_DATA, inside the cell's
	 * memory_mb, which the caller makes the larger of the two); what
	 * it leaves running is killed when it ends; argv runs only if it
	 * exits 0. run_data_mb: RLIMIT_DATA of argv, 0: none. */
	char *const *compile_argv;
	int64_t compile_timeout_ms;
	uint64_t compile_memory_mb;
	uint64_t run_data_mb;
	/* swarm: Placement.Constraints (checked by the API against the
	 * operator's allow-list); nconstraints entries, or NULL. */
	const char *const *constraints;
	size_t nconstraints;
	/* Optional: called between slow steps of start() (a daemon's
	 * calls, each bounded by 10 s), e.g. to renew the job's lease. */
	void (*keepalive)(void *arg);
	void *keepalive_arg;
};

/* A running cell: what the run loop polls. The rest is the backend's. */
struct cell {
	const struct cell_ops *ops;
	int stdout_fd;		/* read ends, O_NONBLOCK | O_CLOEXEC */
	int stderr_fd;
	int exit_fd;		/* readable once the cell ended (a pidfd), or
				 * -1: poll try_wait every few ms */
	int compile_out_fd;	/* spec->compile_argv: the compile step's */
	int compile_err_fd;	/* stdout and stderr, like the above */
	void *priv;		/* the backend's state */
};

enum cell_outcome {
	CELL_EXITED,		/* exit_code valid */
	CELL_SIGNALED,		/* signal valid (includes our SIGKILL) */
	CELL_SETUP_FAILED,	/* error holds why; the job never ran */
	CELL_LOST,		/* error holds why: the backend (a daemon)
				 * failed us while the job ran */
};

struct cell_result {
	enum cell_outcome outcome;
	int exit_code;
	int signal;
	char error[320];	/* human sentence: for SETUP_FAILED why the cell
				 * could not be built; for LOST the whole
				 * sentence ("the docker cell was lost: ...") */
	/* A compile step ran (spec->compile_argv): how it ended. With
	 * compile_failed (non-zero exit, signal, or its time was up) argv
	 * never ran and outcome is CELL_EXITED with exit_code 0. */
	bool compiled;
	bool compile_failed;
	bool compile_timed_out;
	int compile_exit_code; /* valid unless compile_signal */
	int compile_signal;
	int64_t compile_duration_ms;
	/* An image build that succeeded: the image's id and size. With
	 * CELL_EXITED and a non-zero exit_code, error holds the builder's
	 * message (the job's error). */
	char image_id[80];
	int64_t image_size;
};

/* What the cell used, read from its cgroup by collect(). */
struct cell_usage {
	bool has_usage;		/* the counters were read */
	int64_t cpu_ms;
	int64_t max_rss_kb;
	bool oom_killed;	/* a process of the cell was OOM-killed */
};

/* ops->flags */
#define CELL_OPS_IMAGE	(1u << 0)	/* jobs name an image, whose own PATH
					 * stays (docker) */
#define CELL_OPS_COMPILE (1u << 1) /* runs spec->compile_argv (namespace) */
/* Runs on another host (swarm): no disk workspace here; files, inputs and
 * stdin travel in the spec. */
#define CELL_OPS_REMOTE (1u << 2)

struct cell_ops {
	const char *name;	/* the jobs' "sandbox" value */
	unsigned flags;		/* CELL_OPS_IMAGE */
	/* Builds the cell and starts argv in it. 0 with *ret filled: the job
	 * runs. -errno with a sentence in msg ("the cell could not be built:
	 * ...") and nothing left behind. */
	int (*start)(const struct cell_spec *spec, struct cell *ret,
	    char *msg, size_t size);
	/* SIGTERM: to every process of the cell; SIGKILL: ends the cell.
	 * 0 or -errno (-ESRCH once it has ended). */
	int (*signal)(struct cell *c, int sig);
	/* Non-blocking: 1 with *ret filled once the cell has ended, 0 while
	 * it runs, -errno if the backend lost track of it. */
	int (*try_wait)(struct cell *c, struct cell_result *ret);
	/* Once try_wait said 1: ends what is left (pipes, helpers, the
	 * container), reads the usage into *ret and folds what only the
	 * backend knows (an OOM kill it saw) into *res. */
	void (*collect)(struct cell *c, struct cell_result *res,
	    struct cell_usage *ret);
	/* On every path after a start() that returned 0: ends whatever is
	 * left (without reading usage), removes the cgroup, frees c. */
	void (*release)(struct cell *c);

	/* Housekeeping, for the supervisor; NULL where not needed. */
	/* 0 if the backend can run jobs now (its daemon answers), or -errno. */
	int (*available)(void);
	/* Removes what is left of cells whose job keep() says is over:
	 * a count, or -errno. keep gets the job id and its worker's pid. */
	int (*sweep)(bool (*keep)(const char *job_id, long worker_pid,
	    void *arg), void *arg);
	/* Ends what is left of the cell of job_id from a previous run. */
	void (*reap)(const char *job_id);
};

extern const struct cell_ops cell_ns_ops;
extern const struct cell_ops cell_docker_ops;
extern const struct cell_ops cell_swarm_ops;
/* Image builds (docker_build.c): not a sandbox of jobs, chosen by the
 * worker for a job of kind "image"; needs the docker socket. */
extern const struct cell_ops cell_docker_build_ops;
/* Removes image ref (a consumer's: jobcell/...) from the daemon at
 * socket_path: 0 (removed, or there was none), -EBUSY (a container uses
 * it: try later), other -errno. Any process; single-threaded use. */
int cell_docker_image_remove(const char *socket_path, const char *ref);
/* 1 if the daemon at socket_path has image ref, 0 if not, -errno. */
int cell_docker_image_exists(const char *socket_path, const char *ref);

/* Runs argv (words; argv[0] looked up in the image's PATH) in a
 * throwaway docker cell of image at socket_path: as uid:gid, no network,
 * no stdin, DOCKER_PROBE_MEMORY_MB, a few pids, killed after timeout_ms,
 * removed at once. Its stdout and stderr, merged, into out (at most
 * size - 1 bytes, NUL-terminated; the rest read and dropped). 0 with
 * *ret_exit_code (docker-init's: 128 + N for a signal), or -errno with a
 * sentence in msg. The supervisor (runtime versions, issue 14);
 * single-threaded. */
#define DOCKER_PROBE_MEMORY_MB 256
int cell_docker_probe(const char *socket_path, const char *image,
    char *const *argv, uid_t uid, gid_t gid, int64_t timeout_ms, char *out,
    size_t size, int *ret_exit_code, char *msg, size_t msg_size);

/* The node count of the swarm as its manager said at the last
 * cell_swarm_ops.available() that succeeded (0 before). */
int cell_swarm_nodes(void);

/* The backend of that name, or NULL. */
const struct cell_ops *cell_backend_find(const char *name);

/* What the host gives every cell of this process. */
struct cell_host_config {
	const char *docker_socket;	/* NULL: no docker backend */
	const char *docker_image;	/* default image; NULL: none */
	const char *docker_unpacker;	/* jobcell-cell-unpack; NULL: none */
	/* The swarm manager's Engine API: "unix:///path", a path, or
	 * "tcp://host:port" (with TLS when any of the three files is set);
	 * NULL: no swarm backend. Swarm jobs' default image: docker_image. */
	const char *swarm_endpoint;
	const char *swarm_tls_ca;
	const char *swarm_tls_cert;
	const char *swarm_tls_key;
};

/* Once per process (supervisor, each worker), before any other call:
 * finds the cgroup hierarchies (DESIGN: no cell without limits). 0, or
 * -errno with a sentence in msg. *ret_cgroup_version: 1 or 2. */
int cell_host_init(const struct cell_host_config *cfg, int *ret_cgroup_version,
    char *msg, size_t size);
/* A worker process, after cell_host_init: keeps only the capabilities the
 * cells need (privs.c). 0 or -errno. */
int cell_host_limit_worker(void);
/* Removes the empty cgroups of jobs for which gone(job_id) is true; never
 * a populated one. A count, or -errno. */
int cell_host_sweep_cgroups(bool (*gone)(const char *job_id, void *arg),
    void *arg);
/* The host path of jobcell-cell-unpack (for docker cells with files): next
 * to the running program, else in PKGLIBEXECDIR. 0, or -ENOENT. */
int cell_unpacker_find(char *buf, size_t size);

/* ---- disk workspaces (workspace.c, workspace_fill.c; worker processes,
 * root) ---- */
/* An input of the job: a blob the worker opened, unpacked (tar) or placed
 * (a file) at path in the workspace. */
struct cell_input {
	int fd;		  /* the blob, read from its offset; not closed */
	const char *name; /* "inputs[N]", for the error sentence */
	const char *path; /* wspath; "" (tar only): the workspace root */
	bool tar;	  /* a tar archive (plain, gzip, xz, zstd, bzip2);
				 * else a single file */
	bool executable;  /* a file: mode 0755, else 0644 */
};
/* Makes the workspace of job_id under DATA/work: a sparse image of disk_mb
 * (mkfs.ext4, no journal, inodes bounded), attached to a loop device with
 * autoclear, mounted (nosuid, nodev) at DATA/work/<job_id>, the image's
 * name unlinked at once, its root empty, owned by uid:gid, mode 0700.
 * 0 with *ret (the caller's, for cell_workspace_destroy), or -errno with a
 * sentence in msg. */
int cell_workspace_create(const char *data_dir, const char *job_id, uid_t uid,
    gid_t gid, uint64_t disk_mb, struct cell_workspace **ret, char *msg,
    size_t size);
/* Puts inputs, then files, into the workspace, before any job code runs:
 * a forked unpacker chrooted into it, as uid:gid with no capabilities and
 * no_new_privs (workspace_fill.c has the rules). 0, or -errno with the
 * sentence for the job's error in msg (naming the input). */
/* max_ms bounds the whole (0: none; past it the unpacker is killed and the
 * sentence says so); keepalive (may be NULL) is called every few seconds
 * meanwhile (the job's lease). */
int cell_workspace_fill(struct cell_workspace *ws, uid_t uid, gid_t gid,
    uint64_t disk_mb, const struct cell_file *files, size_t nfiles,
    const struct cell_input *inputs, size_t ninputs, int64_t max_ms,
    void (*keepalive)(void *arg), void *arg, char *msg, size_t size);
/* The workspace's root: an O_RDONLY | O_DIRECTORY | O_CLOEXEC fd owned by
 * ws (do not close it; dup it to keep it). Valid from create to destroy,
 * so also after the job's processes are gone (ops->collect) and before
 * cell_workspace_destroy: where artifacts are collected from. Open under
 * it with lib/wspath.h's openers only (the job wrote everything there). */
int cell_workspace_dirfd(const struct cell_workspace *ws);
/* Its host path (DATA/work/<job id>, or a pooled one's
 * DATA/work/pool-<slot>-…), where the worker mounted it. */
const char *cell_workspace_path(const struct cell_workspace *ws);
/* Its block device ("/dev/loopN"): docker mounts the same file system at
 * /work itself, because the worker's mounts need not be visible to
 * dockerd (a systemd unit with ProtectSystem= has a mount namespace of
 * its own, and nothing mounted in it propagates to the host). */
const char *cell_workspace_device(const struct cell_workspace *ws);
/* Unmounts (lazily if still held), removes the mount point; the loop
 * device clears itself and the image goes with it. With the pool's helper
 * running, the helper unmounts it after this returns (the root fd is
 * closed here). NULL: nothing. */
void cell_workspace_destroy(struct cell_workspace *ws);
/* At supervisor start, before any worker: removes what a crash left under
 * DATA/work (mounts, mount points, images). A count, or -errno. */
int cell_workspace_sweep(const char *data_dir);

/* The workspace pool (workspace_pool.c; a jobcell-worker process, single-
 * threaded): a helper process, forked before SQLite is opened, makes the
 * next disk workspace ahead of its job (from a template image: no mkfs on
 * the job's path) and unmounts used ones after them. start: sweeps what a
 * dead predecessor of this slot left, forks the helper; 0 or -errno.
 * prepare: asks for the next one (never blocks; nothing if one of this
 * size and ids is coming). take: that one, for a job of this size and
 * ids (waits for it if it is still being made): 0 with *ret (destroyed
 * with cell_workspace_destroy, which then unmounts through the helper),
 * or -ENOENT (the caller makes one: cell_workspace_create). stop: drops
 * the unused one, waits for the helper to finish its unmounts. */
#define CELL_WORKSPACE_POOL_MAX_MB (64u * 1024)
int cell_workspace_pool_start(const char *data_dir, int slot);
void cell_workspace_pool_prepare(uint64_t disk_mb, uid_t uid, gid_t gid);
int cell_workspace_pool_take(uint64_t disk_mb, uid_t uid, gid_t gid,
    struct cell_workspace **ret);
void cell_workspace_pool_stop(void);

/* Warm cells (namespace backend, cell/ns_pool.c; issue 17): one cell per
 * worker process prepared ahead of its job (namespaces, root, init
 * waiting on a socket, no CPU, no cgroup yet); the namespace backend's
 * start() uses it for the next job that fits (no network, these host ids)
 * and applies that job's limits, size, files and argv then; any other
 * job takes the cold path. Each is used once. Single-threaded callers. */
struct cell_pool_config {
	uid_t host_uid; /* the slot's ids, never 0 */
	gid_t host_gid;
	uint64_t disk_mb; /* /work and /tmp size it is built with */
};
/* Makes sure a warm cell for cfg waits (builds one if none does): 0, or
 * -errno (-EHOSTDOWN once warm cells kept failing: cold from then on). */
int cell_pool_prepare(const struct cell_pool_config *cfg);
/* Forks the helper that clones warm cells (ns_zygote.c: they then share
 * none of the caller's later pages); call it early, before the caller's
 * memory grows (before SQLite). Optional: without it, or once it is gone,
 * the caller clones them itself. 0 or -errno. */
int cell_pool_start_helper(void);
/* Ends the warm cell, if any: nothing of it is left (processes, mounts,
 * namespaces, its cgroup "warm-<pid>"), and the helper. On reload and
 * drain, and before exit. */
void cell_pool_drop(void);
/* After a worker's death: kills what is left in its warm cell's cgroup
 * ("warm-<worker_pid>") and removes it. */
void cell_pool_reap_orphan(pid_t worker_pid);
/* The prefix of a warm cell's cgroup name, before its worker's pid. */
#define CELL_POOL_CGROUP_PREFIX "warm-"
/* The host pid of the waiting warm cell's init, or -1 (benches, logs). */
pid_t cell_pool_pid(void);
#define CELL_UNPACKER_NAME	"jobcell-cell-unpack"
#define CELL_DOCKER_SOCKET_DEFAULT	"/var/run/docker.sock"
#define CELL_DOCKER_SOCKET_MAX	108	/* sizeof(sun_path) */

#endif
