/* worker.h - private interfaces of jobcell-worker: the supervisor, the
 * worker loop, the run of one job, the job store (all SQLite access of the
 * worker), log capture, the spec's translation and the result's
 * classification. Worker processes are single-threaded. Cells are reached
 * only through cell/cell.h's ops table. */
#ifndef JOBCELL_WORKER_H
#define JOBCELL_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "artifacts.h"
#include "cell.h"
#include "jc_limits.h"
#include "job_status.h"

#define WORKER_LEASE_MS		15000	/* a job's lease; renewed every ... */
#define WORKER_RENEW_MS		3000	/* ... this often */
/* A running job looks for a cancel when the database changes (inotify on
 * its WAL: a cancel is a commit), at most every WORKER_CANCEL_CHECK_MS, and
 * at least every WORKER_CANCEL_QUIET_MS; without inotify every
 * WORKER_CANCEL_POLL_MS. Waking every 25 ms cost ~0.75% of a core per
 * running job here; a quiet database now costs nothing. */
#define WORKER_CANCEL_CHECK_MS	25
#define WORKER_CANCEL_QUIET_MS	1000
#define WORKER_CANCEL_POLL_MS	100
#define WORKER_IDLE_POLL_MS	1000	/* fallback poll when no doorbell rings */
/* A warm cell's size before any job (config.c's default). */
#define WORKER_WARM_DISK_MB 256
#define LOG_FLUSH_MS		50	/* max age of unflushed output */
#define LOG_FLUSH_QUIET_MS	10	/* once the pipes are empty, flush if the
					 * last flush is this old (live lag) */
#define LOG_BATCH_CHUNKS	16	/* chunks per transaction */

struct worker_config {
	const char *db_path;
	int doorbell_fd;	/* shared SOCK_DGRAM fd, or -1 */
	int slot;		/* 0 .. slots-1 */
	uid_t uid_base;		/* host uid of slot 0; slot n uses base + n */
	uint64_t output_cap;	/* stored output bytes per job */
	int kill_grace_ms;
	int64_t drain_grace_ms;	/* on SIGTERM: how long a running job goes on */
	pid_t supervisor_pid;	/* our parent; gone before PDEATHSIG: exit */
	const char *docker_socket;	/* NULL: no docker backend */
	const char *docker_image;	/* default image; NULL: none */
	const char *docker_unpacker;	/* jobcell-cell-unpack; NULL: none */
	const char *data_dir;	      /* [storage] data_dir: disk workspaces and
				 * blobs; NULL: /work is a tmpfs, no inputs */
	uint64_t artifacts_max_bytes; /* [storage] artifacts_max_mb */
	size_t artifacts_max_files;   /* [storage] artifacts_max_files */
	int64_t artifacts_keep_ms;    /* [retention] artifacts_hours */
	bool warm_cells; /* keep a namespace cell prepared (ns_pool.c) */
	const char *swarm_endpoint; /* NULL: no swarm backend */
	const char *swarm_tls_ca, *swarm_tls_cert, *swarm_tls_key;
	bool swarm_slot; /* claims only swarm jobs (a swarm slot), else
				 * only the others */
};

/* A claimed job, as the worker needs it. */
struct claimed_job {
	char id[JC_ID_LEN + 1];
	int64_t consumer_id;	/* whose blobs the inputs are */
	char *spec;		/* {"argv":[...],"env":{...}} */
	size_t spec_len;
	char *stdin_data;
	size_t stdin_len;
	int64_t timeout_ms;
	int64_t memory_mb, cpus, pids, disk_mb;
	char sandbox[16]; /* the backend's name: "namespace", "docker",
				 * "swarm" */
};

struct job_result {
	enum job_status status;	/* a final one */
	bool has_exit_code;
	int exit_code;
	int signal;		/* 0: none */
	bool timed_out;
	const char *error;	/* NULL or a human sentence */
	bool has_usage;		/* the cgroup's counters were read */
	int64_t cpu_ms;
	int64_t max_rss_kb;
	bool oom_killed;
	/* Collected artifacts (NULL: none asked): rows stored with the
	 * result, each expiring artifacts_keep_ms after it. */
	const struct artifact_set *artifacts;
	int64_t artifacts_keep_ms;
	/* A code job's compile step ran: its result (stored apart). */
	bool has_compile;
	int compile_exit_code; /* valid unless compile_signal */
	int compile_signal;
	bool compile_timed_out;
	int64_t compile_duration_ms;
	/* An image build (issue 14): the job's images row gets the id and
	 * size (built), or goes if the build made none. */
	bool is_build;
	const char *image_id; /* NULL: no image */
	int64_t image_size;
};

/* logcap.c: output chunks waiting to be stored, in arrival order. */
#define LOG_STREAMS \
	4 /* 1 stdout, 2 stderr, 3 and 4: the compile
				 * step's stdout and stderr (issue 14) */
struct log_chunk {
	int stream; /* 1 .. LOG_STREAMS */
	int64_t ts_ms;
	size_t len;
	char data[JC_LOG_CHUNK_BYTES];
};
struct logcap {
	struct log_chunk *chunks[LOG_BATCH_CHUNKS];
	/* JC_LOG_CHUNK_BYTES to read a pipe into. Not on the stack: a 64 KiB
	 * frame is probed page by page (-fstack-clash-protection), and each
	 * page written while a cell (a fork of the worker) lives is a
	 * copy-on-write fault with a TLB shootdown, even for no output. */
	char *readbuf;
	size_t n;		/* chunks in use */
	int64_t oldest_mono_ms;	/* when the first pending byte arrived */
	int64_t last_flush_mono_ms;	/* when chunks were last stored */
	uint64_t stored;	/* bytes accepted so far (for the cap) */
	uint64_t cap;
	bool truncated;
	int64_t next_seq;	/* sequence number of the next stored chunk */
	/* An unfinished UTF-8 character at the end of a stream's output,
	 * held back until the rest arrives (or the job ends): [stream]. */
	char carry[LOG_STREAMS + 1][4];
	size_t carry_len[LOG_STREAMS + 1];
};
int logcap_init(struct logcap *lc, uint64_t cap);
void logcap_release(struct logcap *lc);
/* Appends output; returns 1 if the batch must be flushed now (full). */
int logcap_add(struct logcap *lc, int stream, const char *data, size_t len);
/* The job ended: what is held back (an unfinished character) goes into
 * the batch as it is. -ENOBUFS if the batch has no room: store it first. */
int logcap_finish(struct logcap *lc);
/* True if the batch must be stored before the next read of up to
 * JC_LOG_CHUNK_BYTES (a read may need two chunks plus a UTF-8 carry). */
bool logcap_nearly_full(const struct logcap *lc);
/* True if pending output must be stored now: it is LOG_FLUSH_MS old, or
 * the pipes are quiet (all read) and the last flush is LOG_FLUSH_QUIET_MS
 * old. A sparse writer's lines go out at once; a chatty one's are batched
 * into at most 1000 / LOG_FLUSH_QUIET_MS transactions a second, a fast one's
 * by size. */
bool logcap_due(const struct logcap *lc, int64_t now_mono_ms, bool quiet);
/* ms until logcap_due becomes true, or -1 if nothing is pending. */
int logcap_wait_ms(const struct logcap *lc, int64_t now_mono_ms, bool quiet);

/* runtimes.c (supervisor): the runtimes of code jobs (issue 14). One
 * INI file per runtime; commands are words split on blanks, "{file}"
 * stands for the code's path in the cell. */
struct runtime_def {
	char name[32];
	char aliases[256];  /* space-separated */
	char sandbox[16];   /* "namespace" or "docker" */
	char image[256];    /* docker: the image (runtimes.d "image") */
	char file[64];	    /* the code's file name in /work */
	char compile[1024]; /* "": no compile step */
	char run[1024];
	char version_cmd[512];
	int64_t compile_timeout_ms, compile_memory_mb;
	char version[64]; /* found by runtimes_probe */
	bool unprobed;	  /* kept without a probe nor a version: its
			   * docker daemon did not answer (runtimes_probe) */
};
/* Reads dir/\*.ini into *ret (calloc'd, JC_MAX_RUNTIMES at most, sorted by
 * name; a bad file is logged and skipped). 0 or -errno (dir unreadable). */
int runtimes_load(const char *dir, struct runtime_def **ret, size_t *ret_n);
/* Runs each version command as uid; keeps (moving them to the front) the
 * runtimes whose toolchain answered with a version. Returns how many. */
/* A docker runtime answers if docker_socket (NULL: none) has its image
 * and its version command, run as uid in a throwaway container of it
 * (no network, small limits), exits 0 with a version. */
/* If docker_away (the daemon at docker_socket does not answer now), the
 * docker runtimes are not probed but kept, marked unprobed and without a
 * version: they exist, and are probed once the daemon answers. */
/* keepalive (may be NULL) is called with arg before each probe. */
size_t runtimes_probe(struct runtime_def *list, size_t n, uid_t uid,
    const char *docker_socket, bool docker_away, void (*keepalive)(void *arg),
    void *arg);

/* jobstore.c: every SQLite statement the worker runs. */
/* Replaces the runtimes rows of supervisor pid (and drops those of gone
 * supervisors) with list, in one transaction; an unprobed one's row says
 * so (probed = 0), and the API neither lists it nor runs it. */
int jobstore_runtimes_publish(sqlite3 *db, pid_t pid,
    const struct runtime_def *list, size_t n);
int jobstore_claim(sqlite3 *db, pid_t worker_pid, struct claimed_job *ret);
/* Claims (jobstore_claim, jobstore_finish's next) take only jobs of a
 * sandbox that the supervisors row of supervisor_pid lists. */
void jobstore_claim_scope(pid_t supervisor_pid, bool swarm_slot);
void claimed_job_release(struct claimed_job *j);
/* Stores the pending chunks (and empties lc) in one transaction. */
int jobstore_flush_logs(sqlite3 *db, const char *job_id, struct logcap *lc);
/* Puts a job claimed by worker_pid but never started back in the queue. */
int jobstore_unclaim(sqlite3 *db, const char *job_id, pid_t worker_pid);
/* Stores the remaining chunks and the result in one transaction and, if
 * ret_next is not NULL, claims the next job for claim_pid in the same one
 * (one commit, one disk flush for both). 1 with *ret_next filled, 0 (stored,
 * no next job), or -errno (nothing stored). */
int jobstore_finish(sqlite3 *db, const char *job_id, struct logcap *lc,
    const struct job_result *res, pid_t claim_pid,
    struct claimed_job *ret_next);
int jobstore_renew_lease(sqlite3 *db, const char *job_id);
/* 1 if a cancel was requested (or the job is gone), 0 if not, -errno.
 * *cache holds the prepared statement between calls for the same job
 * (NULL the first time); the caller finalizes it when the job ends. */
int jobstore_cancel_requested(sqlite3 *db, const char *job_id,
    sqlite3_stmt **cache);
/* Calls fn(id, arg) for each running job of that sandbox backend; a
 * count or -errno. */
int jobstore_each_running(sqlite3 *db, const char *sandbox,
    void (*fn)(const char *id, void *arg), void *arg);
/* The pids (up to max) of the workers holding a running job whose lease
 * has expired: a count, or -errno. */
int jobstore_expired_workers(sqlite3 *db, pid_t *ret_pids, size_t max);
/* Ends running jobs of pid (or all running jobs if pid is 0, or those with
 * an expired lease if expired_only) as error "worker lost". */
int jobstore_fail_lost(sqlite3 *db, pid_t pid, bool expired_only);
/* sandboxes: what this supervisor runs now, space-separated. */
int jobstore_heartbeat(sqlite3 *db, pid_t pid, int slots, int64_t started_at,
    const char *sandboxes);
/* 1 if the job is queued or running, 0 if it has ended, -ENOENT if this
 * database has no such job, other -errno. */
int jobstore_job_running(sqlite3 *db, const char *job_id);
int jobstore_supervisor_gone(sqlite3 *db, pid_t pid);
/* 1 if job id exists with a final status, 0 if not (running, queued or
 * unknown to this database), -errno. */
int jobstore_job_final(sqlite3 *db, const char *job_id);

/* exec_args.c: the job's argv and environment, built from the stored spec. */
struct exec_input {
	char digest[65]; /* hex: DATA/blobs/<consumer id>/<digest> */
	char *path;	 /* "" (tar): the workspace */
	bool tar;
	bool executable;
};
struct exec_args {
	char **argv;
	char **envp;
	size_t argc, envc;
	struct cell_file *files;	/* path and data owned */
	size_t nfiles;
	char *cwd;
	bool network;
	char *image;		/* image backends: the spec's "image", or NULL */
	struct exec_input *inputs; /* the spec's "inputs", owned */
	size_t ninputs;
	/* A code job's compile step (the spec's "compile"), or NULL. */
	char **compile_argv;
	size_t compile_argc;
	int64_t compile_timeout_ms, compile_memory_mb;
	char **constraints; /* swarm: the spec's "constraints" */
	size_t nconstraints;
};
/* image: the backend runs images (CELL_OPS_IMAGE): read "image", keep the
 * image's PATH. 0 or -errno (-EINVAL: the spec does not parse). */
int exec_args_build(const struct claimed_job *j, bool image,
    struct exec_args *ret);
void exec_args_release(struct exec_args *a);
/* The job's stdin as a memfd at offset 0: 1 with *ret_fd set, 0 if the job
 * has no stdin (*ret_fd untouched), -errno. */
int exec_args_stdin(const struct claimed_job *j, int *ret_fd);

/* job_artifacts.c: the artifacts of one job (artifacts.c collects). */
struct job_artifacts {
	char **patterns; /* from the spec, owned */
	size_t npatterns;
	bool asked;	/* the job named at least one glob */
	bool required;	/* "artifacts_required" */
	bool collected; /* set holds what is in the store */
	struct artifact_set set;
	void (*keepalive)(void *arg);
	void *keepalive_arg;
};
/* The job's globs: 1 (asked) or 0 (none) with *ret filled (release it
 * either way), or -errno (the spec does not parse). */
int job_artifacts_parse(const struct claimed_job *j, struct job_artifacts *ret);
/* Collects from ws_fd (the job's workspace, its processes dead; -1: the
 * backend has none) into DATA/artifacts/<job id>/. 0, or -errno with a
 * sentence for the job's error in msg (nothing left in the store). */
int job_artifacts_collect(const struct worker_config *cfg, const char *job_id,
    int ws_fd, struct job_artifacts *a, char *msg, size_t size);
/* Optional, for job_artifacts_collect: called now and then while it
 * copies (renews the job's lease). */
void job_artifacts_keepalive(struct job_artifacts *a, void (*fn)(void *arg),
    void *arg);
/* The first glob that matched no regular file, if "artifacts_required";
 * else NULL. */
const char *job_artifacts_missing(const struct job_artifacts *a);
/* Removes DATA/artifacts/<job id> (its result could not be stored). */
void job_artifacts_discard(const struct worker_config *cfg, const char *job_id);
void job_artifacts_release(struct job_artifacts *a);

/* job_result.c: how a job ended, as the run saw it. */
struct job_end {
	struct cell_result cell;	/* from the backend's try_wait/collect */
	struct cell_usage usage;	/* from collect */
	bool timed_out;			/* we sent TERM at the deadline */
	bool cancelled;			/* we sent TERM for a cancel or a drain */
	bool stopped;			/* the worker is draining and sent it */
};
/* The stored result of e: status, exit_code, signal, usage. Pure. For a
 * cell that failed (setup or lost), status "error" with a sentence written
 * into msg (which res->error then points to). */
void job_classify(const struct job_end *e, struct job_result *res,
    char *msg, size_t size);

/* job_build.c: an image build's stored spec (issue 14). */
struct job_build {
	char *tag, *context, *dockerfile, *dockerfile_text, *build_args;
	size_t dockerfile_len;
	bool network;
	int context_fd; /* the context blob, or -1 */
	struct cell_build cb;
};
/* 1 and *ret if j is an image build, 0 if not, -errno (unreadable). */
int job_build_parse(const struct claimed_job *j, struct job_build *ret);
void job_build_release(struct job_build *b);
/* Opens the context blob and fills *spec for cell_docker_build_ops (b
 * must outlive it). 0, or -errno with the job's error in msg. */
int job_build_spec(const struct worker_config *cfg, const struct claimed_job *j,
    struct job_build *b, struct cell_spec *spec, char *msg, size_t size);

/* job_run.c: runs j to its end in a cell of its backend and stores the
 * result; *next gets the job claimed with it, if any (next->id[0] is then
 * set). wal_fd: an inotify fd on the database's WAL, or -1. */
void job_run(const struct worker_config *cfg, sqlite3 *db,
    struct claimed_job *j, struct logcap *lc, struct claimed_job *next,
    int wal_fd);
/* Stores res with retries (a busy database must not lose it); unless the
 * worker is stopping the same commit claims the next job into *next (next
 * may be NULL). 0 or -errno. */
int job_store_result(sqlite3 *db, const char *id, struct logcap *lc,
    const struct job_result *res, struct claimed_job *next);

/* worker.c */
/* With cfg->warm_cells: makes sure a warm namespace cell waits, built for
 * disk_mb (0: the last size asked for). Failures only cost the cold path. */
void worker_warm_cell(const struct worker_config *cfg, uint64_t disk_mb);
/* poll() that lets the worker's signals in only while it waits. */
int worker_ppoll_ms(struct pollfd *pfd, nfds_t n, int timeout_ms);
/* The worker process's main loop; returns the exit status. */
int worker_main(const struct worker_config *cfg);

/* collector.c: the garbage collector's child (lib/gc.c). */
struct collector_config {
	const char *db_path;
	const char *data_dir; /* "": rows only */
	int64_t jobs_days, artifacts_hours, blobs_hours;
	int64_t images_days;
	const char *docker_socket; /* NULL: no daemon, images stay marked */
};
/* Forks a child that runs one pass and exits (0 done, 1 failed, logged
 * there). The pid, or -errno. Called by the single-threaded supervisor;
 * oldmask: the signal mask the child restores. */
pid_t collector_spawn(const struct collector_config *c,
    const sigset_t *oldmask);
/* Set by SIGTERM in a worker: finish (or cancel after the grace) and exit. */
extern volatile sig_atomic_t worker_draining;
/* Set by SIGUSR1 (the config was reloaded): finish the current job, exit. */
extern volatile sig_atomic_t worker_retiring;

#endif
