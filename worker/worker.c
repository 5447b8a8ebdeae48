/* worker.c - one jobcell-worker process (forked by the supervisor): claims
 * a job, runs it in a cell, streams its output into the database in
 * batches, enforces its wall time and cancel, records the result, repeats.
 * Single-threaded; sleeps in poll() on the doorbell when there is no work.
 * Trusts nothing from the cell but bytes on its pipes and the report.
 * A job runs in a namespace cell (sandbox.h) or a docker cell
 * (sandbox_docker.h), both driven through the job_cell_* calls below. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "db.h"
#include "json_reader.h"
#include "log.h"
#include "parse.h"
#include "privs.h"
#include "sandbox.h"
#include "sandbox_docker.h"
#include "seccomp.h"
#include "strbuf.h"
#include "timefmt.h"
#include "worker.h"
#include "banned.h"

#define STORE_RETRIES 50	/* x 100 ms: how long a result waits on a busy db */

volatile sig_atomic_t worker_draining;
volatile sig_atomic_t worker_retiring;

/* TERM, INT and USR1 are blocked except inside ppoll() with this mask, so
 * one that arrives between a check of the flags and the wait still ends
 * the wait (no lost wake-up). */
static sigset_t wait_mask;

/* The cgroup hierarchies, found once when the worker starts. */
static struct cgroup_root cg_root;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		worker_retiring = 1;
	else
		worker_draining = 1;
}

/* The job's argv and environment, built from the stored spec. */
struct exec_args {
	char **argv;
	char **envp;
	size_t argc, envc;
	struct cell_file *files;	/* path and data owned */
	size_t nfiles;
	char *cwd;
	bool network;
	char *image;		/* docker jobs: the spec's "image", or NULL */
};

static void
exec_args_release(struct exec_args *a)
{
	for (size_t i = 0; a->argv && i < a->argc; i++)
		free(a->argv[i]);
	for (size_t i = 0; a->envp && i < a->envc; i++)
		free(a->envp[i]);
	for (size_t i = 0; a->files && i < a->nfiles; i++) {
		free((char *) (uintptr_t) a->files[i].path);
		free((char *) (uintptr_t) a->files[i].data);
	}
	free(a->argv);
	free(a->envp);
	free(a->files);
	free(a->cwd);
	free(a->image);
	memset(a, 0, sizeof(*a));
}

static int
env_add(struct exec_args *a, const char *name, const char *value)
{
	struct strbuf sb;
	int r;

	strbuf_init(&sb, JC_MAX_ENV_NAME + JC_MAX_ENV_VALUE + 2);
	if ((r = strbuf_addf(&sb, "%s=%s", name, value)) < 0) {
		strbuf_release(&sb);
		return r;
	}
	/* Replace an earlier entry of the same name (the job's PATH wins). */
	for (size_t i = 0; i < a->envc; i++) {
		size_t n = strlen(name);

		if (strncmp(a->envp[i], name, n) == 0 && a->envp[i][n] == '=') {
			free(a->envp[i]);
			a->envp[i] = strbuf_detach(&sb, NULL);
			return a->envp[i] ? 0 : -ENOMEM;
		}
	}
	a->envp[a->envc] = strbuf_detach(&sb, NULL);
	if (!a->envp[a->envc])
		return -ENOMEM;
	a->envc++;
	return 0;
}

/* The optional parts of the spec: "files", "cwd", "network" (the API
 * validated them; the cell checks paths again). */
static int
exec_args_files(const struct jr_doc *doc, struct exec_args *a)
{
	int files = jr_obj_get(doc, jr_root(doc), "files");
	int cwd = jr_obj_get(doc, jr_root(doc), "cwd");
	int net = jr_obj_get(doc, jr_root(doc), "network");
	int n, r;

	if (net >= 0 && jr_bool(doc, net, &a->network) < 0)
		return -EINVAL;
	if (cwd >= 0 && (r = jr_str_dup(doc, cwd, JC_MAX_FILE_PATH, &a->cwd,
	    NULL)) < 0)
		return r;
	if (files < 0)
		return 0;
	if (jr_type(doc, files) != JR_OBJECT ||
	    (n = jr_len(doc, files)) > JC_MAX_FILES)
		return -EINVAL;
	if (!(a->files = calloc((size_t) n + 1, sizeof(*a->files))))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int k = jr_child(doc, files, i);
		char *path = NULL, *data = NULL;
		size_t len;

		if ((r = jr_str_dup(doc, k, JC_MAX_FILE_PATH, &path, NULL)) < 0)
			return r;
		if ((r = jr_str_dup(doc, k + 1, JC_MAX_FILES_BYTES, &data,
		    &len)) < 0) {
			free(path);
			return r;
		}
		a->files[a->nfiles++] = (struct cell_file) {
			.path = path, .data = data, .len = len,
		};
	}
	return 0;
}

static int
exec_args_build(const struct claimed_job *j, struct exec_args *ret)
{
	static const char *const defaults[][2] = {
		{ "PATH", "/usr/local/bin:/usr/bin:/bin" },
		{ "HOME", "/work" }, { "USER", "job" }, { "LOGNAME", "job" },
		{ "PWD", "/work" }, { "HOSTNAME", "cell" },
		{ "LANG", "C.UTF-8" }, { "JOBCELL_JOB_ID", NULL },
	};
	struct exec_args a = { 0 };
	struct jr_doc *doc = NULL;
	int argv_tok, env_tok, n, r;

	if ((r = jr_parse(j->spec, j->spec_len, JC_MAX_JSON_TOKENS, &doc)) < 0)
		return r;
	argv_tok = jr_obj_get(doc, jr_root(doc), "argv");
	env_tok = jr_obj_get(doc, jr_root(doc), "env");
	if (j->docker && (n = jr_obj_get(doc, jr_root(doc), "image")) >= 0 &&
	    ((r = jr_str_dup(doc, n, JC_MAX_IMAGE_BYTES, &a.image, NULL)) < 0 ||
	    !image_ref_ok(a.image))) {
		r = r < 0 ? r : -EINVAL;
		goto fail;
	}
	if (argv_tok < 0 || env_tok < 0 || jr_type(doc, argv_tok) != JR_ARRAY ||
	    jr_type(doc, env_tok) != JR_OBJECT || jr_len(doc, argv_tok) < 1) {
		r = -EINVAL;
		goto fail;
	}
	n = jr_len(doc, argv_tok);
	a.argv = calloc((size_t) n + 1, sizeof(char *));
	a.envp = calloc(ARRAY_SIZE(defaults) + (size_t) jr_len(doc, env_tok) + 1,
	    sizeof(char *));
	if (!a.argv || !a.envp) {
		r = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		if ((r = jr_str_dup(doc, jr_child(doc, argv_tok, i),
		    JC_MAX_ARG_BYTES, &a.argv[i], NULL)) < 0)
			goto fail;
		a.argc++;
	}
	if ((r = exec_args_files(doc, &a)) < 0)
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		/* A docker image's own PATH (a toolchain's) stays. */
		if (!(j->docker && i == 0) && (r = env_add(&a, defaults[i][0],
		    defaults[i][1] ? defaults[i][1] : j->id)) < 0)
			goto fail;
	if (a.cwd) {
		_cleanup_free_ char *pwd = NULL;

		if (asprintf(&pwd, "/work/%s", a.cwd) < 0) {
			r = -ENOMEM;
			goto fail;
		}
		if ((r = env_add(&a, "PWD", pwd)) < 0)
			goto fail;
	}
	for (int i = 0; i < jr_len(doc, env_tok); i++) {
		_cleanup_free_ char *name = NULL, *value = NULL;
		int k = jr_child(doc, env_tok, i);

		if ((r = jr_str_dup(doc, k, JC_MAX_ENV_NAME, &name, NULL)) < 0 ||
		    (r = jr_str_dup(doc, k + 1, JC_MAX_ENV_VALUE, &value,
		    NULL)) < 0 || (r = env_add(&a, name, value)) < 0)
			goto fail;
	}
	doc = jr_free(doc);
	*ret = a;
	return 0;
fail:
	doc = jr_free(doc);
	exec_args_release(&a);
	return r;
}

/* A memfd holding the job's stdin, positioned at 0, or -1 if empty. */
static int
stdin_memfd(const struct claimed_job *j)
{
	_cleanup_close_ int fd = -1;
	size_t off = 0;

	if (j->stdin_len == 0)
		return -1;
	if ((fd = memfd_create("jobcell-stdin", MFD_CLOEXEC)) < 0)
		return -errno;
	while (off < j->stdin_len) {
		ssize_t n = write(fd, j->stdin_data + off, j->stdin_len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t) n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return steal_fd(&fd);
}

/* Stores with retries: the result must not be lost to a busy database.
 * Unless the worker is stopping, the same commit claims the next job into
 * *next (if there is one; next may be NULL). */
static int
store_result(sqlite3 *db, const char *id, struct logcap *lc,
    const struct job_result *res, struct claimed_job *next)
{
	int r = 0;

	if (worker_draining || worker_retiring)
		next = NULL;
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
    struct claimed_job *next)
{
	struct job_result res = { .status = "error", .error = msg };

	log_warn("job=%s: %s", id, msg);
	if (store_result(db, id, lc, &res, next) < 0)
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

/* poll() that lets the worker's signals in only while it waits. */
static int
ppoll_ms(struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

	return ppoll(pfd, n, timeout_ms < 0 ? NULL : &ts, &wait_mask);
}

static int
min_wait(int a, int64_t until, int64_t now)
{
	int64_t d = until - now;

	if (d < 0)
		d = 0;
	return (a < 0 || d < a) ? (int) d : a;
}

/* cell_spec.attach: the cell's init joins the job's cgroup before it runs
 * anything, so every process of the cell is born inside it. */
static int
attach_to_cgroup(pid_t pid, void *arg)
{
	return cgroup_attach(arg, pid);
}

static int
job_cgroup_create(const struct claimed_job *j, struct cgroup *ret)
{
	struct cgroup_limits lim = {
		.memory_mb = (uint64_t) j->memory_mb,
		/* + 1: the cell's init counts against pids.max too. */
		.pids = (uint64_t) j->pids + 1,
		.cpus = (uint64_t) j->cpus,
	};

	return cgroup_create(&cg_root, j->id, &lim, ret);
}

/* Reads the usage into res, then removes the cgroup (killing anything
 * left, which the end of the cell's pid namespace should have done). For
 * a docker job also the directories Docker's runtime made for it in the
 * hierarchies we do not use (devices, freezer, ...). */
static void
job_cgroup_end(const struct claimed_job *j, struct cgroup *cg,
    struct job_result *res)
{
	struct cgroup_usage u;
	int r;

	if ((r = cgroup_read_usage(cg, &u)) < 0)
		log_warn("job=%s: cannot read cgroup usage: %s, ignoring", j->id,
		    strerror(-r));
	if (res) {
		res->has_usage = true;
		res->cpu_ms = (int64_t) u.cpu_ms;
		res->max_rss_kb = (int64_t) u.max_rss_kb;
		res->oom_killed = u.oom_killed;
	}
	if ((r = cgroup_destroy(cg)) < 0)
		log_err("job=%s: cannot remove the cgroup: %s", j->id,
		    strerror(-r));
	if (j->docker && (r = cgroup_remove_everywhere(&cg_root, j->id)) < 0)
		log_warn("job=%s: cannot remove the cgroups docker made: %s; "
		    "the supervisor's sweep will", j->id, strerror(-r));
}

/* The job's cell, whichever backend runs it: the run loop below sees two
 * pipes, a non-blocking wait and TERM/KILL, whatever is behind them. */
struct job_cell {
	bool docker;
	bool lost;		/* docker: the daemon failed us mid-job */
	bool oom_killed;	/* docker: State.OOMKilled */
	int stdout_fd, stderr_fd;
	struct cell ns;
	struct docker_cell dk;
};

/* docker_cell_spec.keepalive: the lease runs on while the daemon works. */
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

/* Whether a docker cell can sit under the job's own cgroup (which holds
 * its limits and gives its usage, as for namespace cells): the daemon uses
 * the cgroupfs driver on our cgroup version, so CgroupParent is a path
 * under ours. Asked once per worker process (GET /info is not free); an
 * unanswered question is asked again at the next docker job. */
static int docker_cg_ok = -1;

static bool
docker_cgroup_parent_ok(const struct worker_config *cfg)
{
	bool cgroupfs;
	int version, r;

	if (docker_cg_ok >= 0)
		return docker_cg_ok == 1;
	if ((r = docker_cgroup_info(cfg->docker_socket, 5000, &cgroupfs,
	    &version)) < 0)
		return false;
	docker_cg_ok = cgroupfs && version == (int) cg_root.version;
	if (!docker_cg_ok)
		log_warn("docker's cgroup driver is %s on cgroup v%d, ours is "
		    "v%d: docker jobs run in the daemon's cgroups, without "
		    "usage numbers", cgroupfs ? "cgroupfs" : "not cgroupfs",
		    version, (int) cg_root.version);
	return docker_cg_ok == 1;
}

/* The docker cells' seccomp profile: the namespace cells' rules as
 * Docker's JSON, made once per worker process. NULL if it could not be
 * made (then docker jobs end as error rather than run with less). */
static const char *
docker_seccomp(void)
{
	static struct strbuf sb;
	static bool made;

	if (!made) {
		strbuf_init(&sb, 64 * 1024);
		if (seccomp_docker_profile(EPERM, &sb) < 0) {
			strbuf_release(&sb);
			return NULL;
		}
		made = true;
	}
	return sb.buf;
}

static int
job_cell_start(const struct worker_config *cfg, sqlite3 *db,
    const struct claimed_job *j, const struct cell_spec *spec,
    const char *image, const char *cgroup_parent, struct job_cell *c,
    char *msg, size_t size)
{
	struct lease_arg lease = { db, j->id };
	struct docker_cell_spec ds = {
		.socket_path = cfg->docker_socket, .image = image,
		.job_id = j->id, .worker_id = (long) getpid(),
		.uid = spec->host_uid, .gid = spec->host_gid,
		.cgroup_parent = cgroup_parent, .network = spec->network,
		.argv = spec->argv, .envp = spec->envp, .stdin_fd = spec->stdin_fd,
		.disk_mb = (uint64_t) j->disk_mb,
		.memory_mb = (uint64_t) j->memory_mb,
		.nano_cpus = (uint64_t) j->cpus * 1000000000u,
		.pids = (uint64_t) j->pids,
		.max_run_ms = j->timeout_ms + cfg->kill_grace_ms,
		.keepalive = renew_lease, .keepalive_arg = &lease,
	};
	_cleanup_free_ struct docker_file *files = NULL;
	char detail[300];
	int r;

	*c = (struct job_cell) { .docker = j->docker };
	if (!c->docker) {
		if ((r = cell_start(spec, &c->ns)) < 0) {
			(void) snprintf(msg, size, "the cell could not be "
			    "built: %s", strerror(-r));
			return r;
		}
		c->stdout_fd = c->ns.stdout_fd;
		c->stderr_fd = c->ns.stderr_fd;
		return 0;
	}
	if (!cfg->docker_socket) {
		(void) snprintf(msg, size, "the cell could not be built: this "
		    "worker runs no docker sandbox");
		return -ENOTSUP;
	}
	if (spec->nfiles > 0) {
		if (!(files = calloc(spec->nfiles, sizeof(*files))))
			return -ENOMEM;
		for (size_t i = 0; i < spec->nfiles; i++)
			files[i] = (struct docker_file) { spec->files[i].path,
			    spec->files[i].data, spec->files[i].len };
	}
	ds.files = files;
	ds.nfiles = spec->nfiles;
	ds.cwd = spec->cwd;
	ds.unpacker = cfg->docker_unpacker;
	if (!image) {
		(void) snprintf(msg, size, "the cell could not be built: the job "
		    "names no image and the server has no default image");
		return -EINVAL;
	}
	if (!(ds.seccomp_profile = docker_seccomp())) {
		(void) snprintf(msg, size, "the cell could not be built: cannot "
		    "make the seccomp profile");
		return -ENOMEM;
	}
	if ((r = docker_cell_start(&ds, &c->dk, detail, sizeof(detail))) < 0) {
		(void) snprintf(msg, size, "the cell could not be built: %s",
		    detail);
		return r;
	}
	c->stdout_fd = c->dk.stdout_fd;
	c->stderr_fd = c->dk.stderr_fd;
	return 0;
}

static int
job_cell_signal(struct job_cell *c, int sig)
{
	return c->docker ? docker_cell_signal(&c->dk, sig) :
	    cell_signal(&c->ns, sig);
}

/* As cell_try_wait; a docker cell whose daemon failed comes back as
 * CELL_SETUP_FAILED with c->lost set. */
static int
job_cell_try_wait(struct job_cell *c, struct cell_result *ret)
{
	struct docker_result dr;
	int r;

	if (!c->docker)
		return cell_try_wait(&c->ns, ret);
	if ((r = docker_cell_try_wait(&c->dk, &dr)) <= 0)
		return r;
	*ret = (struct cell_result) { .outcome = CELL_EXITED,
		.exit_code = dr.exit_code };
	c->oom_killed = dr.oom_killed;
	if (dr.outcome == DOCKER_LOST) {
		c->lost = true;
		ret->outcome = CELL_SETUP_FAILED;
		(void) str_copy(ret->error, sizeof(ret->error), dr.error);
	}
	return 1;
}

static void
job_cell_release(struct job_cell *c)
{
	if (c->docker)
		docker_cell_release(&c->dk);
	else
		cell_release(&c->ns);
}


/* Reads and drops whatever fd (non-blocking) holds. */
static void
drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* An inotify fd that becomes readable when the database's WAL is written,
 * i.e. on every commit of any process; -errno if there is none. */
static int
wal_watch(const char *db_path)
{
	char path[JC_PATH_MAX];
	_cleanup_close_ int fd = -1;
	int n = snprintf(path, sizeof(path), "%s-wal", db_path);

	if (n < 0 || (size_t) n >= sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return -errno;
	if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
		return -errno;
	return steal_fd(&fd);
}

/* Runs j to its end and stores the result; *next gets the job claimed with
 * it, if any (next->id[0] is then set). wal_fd: see wal_watch, or -1. */
static void
run_job(const struct worker_config *cfg, sqlite3 *db, struct claimed_job *j,
    struct logcap *lc, struct claimed_job *next, int wal_fd)
{
	struct cgroup cg;
	struct exec_args ea = { 0 };
	struct cell_spec spec = { 0 };
	struct job_cell cell;
	struct cell_result cr = { 0 };
	struct job_result res = { 0 };
	_cleanup_close_ int in_fd = -1, pidfd = -1;
	_cleanup_stmt_ sqlite3_stmt *cancel_st = NULL;
	char msg[400];
	int64_t now = time_mono_ms(), deadline = now + j->timeout_ms;
	/* The first look 25 ms in: a cancel before the claim was seen by
	 * the claim, and a short job is over by then. */
	int64_t kill_at = 0, check_min = now + WORKER_CANCEL_CHECK_MS;
	int64_t check_max = check_min;
	int64_t next_renew = now + WORKER_RENEW_MS, reaped_at = 0;
	int64_t drain_at = 0;
	bool out_open = true, err_open = true, reaped = false, killed = false;
	bool timed_out = false, cancelled = false, busy = false, have_cg = false;
	bool db_changed = false;
	char cg_parent[CGROUP_PATH_MAX] = "";
	int trail = 2;	/* checks left after the last change: none */
	int r;

	lc->n = 0;
	lc->last_flush_mono_ms = 0;
	lc->stored = 0;
	lc->truncated = false;
	lc->next_seq = 1;
	lc->oldest_mono_ms = 0;
	if ((r = exec_args_build(j, &ea)) < 0) {
		(void) snprintf(msg, sizeof(msg), "the stored job is unreadable: %s",
		    strerror(-r));
		finish_error(db, j->id, lc, msg, next);
		return;
	}
	if ((in_fd = stdin_memfd(j)) < -1) {
		(void) snprintf(msg, sizeof(msg), "cannot prepare stdin: %s",
		    strerror(-in_fd));
		exec_args_release(&ea);
		finish_error(db, j->id, lc, msg, next);
		return;
	}
	spec.job_id = j->id;
	spec.argv = ea.argv;
	spec.envp = ea.envp;
	spec.stdin_fd = in_fd;
	spec.host_uid = cfg->uid_base + (uid_t) cfg->slot;
	spec.host_gid = cfg->uid_base + (gid_t) cfg->slot;
	spec.disk_mb = (uint64_t) j->disk_mb;
	spec.files = ea.files;
	spec.nfiles = ea.nfiles;
	spec.cwd = ea.cwd;
	spec.network = ea.network;
	/* A docker cell sits in the job's cgroup too when the daemon can
	 * put it there (its own cgroup, with the same limits, below ours);
	 * else its limits are only the daemon's. */
	have_cg = !j->docker || (cfg->docker_socket &&
	    docker_cgroup_parent_ok(cfg));
	if (have_cg && (r = job_cgroup_create(j, &cg)) < 0) {
		(void) snprintf(msg, sizeof(msg), "the cell could not be built: "
		    "cannot create its cgroup: %s", strerror(-r));
		exec_args_release(&ea);
		finish_error(db, j->id, lc, msg, next);
		return;
	}
	if (!j->docker) {
		spec.attach = attach_to_cgroup;
		spec.attach_arg = &cg;
	}
	if (j->docker && have_cg)
		(void) snprintf(cg_parent, sizeof(cg_parent), "/%s/%s",
		    CGROUP_PARENT, j->id);
	r = job_cell_start(cfg, db, j, &spec, ea.image ? ea.image :
	    cfg->docker_image, cg_parent[0] ? cg_parent : NULL, &cell, msg,
	    sizeof(msg));
	exec_args_release(&ea);
	if (r < 0) {
		if (have_cg)
			job_cgroup_end(j, &cg, NULL);
		finish_error(db, j->id, lc, msg, next);
		return;
	}
	log_debug("job=%s: started in a %s cell", j->id,
	    cell.docker ? "docker" : "namespace");
	/* The wall time is the job's, not the daemon's: starting a container
	 * takes ~1 s (bench/README.md), a namespace cell a few ms. */
	if (cell.docker)
		deadline = time_mono_ms() + j->timeout_ms;
	/* Readable once the cell's init has exited: wakes the loop at once
	 * (pidfd_open(2), Linux 5.3); without it (or for a docker cell, whose
	 * end arrives through its helper's pipes), look every 5 ms. */
	if (!cell.docker)
		pidfd = (int) syscall(SYS_pidfd_open, cell.ns.pid, 0);
	for (;;) {
		struct pollfd pfd[4];
		nfds_t nfds = 0;
		int wait_ms = -1;

		now = time_mono_ms();
		if (!reaped && (r = job_cell_try_wait(&cell, &cr)) != 0) {
			if (r < 0) {
				cr.outcome = CELL_SETUP_FAILED;
				(void) snprintf(cr.error, sizeof(cr.error),
				    "lost track of the cell: %s", strerror(-r));
			}
			reaped = true;
			reaped_at = now;
		}
		/* init is gone, so is every process of the cell: the pipes
		 * close at once; the 1 s bound is only a safety net. */
		if (reaped && ((!out_open && !err_open) || now - reaped_at > 1000))
			break;
		if (!reaped && !kill_at && now >= deadline) {
			timed_out = true;
			(void) job_cell_signal(&cell, SIGTERM);
			kill_at = now + cfg->kill_grace_ms;
		}
		if (!reaped && !kill_at && now >= check_min &&
		    (db_changed || now >= check_max)) {
			/* inotify fires when a commit writes its frames,
			 * before the commit is visible: after a change, look
			 * again 25 and 125 ms later before going quiet. */
			if (db_changed)
				trail = 0;
			db_changed = false;
			check_min = now + WORKER_CANCEL_CHECK_MS;
			check_max = now + (wal_fd < 0 ? WORKER_CANCEL_POLL_MS :
			    trail == 0 ? WORKER_CANCEL_CHECK_MS :
			    trail == 1 ? 4 * WORKER_CANCEL_CHECK_MS :
			    WORKER_CANCEL_QUIET_MS);
			if (trail < 2)
				trail++;
			if (jobstore_cancel_requested(db, j->id,
			    &cancel_st) == 1) {
				cancelled = true;
				(void) job_cell_signal(&cell, SIGTERM);
				kill_at = now + cfg->kill_grace_ms;
			}
		}
		if (worker_draining && !drain_at)
			drain_at = now + cfg->drain_grace_ms;
		if (!reaped && !kill_at && drain_at && now >= drain_at) {
			cancelled = true;
			(void) job_cell_signal(&cell, SIGTERM);
			kill_at = now + cfg->kill_grace_ms;
		}
		if (!reaped && kill_at && !killed && now >= kill_at) {
			(void) job_cell_signal(&cell, SIGKILL);
			killed = true;
		}
		if (now >= next_renew) {
			next_renew = now + WORKER_RENEW_MS;
			if ((r = jobstore_renew_lease(db, j->id)) < 0)
				log_warn("job=%s: cannot renew the lease: %s, "
				    "retrying", j->id, strerror(-r));
		}
		if (logcap_due(lc, now, !busy) && (r = jobstore_flush_logs(db,
		    j->id, lc)) < 0)
			log_warn("job=%s: cannot store output: %s, retrying",
			    j->id, strerror(-r));
		if (out_open)
			pfd[nfds++] = (struct pollfd) { cell.stdout_fd, POLLIN, 0 };
		if (err_open)
			pfd[nfds++] = (struct pollfd) { cell.stderr_fd, POLLIN, 0 };
		if (!reaped) {
			if (!kill_at)
				wait_ms = min_wait(wait_ms, deadline, now);
			else if (!killed)
				wait_ms = min_wait(wait_ms, kill_at, now);
			if (!kill_at && db_changed)
				wait_ms = min_wait(wait_ms, check_min, now);
			else if (!kill_at) {
				wait_ms = min_wait(wait_ms, check_max, now);
				if (wal_fd >= 0)
					pfd[nfds++] = (struct pollfd) { wal_fd,
					    POLLIN, 0 };
			}
			if (pidfd >= 0)
				pfd[nfds++] = (struct pollfd) { pidfd, POLLIN, 0 };
			else if ((!out_open && !err_open) || killed)
				wait_ms = min_wait(wait_ms, now + 5, now);
		} else
			wait_ms = min_wait(wait_ms, reaped_at + 1000, now);
		wait_ms = min_wait(wait_ms, next_renew, now);
		if (lc->n > 0)
			wait_ms = min_wait(wait_ms, now + logcap_wait_ms(lc, now,
			    !busy), now);
		if (ppoll_ms(pfd, nfds, wait_ms) < 0 && errno != EINTR) {
			log_warn("job=%s: poll failed: %s, retrying", j->id,
			    strerror(errno));
			continue;
		}
		busy = false;
		for (nfds_t i = 0; i < nfds; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ||
			    pfd[i].fd == pidfd)
				continue;
			if (pfd[i].fd == wal_fd) {
				drain(wal_fd);
				db_changed = true;
				continue;
			}
			if (pfd[i].fd == cell.stdout_fd) {
				r = pump(db, j->id, lc, cell.stdout_fd, 1);
				out_open = r != 0;
			} else {
				r = pump(db, j->id, lc, cell.stderr_fd, 2);
				err_open = r != 0;
			}
			busy = busy || r == 2;
		}
	}
	if (cr.outcome == CELL_SETUP_FAILED) {
		(void) snprintf(msg, sizeof(msg), "%s: %s", cell.lost ?
		    "the docker cell was lost" : "the cell could not be built",
		    cr.error);
		job_cell_release(&cell);
		if (have_cg)
			job_cgroup_end(j, &cg, NULL);
		finish_error(db, j->id, lc, msg, next);
		return;
	}
	job_cell_release(&cell);
	if (have_cg)
		job_cgroup_end(j, &cg, &res);
	if (cell.docker) {
		res.oom_killed = res.oom_killed || cell.oom_killed;
		/* docker-init reports a death by signal N as 128 + N. */
		if (res.oom_killed && cr.exit_code == 128 + SIGKILL)
			cr = (struct cell_result) { .outcome = CELL_SIGNALED,
				.signal = SIGKILL };
	}
	res.timed_out = timed_out;
	if (timed_out) {
		res.status = "timed_out";
		res.has_exit_code = true;
		res.exit_code = 124;
	} else if (cancelled) {
		res.status = "cancelled";
		if (worker_draining && drain_at)
			res.error = "the worker was stopped";
	} else if (res.oom_killed) {
		/* A process of the cell was OOM-killed: the job failed even
		 * if its main process got past it (DESIGN section 5). */
		res.status = "failed";
		res.has_exit_code = true;
		if (cr.outcome == CELL_EXITED) {
			res.exit_code = cr.exit_code;	/* honest, even if 0 */
		} else {
			res.exit_code = 128 + cr.signal;
			res.signal = cr.signal;
		}
	} else if (cr.outcome == CELL_EXITED) {
		res.status = cr.exit_code == 0 ? "succeeded" : "failed";
		res.has_exit_code = true;
		res.exit_code = cr.exit_code;
	} else {
		res.status = "failed";
		res.has_exit_code = true;
		res.exit_code = 128 + cr.signal;
		res.signal = cr.signal;
	}
	if ((r = store_result(db, j->id, lc, &res, next)) < 0)
		log_err("job=%s: result lost: %s; the lease sweep will end it",
		    j->id, strerror(-r));
	else
		log_debug("job=%s: %s", j->id, res.status);
}

/* Puts a claimed job that never started back in the queue (retrying on a
 * busy database); if that fails, the supervisor ends it "worker lost". */
static void
give_back(sqlite3 *db, struct claimed_job *j)
{
	int r = 0;

	for (int i = 0; i < STORE_RETRIES; i++) {
		if ((r = jobstore_unclaim(db, j->id, getpid())) == 0)
			break;
		(void) poll(NULL, 0, 100);
	}
	if (r < 0)
		log_err("job=%s: cannot put it back in the queue: %s", j->id,
		    strerror(-r));
	else
		log_debug("job=%s: back in the queue", j->id);
	claimed_job_release(j);
}

/* Sleeps until the doorbell rings, a signal comes, or the fallback poll
 * interval passes. */
static void
wait_for_bell(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char buf[64];

	if (worker_draining || worker_retiring)
		return;
	if (fd < 0) {
		(void) ppoll_ms(NULL, 0, WORKER_IDLE_POLL_MS);
		return;
	}
	if (ppoll_ms(&p, 1, WORKER_IDLE_POLL_MS) <= 0)
		return;
	/* Every idle worker wakes; each drains what it can and tries to claim:
	 * whoever loses the claim race just sleeps again. */
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int
worker_main(const struct worker_config *cfg)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct claimed_job j = { 0 };
	struct logcap lc;
	bool idle_after_job = false;
	_cleanup_close_ int wal_fd = -1;
	sigset_t block;
	sqlite3 *db = NULL;
	char errmsg[256];
	int r;

	/* The supervisor's death ends us (and, through our cells' own
	 * PDEATHSIG, every cell). If it died before the prctl, we were
	 * reparented already: never run without it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
	    getppid() != cfg->supervisor_pid)
		return 1;
	jobstore_claim_scope(cfg->supervisor_pid);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &block, &wait_mask) < 0)
		return 1;
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGUSR1);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGUSR1, &sa, NULL) < 0)
		return 1;
	(void) signal(SIGHUP, SIG_IGN);
	(void) signal(SIGPIPE, SIG_IGN);
	if ((r = db_open(cfg->db_path, 0, 0, &db, errmsg, sizeof(errmsg))) < 0) {
		log_err("slot %d: cannot open the database: %s", cfg->slot, errmsg);
		return 1;
	}
	if ((r = privs_worker_limit()) < 0) {
		log_errno(r, "slot %d: cannot limit the worker's capabilities",
		    cfg->slot);
		db = db_close(db);
		return 1;
	}
	if ((r = cgroup_root_init(&cg_root)) < 0) {
		log_errno(r, "slot %d: no usable cgroup hierarchies (memory, pids, "
		    "cpu)", cfg->slot);
		db = db_close(db);
		return 1;
	}
	if ((r = logcap_init(&lc, cfg->output_cap)) < 0) {
		db = db_close(db);
		return 1;
	}
	if ((wal_fd = wal_watch(cfg->db_path)) < 0)
		log_warn("slot %d: cannot watch the database's WAL: %s; running "
		    "jobs look for a cancel every %d ms", cfg->slot,
		    strerror(-wal_fd), WORKER_CANCEL_POLL_MS);
	log_debug("slot %d: worker ready", cfg->slot);
	for (;;) {
		struct claimed_job next = { 0 };

		if (!j.id[0]) {
			if (worker_draining || worker_retiring)
				break;
			/* The last result's commit looked for a next job
			 * already: wait for a ring (one that came while the job
			 * ran is still queued on the socket). */
			if (idle_after_job) {
				idle_after_job = false;
				wait_for_bell(cfg->doorbell_fd);
				continue;
			}
			r = jobstore_claim(db, getpid(), &j);
			if (r < 0) {
				log_warn("slot %d: cannot claim: %s, retrying",
				    cfg->slot, strerror(-r));
				(void) poll(NULL, 0, 100);
				continue;
			}
			if (r == 0) {
				wait_for_bell(cfg->doorbell_fd);
				continue;
			}
		} else if (worker_draining || worker_retiring) {
			/* Claimed with the last result, just before the
			 * signal, and not started: back to the queue. */
			give_back(db, &j);
			break;
		}
		run_job(cfg, db, &j, &lc, &next, wal_fd);
		claimed_job_release(&j);
		j = next;
		idle_after_job = !j.id[0] && !worker_draining && !worker_retiring;
	}
	logcap_release(&lc);
	db = db_close(db);
	return 0;
}
