/* job_run.c - the run of one job, in a jobcell-worker process: build the
 * cell through its backend's ops table (cell/cell.h), then loop until the
 * cell has ended and its pipes are drained, and store the result. Trusts
 * nothing from the cell but bytes on its pipes and its backend's report.
 *
 * How it works: struct job_run holds the state of one run; each pass of
 * the loop calls the step functions in order, each looking only at the
 * clock and its own part of the state:
 *
 *   step_reap      try_wait; once the cell ended, the pipes get 1 s to EOF
 *   step_deadline  the wall time is up: TERM, KILL after the grace
 *   step_cancel    the database changed (or it is time to look): a cancel
 *                  request gets TERM, KILL after the grace
 *   step_drain     the worker was told to stop: after drain_grace_ms, the
 *                  job is cancelled the same way
 *   step_kill      the grace is over: KILL
 *   step_lease     renew the job's lease every WORKER_RENEW_MS
 *   step_flush     store pending output when logcap says it is due
 *
 * then sleeps in ppoll() on the cell's pipes, its exit fd and the WAL
 * watch until the nearest of their deadlines, and reads what came. The
 * result's classification is job_classify() (job_result.c). Once the
 * cell has ended (every process of it dead) and before it is released,
 * the job's artifacts are collected from its workspace (job_artifacts.c)
 * and stored with the result in one transaction. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "db.h"
#include "log.h"
#include "timefmt.h"
#include "worker.h"
#include "banned.h"

#define STORE_RETRIES 50	/* x 100 ms: how long a result waits on a busy db */

struct job_run {
	const struct worker_config *cfg;
	sqlite3 *db;
	struct claimed_job *j;
	struct logcap *lc;
	int wal_fd;
	struct cell cell;
	struct cell_workspace *ws; /* the disk workspace, or NULL */
	struct job_build *build;   /* an image build, or NULL */
	struct job_end end;
	sqlite3_stmt *cancel_st;	/* jobstore_cancel_requested's cache */
	int64_t deadline;	/* the job's wall time ends (mono ms) */
	int64_t compile_ms;	/* the compile step's time, 0: none */
	int64_t kill_at;	/* TERM sent: KILL then; 0: no TERM yet */
	int64_t check_min;	/* next look for a cancel: not before ... */
	int64_t check_max;	/* ... and not after */
	int trail;		/* looks left after the last change: none */
	int64_t next_renew;	/* of the lease */
	int64_t drain_at;	/* worker stopping: cancel then; 0: not */
	int64_t reaped_at;
	bool reaped, killed, out_open, err_open;
	bool cout_open, cerr_open; /* the compile step's pipes */
	bool compiling;		   /* its pipes were open at the last look */
	bool busy;		/* a pipe may hold more: flush by size only */
	bool db_changed;	/* the WAL was written since the last look */
	int out_stream, err_stream; /* the cell's stdout and stderr in the
				 * logs: 1 and 2; 3 and 4 while a docker
				 * compile container runs */
	struct cell_result compile; /* a docker compile container's result
				 * (its compile_* fields), merged into the
				 * job's at the end */
};

int
job_store_result(sqlite3 *db, const char *id, struct logcap *lc,
    const struct job_result *res, struct claimed_job *next)
{
	int r = 0;

	if (worker_draining || worker_retiring)
		next = NULL;
	if (logcap_finish(lc) == -ENOBUFS &&
	    (jobstore_flush_logs(db, id, lc) < 0 || logcap_finish(lc) < 0))
		log_warn("job=%s: the last bytes of an unfinished character "
		    "are lost, ignoring", id);
	for (int i = 0; i < STORE_RETRIES; i++) {
		if ((r = jobstore_finish(db, id, lc, res, getpid(), next)) >= 0)
			return 0;
		log_warn("job=%s: cannot store the result: %s, retrying", id,
		    strerror(-r));
		(void) poll(NULL, 0, 100);
	}
	return r;
}

static void
finish_error(sqlite3 *db, const char *id, struct logcap *lc, const char *msg,
    struct claimed_job *next, bool is_build)
{
	struct job_result res = { .status = JOB_ERROR,
		.error = msg,
		.is_build = is_build };

	log_warn("job=%s: %s", id, msg);
	if (job_store_result(db, id, lc, &res, next) < 0)
		log_err("job=%s: result lost; the lease sweep will end it", id);
}

/* Reads what is available on fd into lc; returns 0 at EOF, 1 if the pipe
 * is open and empty for now, 2 if it is open and may hold more (it stopped
 * after 16 reads, or a full batch could not be stored yet). */
static int
pump(sqlite3 *db, const char *id, struct logcap *lc, int fd, int stream)
{
	char *buf = lc->readbuf;

	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n;

		if (logcap_nearly_full(lc) &&
		    jobstore_flush_logs(db, id, lc) < 0) {
			log_warn("job=%s: cannot store output, retrying", id);
			return 2;
		}
		/* what the non-blocking pipe holds now, not read_full */
		n = read(fd, buf, JC_LOG_CHUNK_BYTES);
		if (n == 0)
			return 0;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 1 : 0;
		if (logcap_add(lc, stream, buf, (size_t) n) < 0)
			log_warn("job=%s: output chunk dropped", id);
	}
	return 2;
}

static int
min_wait(int a, int64_t until, int64_t now)
{
	int64_t d = until - now;

	if (d < 0)
		d = 0;
	return (a < 0 || d < a) ? (int) d : a;
}

/* Reads and drops whatever fd (non-blocking) holds. */
static void
drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* docker cells' spec->keepalive: the lease runs on while a daemon works. */
struct lease_arg {
	sqlite3 *db;
	const char *id;
};

static void
renew_lease(void *arg)
{
	struct lease_arg *l = arg;
	int r;

	if ((r = jobstore_renew_lease(l->db, l->id)) < 0)
		log_warn("job=%s: cannot renew the lease: %s, retrying", l->id,
		    strerror(-r));
}

/* The blobs of the job's inputs (DATA/blobs/<consumer id>/<hex>), open
 * into in[] (names[] their "inputs[N]"), *ret_n of them open even on
 * failure (the caller closes them). 0, or -errno with the sentence. */
static int
run_open_inputs(struct job_run *run, const struct exec_args *ea,
    struct cell_input *in, char (*names)[32], size_t *ret_n, char *msg,
    size_t size)
{
	const struct worker_config *cfg = run->cfg;
	const struct claimed_job *j = run->j;
	size_t n;
	int r = 0;

	*ret_n = 0;
	if (ea->ninputs > JC_MAX_INPUTS)
		return -E2BIG;
	for (n = 0; n < ea->ninputs; n++) {
		char p[JC_PATH_MAX];

		(void) snprintf(names[n], sizeof(names[n]), "inputs[%zu]", n);
		in[n] = (struct cell_input){ .name = names[n],
			.path = ea->inputs[n].path,
			.tar = ea->inputs[n].tar,
			.executable = ea->inputs[n].executable };
		if (!cfg->data_dir ||
		    (size_t) snprintf(p, sizeof(p), "%s/blobs/%lld/%s",
			cfg->data_dir, (long long) j->consumer_id,
			ea->inputs[n].digest) >= sizeof(p)) {
			r = -ENAMETOOLONG;
			(void) snprintf(msg, size,
			    "the job has inputs but this worker has no "
			    "usable [storage] data_dir");
			break;
		}
		if ((in[n].fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) <
		    0) {
			r = -errno;
			(void) snprintf(msg, size,
			    "input %s: the blob "
			    "sha256:%s is gone (%s)",
			    names[n], ea->inputs[n].digest, strerror(-r));
			break;
		}
	}
	*ret_n = n;
	return r;
}

/* With a data directory: the job's disk workspace (cell.h), its inputs
 * (blobs DATA/blobs/<consumer id>/<hex>, opened here, read by the
 * unpacker) and files put in before the cell starts; the files are then
 * the workspace's, not the cell's. Without one, /work is the cell's tmpfs
 * and a job with inputs cannot run. 0, or -errno with the sentence for the
 * job's error in msg (run->ws is the caller's to destroy either way). */
static int
run_workspace(struct job_run *run, struct exec_args *ea, uid_t uid, gid_t gid,
    void *lease, char *msg, size_t size)
{
	const struct worker_config *cfg = run->cfg;
	const struct claimed_job *j = run->j;
	struct cell_input in[JC_MAX_INPUTS];
	char names[JC_MAX_INPUTS][32]; /* "inputs[N]" of any size_t */
	size_t n = 0;
	int r = 0;

	if (!cfg->data_dir) {
		if (ea->ninputs == 0)
			return 0;
		(void) snprintf(msg, size,
		    "the job has inputs but this worker "
		    "has no [storage] data_dir");
		return -ENOTSUP;
	}
	if (ea->ninputs > JC_MAX_INPUTS)
		return -E2BIG;
	/* One made ahead (workspace_pool.c), else one made now. */
	if (cell_workspace_pool_take((uint64_t) j->disk_mb, uid, gid,
		&run->ws) < 0 &&
	    (r = cell_workspace_create(cfg->data_dir, j->id, uid, gid,
		 (uint64_t) j->disk_mb, &run->ws, msg, size)) < 0)
		return r;
	r = run_open_inputs(run, ea, in, names, &n, msg, size);
	if (r == 0)
		r = cell_workspace_fill(run->ws, uid, gid,
		    (uint64_t) j->disk_mb, ea->files, ea->nfiles, in, n,
		    j->timeout_ms, renew_lease, lease, msg, size);
	for (size_t i = 0; i < n; i++)
		(void) close(in[i].fd);
	return r;
}

static int run_compile_docker(struct job_run *run, const struct cell_ops *ops,
    const struct cell_spec *spec, char *msg, size_t size);

/* The cell's spec from the job and its translated argv; starts the cell.
 * 0, 1 (a docker compile container ended the job: run->end says how), or
 * -errno with the sentence for the job's error in msg. */
static int
run_start(struct job_run *run, const struct cell_ops *ops, char *msg,
    size_t size)
{
	const struct worker_config *cfg = run->cfg;
	const struct claimed_job *j = run->j;
	uint64_t mem;
	struct lease_arg lease = { run->db, j->id };
	struct exec_args ea = { 0 };
	_cleanup_close_ int in_fd = -1;
	struct cell_input in[JC_MAX_INPUTS];
	char names[JC_MAX_INPUTS][32]; /* "inputs[N]" of any size_t */
	size_t nin = 0;
	struct cell_spec spec;
	bool apart;
	int r;

	if (run->build) {
		if ((r = job_build_spec(cfg, j, run->build, &spec, msg, size)) <
		    0)
			return r;
		spec.keepalive = renew_lease;
		spec.keepalive_arg = &lease;
		return ops->start(&spec, &run->cell, msg, size);
	}
	if ((r = exec_args_build(j, ops->flags & CELL_OPS_IMAGE, &ea)) < 0) {
		(void) snprintf(msg, size, "the stored job is unreadable: %s",
		    strerror(-r));
		return r;
	}
	if ((r = exec_args_stdin(j, &in_fd)) < 0) {
		(void) snprintf(msg, size, "cannot prepare stdin: %s",
		    strerror(-r));
		exec_args_release(&ea);
		return r;
	}
	/* A remote cell's /work is on its node: no disk workspace here; its
	 * inputs' blobs go with the spec. */
	if (ops->flags & CELL_OPS_REMOTE &&
	    (r = run_open_inputs(run, &ea, in, names, &nin, msg, size)) < 0) {
		for (size_t i = 0; i < nin; i++)
			(void) close(in[i].fd);
		exec_args_release(&ea);
		return r;
	}
	if (!(ops->flags & CELL_OPS_REMOTE) &&
	    (r = run_workspace(run, &ea, cfg->uid_base + (uid_t) cfg->slot,
		 cfg->uid_base + (gid_t) cfg->slot, &lease, msg, size)) < 0) {
		exec_args_release(&ea);
		return r;
	}
	/* The docker backend runs one command per container: a compile
	 * step is a container of its own (run_compile_docker). */
	apart = ea.compile_argv && !(ops->flags & CELL_OPS_COMPILE) &&
	    ops == &cell_docker_ops;
	if (ea.compile_argv && !(ops->flags & CELL_OPS_COMPILE) && !apart) {
		(void) snprintf(msg, size,
		    "the %s sandbox runs no compile "
		    "steps",
		    ops->name);
		for (size_t i = 0; i < nin; i++)
			(void) close(in[i].fd);
		exec_args_release(&ea);
		return -ENOTSUP;
	}
	/* One memory cgroup for both steps: the larger of the two; each
	 * step's own bound is its RLIMIT_DATA (cell.h). Apart, each
	 * container has its own. */
	mem = (uint64_t) j->memory_mb;
	if (ea.compile_argv && !apart && (uint64_t) ea.compile_memory_mb > mem)
		mem = (uint64_t) ea.compile_memory_mb;
	spec = (struct cell_spec){
		.job_id = j->id,
		.argv = ea.argv,
		.envp = ea.envp,
		.stdin_fd = in_fd,
		.host_uid = cfg->uid_base + (uid_t) cfg->slot,
		.host_gid = cfg->uid_base + (gid_t) cfg->slot,
		.disk_mb = (uint64_t) j->disk_mb,
		.memory_mb = mem,
		.cpus = (uint64_t) j->cpus,
		.pids = (uint64_t) j->pids,
		.files = ea.files,
		.nfiles = ea.nfiles,
		.cwd = ea.cwd,
		.network = ea.network,
		.image = ea.image,
		.workspace = run->ws,
		.max_run_ms = j->timeout_ms + cfg->kill_grace_ms,
		.keepalive = renew_lease,
		.keepalive_arg = &lease,
		.compile_argv = ea.compile_argv,
		.compile_timeout_ms = ea.compile_timeout_ms,
		.compile_memory_mb = (uint64_t) ea.compile_memory_mb,
		.run_data_mb = mem > (uint64_t) j->memory_mb ?
		    (uint64_t) j->memory_mb :
		    0,
		.constraints = (const char *const *) ea.constraints,
		.nconstraints = ea.nconstraints,
	};
	if (run->ws) { /* filled already */
		spec.files = NULL;
		spec.nfiles = 0;
	}
	if (apart) {
		r = run_compile_docker(run, ops, &spec, msg, size);
		spec.compile_argv = NULL;
		if (r == 0)
			r = ops->start(&spec, &run->cell, msg, size);
		exec_args_release(&ea);
		return r;
	}
	if (ea.compile_argv)
		spec.max_run_ms += ea.compile_timeout_ms;
	spec.inputs = nin ? in : NULL;
	spec.ninputs = nin;
	r = ops->start(&spec, &run->cell, msg, size);
	for (size_t i = 0; i < nin; i++)
		(void) close(in[i].fd);
	run->cout_open = run->cerr_open = run->compiling = r >= 0 &&
	    ea.compile_argv;
	run->compile_ms = ea.compile_argv ? ea.compile_timeout_ms : 0;
	exec_args_release(&ea);
	return r;
}

/* The job's workspace as a directory fd on the host (the disk
 * workspace's root, cell.h), valid until it is destroyed; -1 where the
 * cell keeps none (a tmpfs /work, without [storage] data_dir). */
static int
run_workspace_fd(const struct job_run *run)
{
	return run->ws ? cell_workspace_dirfd(run->ws) : -1;
}

static void step_lease(struct job_run *run, int64_t now);

/* The collection's keepalive: renews the lease when it is due. */
static void
run_keepalive(void *arg)
{
	step_lease(arg, time_mono_ms());
}

/* Collects the artifacts of a job that ran to its end (succeeded, failed
 * or timed out; not cancelled, not a cell that failed) into the store,
 * and hangs them on res; a glob that "artifacts_required" finds empty, or
 * a store that cannot take them, fails a job that succeeded and names
 * why in its error (msg). */
static void
run_artifacts(struct job_run *run, struct job_artifacts *a,
    struct job_result *res, char *msg, size_t size)
{
	const char *id = run->j->id, *miss;
	int r;

	if ((r = job_artifacts_parse(run->j, a)) <= 0) {
		if (r < 0)
			log_warn("job=%s: the stored artifact globs do not "
				 "parse: %s, ignoring",
			    id, strerror(-r));
		return;
	}
	if (res->status != JOB_SUCCEEDED && res->status != JOB_FAILED &&
	    res->status != JOB_TIMED_OUT)
		return;
	/* Gigabytes take a while: the lease must outlive the copy. */
	job_artifacts_keepalive(a, run_keepalive, run);
	if ((r = job_artifacts_collect(run->cfg, id, run_workspace_fd(run), a,
		 msg, size)) < 0) {
		log_warn("job=%s: %s", id, msg);
		if (res->status == JOB_SUCCEEDED)
			res->status = JOB_FAILED;
		if (!res->error)
			res->error = msg;
		return;
	}
	res->artifacts = &a->set;
	res->artifacts_keep_ms = run->cfg->artifacts_keep_ms;
	log_debug("job=%s: %zu artifacts, %llu bytes%s", id, a->set.n,
	    (unsigned long long) a->set.bytes,
	    a->set.truncated ? " (truncated)" : "");
	if ((miss = job_artifacts_missing(a)) != NULL) {
		(void) snprintf(msg, size,
		    "artifact glob '%s' matched no file "
		    "(artifacts_required)",
		    miss);
		if (res->status == JOB_SUCCEEDED)
			res->status = JOB_FAILED;
		if (!res->error)
			res->error = msg;
	}
}

static void
step_reap(struct job_run *run, int64_t now)
{
	struct cell_result *cr = &run->end.cell;
	int r;

	if (run->reaped || (r = run->cell.ops->try_wait(&run->cell, cr)) == 0)
		return;
	if (r < 0) {
		*cr = (struct cell_result) { .outcome = CELL_SETUP_FAILED };
		(void) snprintf(cr->error, sizeof(cr->error),
		    "lost track of the cell: %s", strerror(-r));
	}
	run->reaped = true;
	run->reaped_at = now;
}

/* TERM to the whole cell; KILL follows after the grace (step_kill). */
static void
terminate(struct job_run *run, int64_t now)
{
	(void) run->cell.ops->signal(&run->cell, SIGTERM);
	run->kill_at = now + run->cfg->kill_grace_ms;
}

static void
step_deadline(struct job_run *run, int64_t now)
{
	/* The compile step has its own time (the cell's init keeps it);
	 * the job's wall time starts when it ends: both of its pipes are
	 * at EOF (init closes them once the compiler's processes are gone). */
	if (run->compiling && !run->cout_open && !run->cerr_open) {
		run->compiling = false;
		run->deadline = now + run->j->timeout_ms;
	}
	if (!run->reaped && !run->kill_at && now >= run->deadline) {
		run->end.timed_out = true;
		terminate(run, now);
	}
}

static void
step_cancel(struct job_run *run, int64_t now)
{
	if (run->reaped || run->kill_at || now < run->check_min ||
	    (!run->db_changed && now < run->check_max))
		return;
	/* inotify fires when a commit writes its frames, before the commit
	 * is visible: after a change, look again 25 and 125 ms later before
	 * going quiet. */
	if (run->db_changed)
		run->trail = 0;
	run->db_changed = false;
	run->check_min = now + WORKER_CANCEL_CHECK_MS;
	run->check_max = now + (run->wal_fd < 0 ? WORKER_CANCEL_POLL_MS :
	    run->trail == 0 ? WORKER_CANCEL_CHECK_MS :
	    run->trail == 1 ? 4 * WORKER_CANCEL_CHECK_MS :
	    WORKER_CANCEL_QUIET_MS);
	if (run->trail < 2)
		run->trail++;
	if (jobstore_cancel_requested(run->db, run->j->id,
	    &run->cancel_st) == 1) {
		run->end.cancelled = true;
		terminate(run, now);
	}
}

static void
step_drain(struct job_run *run, int64_t now)
{
	if (worker_draining && !run->drain_at)
		run->drain_at = now + run->cfg->drain_grace_ms;
	if (!run->reaped && !run->kill_at && run->drain_at &&
	    now >= run->drain_at) {
		run->end.cancelled = true;
		terminate(run, now);
	}
}

static void
step_kill(struct job_run *run, int64_t now)
{
	if (!run->reaped && run->kill_at && !run->killed &&
	    now >= run->kill_at) {
		(void) run->cell.ops->signal(&run->cell, SIGKILL);
		run->killed = true;
	}
}

static void
step_lease(struct job_run *run, int64_t now)
{
	int r;

	if (now < run->next_renew)
		return;
	run->next_renew = now + WORKER_RENEW_MS;
	if ((r = jobstore_renew_lease(run->db, run->j->id)) < 0)
		log_warn("job=%s: cannot renew the lease: %s, retrying",
		    run->j->id, strerror(-r));
}

static void
step_flush(struct job_run *run, int64_t now)
{
	int r;

	if (logcap_due(run->lc, now, !run->busy) &&
	    (r = jobstore_flush_logs(run->db, run->j->id, run->lc)) < 0)
		log_warn("job=%s: cannot store output: %s, retrying",
		    run->j->id, strerror(-r));
}

/* The fds to wait on (pfd has room for 6) and how long: the nearest of
 * the deadlines the steps above keep. */
static int
wait_set(struct job_run *run, int64_t now, struct pollfd *pfd, nfds_t *ret_n)
{
	nfds_t n = 0;
	int wait_ms = -1;

	if (run->out_open)
		pfd[n++] = (struct pollfd) { run->cell.stdout_fd, POLLIN, 0 };
	if (run->err_open)
		pfd[n++] = (struct pollfd) { run->cell.stderr_fd, POLLIN, 0 };
	if (run->cout_open)
		pfd[n++] = (struct pollfd){ run->cell.compile_out_fd, POLLIN,
			0 };
	if (run->cerr_open)
		pfd[n++] = (struct pollfd){ run->cell.compile_err_fd, POLLIN,
			0 };
	if (!run->reaped) {
		if (!run->kill_at)
			wait_ms = min_wait(wait_ms, run->deadline, now);
		else if (!run->killed)
			wait_ms = min_wait(wait_ms, run->kill_at, now);
		if (!run->kill_at && run->db_changed)
			wait_ms = min_wait(wait_ms, run->check_min, now);
		else if (!run->kill_at) {
			wait_ms = min_wait(wait_ms, run->check_max, now);
			if (run->wal_fd >= 0)
				pfd[n++] = (struct pollfd) { run->wal_fd,
				    POLLIN, 0 };
		}
		/* Without an exit fd (or for a backend whose end arrives
		 * through its pipes), look every 5 ms. */
		if (run->cell.exit_fd >= 0)
			pfd[n++] = (struct pollfd) { run->cell.exit_fd,
			    POLLIN, 0 };
		else if ((!run->out_open && !run->err_open) || run->killed)
			wait_ms = min_wait(wait_ms, now + 5, now);
	} else
		wait_ms = min_wait(wait_ms, run->reaped_at + 1000, now);
	wait_ms = min_wait(wait_ms, run->next_renew, now);
	if (run->lc->n > 0)
		wait_ms = min_wait(wait_ms, now + logcap_wait_ms(run->lc, now,
		    !run->busy), now);
	*ret_n = n;
	return wait_ms;
}

/* Takes what poll() found: output into lc, a WAL change into db_changed. */
static void
read_ready(struct job_run *run, const struct pollfd *pfd, nfds_t n)
{
	int r;

	run->busy = false;
	for (nfds_t i = 0; i < n; i++) {
		if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ||
		    pfd[i].fd == run->cell.exit_fd)
			continue;
		if (pfd[i].fd == run->wal_fd) {
			drain(run->wal_fd);
			run->db_changed = true;
			continue;
		}
		if (run->cout_open && pfd[i].fd == run->cell.compile_out_fd) {
			r = pump(run->db, run->j->id, run->lc,
			    run->cell.compile_out_fd, 3);
			run->cout_open = r != 0;
		} else if (run->cerr_open &&
		    pfd[i].fd == run->cell.compile_err_fd) {
			r = pump(run->db, run->j->id, run->lc,
			    run->cell.compile_err_fd, 4);
			run->cerr_open = r != 0;
		} else if (pfd[i].fd == run->cell.stdout_fd) {
			r = pump(run->db, run->j->id, run->lc,
			    run->cell.stdout_fd, run->out_stream);
			run->out_open = r != 0;
		} else {
			r = pump(run->db, run->j->id, run->lc,
			    run->cell.stderr_fd, run->err_stream);
			run->err_open = r != 0;
		}
		run->busy = run->busy || r == 2;
	}
}

/* Until the cell has ended and its pipes are at EOF (init is gone, so is
 * every process of the cell: the pipes close at once; the 1 s bound is
 * only a safety net). */
static void
run_loop(struct job_run *run)
{
	for (;;) {
		struct pollfd pfd[6];
		int64_t now = time_mono_ms();
		nfds_t n;
		int wait_ms;

		step_reap(run, now);
		if (run->reaped &&
		    ((!run->out_open && !run->err_open && !run->cout_open &&
			 !run->cerr_open) ||
			now - run->reaped_at > 1000))
			break;
		step_deadline(run, now);
		step_cancel(run, now);
		step_drain(run, now);
		step_kill(run, now);
		step_lease(run, now);
		step_flush(run, now);
		wait_ms = wait_set(run, now, pfd, &n);
		if (worker_ppoll_ms(pfd, n, wait_ms) < 0 && errno != EINTR) {
			log_warn("job=%s: poll failed: %s, retrying", run->j->id,
			    strerror(errno));
			continue;
		}
		read_ready(run, pfd, n);
	}
}

/* A docker code job's compile step (issue 14). A container runs one
 * command, so the step is a container of its own before the program's:
 * the same image and the same disk workspace on /work (what it builds is
 * there for the run), no stdin, compile_memory_mb, compile_timeout_ms of
 * wall time, its stdout and stderr into log streams 3 and 4 as a
 * namespace cell's compile step. Its result goes into run->compile. 0: it
 * succeeded, the run follows (the loop's state is fresh again); 1: the job
 * ended in it (run->end says how: the compile failed or timed out, a
 * cancel, a lost cell); -errno with msg: it could not be started. */
static int
run_compile_docker(struct job_run *run, const struct cell_ops *ops,
    const struct cell_spec *spec, char *msg, size_t size)
{
	struct cell_result *cr = &run->end.cell, *comp = &run->compile;
	struct cell_spec cs = *spec;
	int64_t started;
	int r;

	/* A tmpfs /work is the container's own: the run would not see
	 * what the compile made. */
	if (!run->ws) {
		(void) snprintf(msg, size,
		    "the %s sandbox compiles in the job's "
		    "disk workspace, and this worker has no [storage] "
		    "data_dir",
		    ops->name);
		return -ENOTSUP;
	}
	cs.argv = spec->compile_argv;
	cs.stdin_fd = -1;
	cs.memory_mb = spec->compile_memory_mb;
	cs.max_run_ms = spec->compile_timeout_ms + run->cfg->kill_grace_ms;
	cs.compile_argv = NULL;
	cs.run_data_mb = 0;
	if ((r = ops->start(&cs, &run->cell, msg, size)) < 0)
		return r;
	started = time_mono_ms();
	run->out_stream = 3;
	run->err_stream = 4;
	run->deadline = started + spec->compile_timeout_ms;
	run->check_min = run->check_max = started + WORKER_CANCEL_CHECK_MS;
	run->next_renew = started + WORKER_RENEW_MS;
	run_loop(run);
	ops->collect(&run->cell, cr, &run->end.usage);
	ops->release(&run->cell);
	if (cr->outcome == CELL_SETUP_FAILED || cr->outcome == CELL_LOST)
		return 1; /* error, as for the run's cell */
	*comp = (struct cell_result){ .compiled = true,
		.compile_timed_out = run->end.timed_out,
		.compile_duration_ms = run->reaped_at - started };
	if (cr->outcome == CELL_SIGNALED)
		comp->compile_signal = cr->signal;
	else
		comp->compile_exit_code = cr->exit_code;
	comp->compile_failed = comp->compile_timed_out ||
	    comp->compile_signal || comp->compile_exit_code != 0;
	/* Its time is the compile's, not the job's (job_classify: failed
	 * with compile.timed_out, as in a namespace cell). */
	run->end.timed_out = false;
	if (run->end.cancelled || comp->compile_failed) {
		*cr = (struct cell_result){ .outcome = CELL_EXITED };
		return 1;
	}
	/* The run's loop starts afresh; usage is the run container's. */
	run->end = (struct job_end){ 0 };
	run->reaped = run->killed = false;
	run->kill_at = run->reaped_at = 0;
	run->out_open = run->err_open = true;
	run->out_stream = 1;
	run->err_stream = 2;
	return 0;
}

/* A docker compile container's result into the job's (cell.h). */
static void
merge_compile(struct cell_result *cr, const struct cell_result *comp)
{
	if (!comp->compiled)
		return;
	cr->compiled = true;
	cr->compile_failed = comp->compile_failed;
	cr->compile_timed_out = comp->compile_timed_out;
	cr->compile_exit_code = comp->compile_exit_code;
	cr->compile_signal = comp->compile_signal;
	cr->compile_duration_ms = comp->compile_duration_ms;
}

void
job_run(const struct worker_config *cfg, sqlite3 *db, struct claimed_job *j,
    struct logcap *lc, struct claimed_job *next, int wal_fd)
{
	const struct cell_ops *ops = cell_backend_find(j->sandbox);
	struct job_run run = {
		.cfg = cfg,
		.db = db,
		.j = j,
		.lc = lc,
		.wal_fd = wal_fd,
		.trail = 2,
		.out_open = true,
		.err_open = true,
		.out_stream = 1,
		.err_stream = 2,
	};
	struct job_artifacts arts = { 0 };
	struct job_build build;
	struct job_result res;
	char msg[400], amsg[WSGLOB_MAX + 200];
	int64_t now;
	int r, started;

	if (!ops)
		ops = &cell_ns_ops;	/* the schema's default sandbox */
	if ((r = job_build_parse(j, &build)) > 0) {
		ops = &cell_docker_build_ops;
		run.build = &build;
	}
	lc->n = 0;
	lc->last_flush_mono_ms = 0;
	lc->stored = 0;
	lc->truncated = false;
	lc->next_seq = 1;
	lc->oldest_mono_ms = 0;
	for (int i = 0; i <= LOG_STREAMS; i++)
		lc->carry_len[i] = 0;
	if ((started = run_start(&run, ops, msg, sizeof(msg))) < 0) {
		cell_workspace_destroy(run.ws);
		finish_error(db, j->id, lc, msg, next, run.build != NULL);
		if (run.build)
			job_build_release(run.build);
		return;
	}
	/* started == 1: a docker compile container ended the job. */
	if (started == 0) {
		log_debug("job=%s: started in a %s cell", j->id, ops->name);
		/* The next job's cell is prepared while this one runs (the
		 * job has a core of its own, or shares it anyway): with jobs
		 * claimed by the previous result's commit the worker is never
		 * idle in between. */
		if (ops == &cell_ns_ops)
			worker_warm_cell(cfg, (uint64_t) j->disk_mb);
		/* The wall time is the job's, counted from its start: a
		 * container takes ~1 s to start (bench/README.md), a
		 * namespace cell a few ms. The first look for a cancel 25 ms
		 * in: a cancel before the claim was seen by the claim, and a
		 * short job is over by then. */
		now = time_mono_ms();
		run.deadline = now + j->timeout_ms + run.compile_ms;
		run.check_min = run.check_max = now + WORKER_CANCEL_CHECK_MS;
		run.next_renew = now + WORKER_RENEW_MS;
		run_loop(&run);
		ops->collect(&run.cell, &run.end.cell, &run.end.usage);
	}
	merge_compile(&run.end.cell, &run.compile);
	run.end.stopped = worker_draining && run.drain_at;
	job_classify(&run.end, &res, msg, sizeof(msg));
	res.is_build = run.build != NULL;
	/* Every process of the cell is gone now; its workspace is not. */
	run_artifacts(&run, &arts, &res, amsg, sizeof(amsg));
	if (started == 0)
		ops->release(&run.cell);
	cell_workspace_destroy(run.ws); /* after the cell: docker's bind */
	run.ws = NULL;
	(void) sqlite3_finalize(run.cancel_st); /* NULL is a no-op */
	run.cancel_st = NULL;
	if (res.status == JOB_ERROR)
		finish_error(db, j->id, lc, msg, next, run.build != NULL);
	else if ((r = job_store_result(db, j->id, lc, &res, next)) < 0) {
		log_err("job=%s: result lost: %s; the lease sweep will end it",
		    j->id, strerror(-r));
		if (arts.collected)
			job_artifacts_discard(cfg, j->id);
	} else
		log_debug("job=%s: %s", j->id,
		    job_status_to_string(res.status));
	job_artifacts_release(&arts);
	if (run.build)
		job_build_release(run.build);
}
