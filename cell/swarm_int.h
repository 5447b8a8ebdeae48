/* swarm_int.h - private to the swarm backend (swarm_*.c): one job as one
 * Docker Swarm service in Mode.ReplicatedJob, made through the Engine API
 * of a swarm manager (docker_api.c). Runs in a jobcell-worker process and,
 * after fork(), as the cell's helper. Trusts from the manager only the
 * task's state, node and exit code. */
#ifndef JOBCELL_SWARM_INT_H
#define JOBCELL_SWARM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cell.h"
#include "docker_api.h"
#include "strbuf.h"

#define SWARM_ID_MAX 64		   /* a swarm object id: [a-z0-9], 25 here */
#define SWARM_API_MINOR 46	   /* Privileges.Seccomp, NoNewPrivileges */
#define SWARM_API_MIN_MINOR 41	   /* Mode.ReplicatedJob, Limits.Pids */
#define SWARM_STEP_MS 10000	   /* bound of one call */
#define SWARM_POLL_MS 100	   /* task state polled this often ... */
#define SWARM_POLL_MAX_MS 500	   /* ... slowing to this */
#define SWARM_NODE_CHECK_MS 1000   /* the task's node looked at */
#define SWARM_REMOVE_WAIT_MS 30000 /* a removed service's task stops */
#define SWARM_LOGS_MS 60000	   /* bound of the final log fetch */
#define SWARM_FOLLOW_STOP_MS 10000 /* the log follower ends at a message */
#define SWARM_LOG_MSG_MAX (1024u * 1024) /* one log message (Docker: 16 KiB) */
#define SWARM_TS_MAX 40			 /* "2026-12-06T15:00:00.123456789Z" */
#define SWARM_LOG_MAX "64m"		 /* json-file max-size on the node */
#define SWARM_SWEEP_MAX 200		 /* services looked at per sweep */
#define SWARM_CONSTRAINTS_MAX 8
#define SWARM_INFLATE_MS 60000 /* bound of one input's decompression */

/* Files, stdin and cwd travel as swarm configs (read-only files in the
 * container): jobcell-cell-unpack, the files stream it reads (cell_unpack.c)
 * and stdin; the job starts as "unpack --from STREAM STDIN|- argv...". */
#define SWARM_UNPACKER_IN "/.jobcell/unpack"
#define SWARM_STREAM_IN "/.jobcell/files"
#define SWARM_STDIN_IN "/.jobcell/stdin"
#define SWARM_CONFIGS_MAX 3
struct swarm_config_ref {
	const char *id;	    /* the config's id (POST /configs/create) */
	const char *name;   /* and name */
	const char *target; /* its file in the container */
	unsigned mode;	    /* its mode there */
};

/* What a service needs besides the job's spec: the host's side. */
struct swarm_create {
	const char *image;
	long worker_id;			/* label jobcell.worker */
	int api_minor;			/* negotiated: >= 46 adds Privileges */
	const char *seccomp_profile;	/* Docker seccomp JSON, or NULL */
	int64_t stop_grace_ms;		/* TERM -> KILL on the node */
	const char *const *constraints; /* Placement.Constraints, or NULL */
	size_t nconstraints;
	/* The job's configs; with any, the unpacker's comes first and the
	 * job starts through it; stdin_in: the stdin config's target, or
	 * NULL. */
	const struct swarm_config_ref *configs;
	size_t nconfigs;
	const char *stdin_in;
	/* The body that stops the job (see swarm_cell.c, "Stopping"): the
	 * same service, ForceUpdate 1 and a constraint no node meets. */
	bool stopping;
};
#define SWARM_STOP_CONSTRAINT \
	"node.id==jobcell-stopped" /* no node's id
								 * has a '-' */

/* swarm_spec.c: pure, no daemon, no I/O. */
/* POST /services/create's body for the job, into sb. 0, -EINVAL (a job
 * the swarm backend cannot carry: files, stdin, network), or -errno. */
int swarm_service_body(const struct cell_spec *s, const struct swarm_create *o,
    struct strbuf *sb);
/* POST /configs/create's body: name, the labels of the job's service, data
 * (1..JC_SWARM_CONFIG_MAX bytes, else -E2BIG/-EINVAL). */
int swarm_config_body(const char *name, const char *job_id, long worker_id,
    const char *data, size_t len, struct strbuf *sb);
/* An input's blob, read into memory, for the files stream. */
struct swarm_blob {
	const char *name; /* "inputs[N]", for the sentence */
	const char *path; /* wspath; "" (tar): /work itself */
	bool tar;	  /* an uncompressed ustar archive, else one file */
	bool executable;  /* a file: mode 0755 */
	const char *data;
	size_t len;
};
/* jobcell-cell-unpack's files stream (cell_unpack.c) for a swarm job: the
 * spec's files, then each blob (a file at its path; an archive's regular
 * files under its path, directories made as their files need them), then
 * the cwd. 0; -E2BIG past sb's max; -EINVAL with a sentence in msg naming
 * the input for an archive that is not plain ustar (still compressed, pax
 * or GNU long names) or holds links, devices or a path out of place. */
int swarm_files_stream(const struct cell_spec *s, const struct swarm_blob *b,
    size_t nb, struct strbuf *sb, char *msg, size_t size);
/* The compression data starts with, by its magic bytes: "gzip", "xz",
 * "zstd", "bzip2", or NULL (none of these, or a ustar header: a plain tar,
 * or not a tar). */
const char *swarm_compression(const char *data, size_t len);
/* A swarm object id as the manager makes them: 1..SWARM_ID_MAX of
 * [a-z0-9]. */
bool swarm_id_ok(const char *s);

/* The service's log stream (GET /services/{id}/logs, timestamps=1):
 * Docker's multiplexed frames (docker_demux), one frame per log message,
 * each "<RFC 3339 time> <message bytes>". The reader hands on whole
 * messages without their time, in the stream's order, skipping the first
 * skip ones: those an earlier read of the same stream handed on. Two reads
 * of a service's logs list its messages in the same order (the node reads
 * its one json-file log), so a count is the position; times are not, as
 * the daemon stamps stdout and stderr in two goroutines, and the file's
 * order need not be their order. The time of message number skip is kept
 * to check that the second read lines up with the first. */
struct swarm_logs {
	struct docker_demux dm;
	struct strbuf msg; /* the frame being read, max SWARM_LOG_MSG_MAX */
	uint64_t seen;	   /* whole messages read */
	uint64_t skip;	   /* the first skip are not handed on */
	char skip_ts[SWARM_TS_MAX + 1]; /* expected time of number skip */
	bool misaligned; /* message number skip had another time */
	char last_ts[SWARM_TS_MAX + 1]; /* time of message number seen */
	int (*emit)(int stream, const char *data, size_t len, void *arg);
	void *arg;
};
/* skip_ts may be NULL or "" (not checked). */
void swarm_logs_init(struct swarm_logs *l, uint64_t skip, const char *skip_ts,
    int (*emit)(int stream, const char *data, size_t len, void *arg),
    void *arg);
void swarm_logs_release(struct swarm_logs *l);
/* Any split of the stream. 0; -EPROTO on a bad frame, a message over
 * SWARM_LOG_MSG_MAX or without a time; a negative return of emit (called
 * once per message, stream 1 or 2, len >= 0) is passed on. After an error
 * the reader is unusable. */
int swarm_logs_feed(struct swarm_logs *l, const char *buf, size_t len);

/* A task as the helper sees it. */
enum swarm_task_state {
	SWARM_TASK_NONE,    /* no task yet */
	SWARM_TASK_PENDING, /* new .. starting: not ended */
	SWARM_TASK_RUNNING,
	SWARM_TASK_EXITED,   /* complete or failed: exit_code valid */
	SWARM_TASK_REJECTED, /* never ran: err says why */
	SWARM_TASK_LOST,     /* orphaned, or shut down by someone else */
};
struct swarm_task {
	enum swarm_task_state state;
	char id[SWARM_ID_MAX + 1];
	int exit_code;
	char node_id[SWARM_ID_MAX + 1];
	char err[200];
};
/* A task of a GET /tasks answer: the one whose ID is want, or the first
 * if want is NULL or "" (a job service has one until it is stopped); state
 * SWARM_TASK_NONE if there is none. 0, or -EPROTO. */
int swarm_task_parse(const char *buf, size_t len, const char *want,
    struct swarm_task *ret);
/* The Version.Index of a GET /services/{id} answer. 0, or -EPROTO. */
int swarm_service_version(const char *buf, size_t len, int64_t *ret);
/* Whether a GET /nodes/{id} answer says the node is down or gone. */
bool swarm_node_down(const char *buf, size_t len);

/* swarm_configs.c: a job's configs, made before its service and removed
 * after it (a config in use cannot go). */
#define SWARM_CONFIG_NAME_MAX 96
struct swarm_configs {
	char id[SWARM_CONFIGS_MAX][SWARM_ID_MAX + 1];
	char name[SWARM_CONFIGS_MAX][SWARM_CONFIG_NAME_MAX];
	size_t n; /* made: the first n */
};
/* Files, stdin, cwd: jobcell-cell-unpack, the files stream and stdin as
 * configs of job_id (see cell_unpack.c), each recorded in cfg as it is
 * made; the refs for the service into refs (SWARM_CONFIGS_MAX of them);
 * *ret_stdin_in the stdin config's target or NULL. How many (0: the job
 * needs none), or -errno with a sentence in msg. */
int swarm_configs_create(struct swarm_configs *cfg, struct docker *api,
    const char *job_id, const struct cell_spec *spec,
    struct swarm_config_ref *refs, const char **ret_stdin_in, char *msg,
    size_t size);
/* DELETE /configs/{id or name}: 0 if gone (or never there), -errno. */
int swarm_config_remove(struct docker *api, const char *name);
/* The name of job_id's config number which (0 the unpacker, 1 the files
 * stream, 2 stdin) into buf: "jobcell-<job_id>-<unpack|files|stdin>". */
void swarm_config_name(char *buf, size_t size, const char *job_id,
    size_t which);

/* swarm_logs.c: the log follower, a child of the cell's helper (see
 * swarm_cell.c, "Output"). Its position sits in a shared page. */
struct swarm_follow_pos;
struct swarm_follower {
	pid_t pid;		      /* -1: none */
	struct swarm_follow_pos *pos; /* shared page */
};
/* Forks the follower: the service id's logs from the start into out_w
 * and err_w, live, until swarm_follower_stop (bounded by max_run_ms and a
 * margin). Without a shared page or a fork there is no live output (f
 * says so) and the drain's read has it all. For the helper only. */
void swarm_follower_start(struct swarm_follower *f, struct docker *api,
    const char *id, int out_w, int err_w, int64_t max_run_ms);
/* Ends the follower at a message boundary; how many messages it handed
 * on, into *ret_n and ret_ts (size bytes). A follower stuck past
 * SWARM_FOLLOW_STOP_MS (writing to a pipe nobody reads) is killed. */
void swarm_follower_stop(struct swarm_follower *f, uint64_t *ret_n,
    char *ret_ts, size_t size);
/* Stops the follower, then the rest of the output, what it did not hand
 * on, into out_w and err_w. 0, or -errno (-EIO: not HTTP 200). */
int swarm_follower_drain(struct docker *api, const char *id,
    struct swarm_follower *f, int out_w, int err_w, int timeout_ms);

#endif
