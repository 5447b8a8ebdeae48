/* supervisor.c - jobcell-worker's main process: forks --slots worker
 * processes, restarts any that die, ends the jobs a dead worker held, and
 * applies a reloaded config. Runs as root; trusts its config file.
 *
 * How it works: the supervisor binds the doorbell, a unix datagram socket
 * that jobcell-api pings after each submission, and hands it to every
 * worker; idle workers sleep in poll() on it (with a 1 s fallback), so a
 * job starts within milliseconds without busy waiting. The supervisor
 * itself sleeps in sigtimedwait() until the next thing it has to do:
 *
 *   SIGCHLD   a worker died: its running job ends "worker lost" at once,
 *             a new worker takes the slot (after a delay that doubles while
 *             workers keep dying young, up to RESTART_MAX_MS)
 *   SIGTERM   drain: every worker stops claiming; a running job gets
 *   SIGINT    drain_grace_ms to finish, then TERM (and KILL after
 *             kill_grace_ms) and ends "cancelled"; the supervisor exits
 *             when all workers have, or KILLs them past STOP_MARGIN_MS
 *   SIGHUP    re-read --config; the keys that can change live (slots,
 *             kill_grace_ms, drain_grace_ms, output_cap) apply to jobs
 *             claimed from now on: every worker gets SIGUSR1 ("retire"),
 *             finishes its current job, exits, and is replaced at once by
 *             one forked with the new settings. db, doorbell and uid_base
 *             need a restart (a running cell keeps its uid until it ends).
 *   timer     every HEARTBEAT_MS a heartbeat row for /v1/health and a
 *             sweep of jobs whose lease expired: their worker is hung, so
 *             it is killed (its cell with it) and the job ends "worker
 *             lost"; every [retention] gc_interval_s a garbage collector
 *             child (collector.c), one at a time, never waited for
 *
 * It opens SQLite only for those short moments and never across fork().
 * Workers die with it (PR_SET_PDEATHSIG, checked against a race with our
 * death), and cells die with their worker (the cell's init has its own
 * PR_SET_PDEATHSIG): a SIGKILL of the supervisor leaves no cell behind. At
 * the next start, before any work, whatever is left in the cgroup of a job
 * still "running" is killed (should anything have escaped that chain), and
 * every such job ends "worker lost". */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cell.h"
#include "cleanup.h"
#include "jc_config.h"
#include "db.h"
#include "log.h"
#include "parse.h"
#include "sdnotify.h"
#include "timefmt.h"
#include "worker.h"
#include "banned.h"

#define HEARTBEAT_MS	5000
#define STOP_MARGIN_MS	5000	/* past drain + kill grace: SIGKILL workers */
#define RESTART_MIN_MS	200	/* first restart delay of a dead worker */
#define RESTART_MAX_MS	10000	/* ... doubling up to this */
#define YOUNG_MS	10000	/* a worker dying younger doubles the delay */
/* Slots [0, slots) run local jobs (namespace, docker); slots
 * [JC_MAX_SLOTS, JC_MAX_SLOTS + swarm_slots) swarm jobs, so that swarm
 * jobs in flight never take a local slot (issue 16). */
#define NSLOTS (2 * JC_MAX_SLOTS)

static const char *arg_config;
static const char *arg_db;
static const char *arg_doorbell;
static int64_t arg_slots = -1;
static int64_t arg_uid_base = -1;
static int64_t arg_output_cap = -1;
static int64_t arg_kill_grace_ms = -1;
static const char *arg_docker_socket;
static const char *arg_docker_image;
static const char *arg_sandbox;
static unsigned run_sandboxes;	/* SANDBOX_* this supervisor runs */
static char docker_socket_buf[CONFIG_PATH_MAX];
static char docker_image_buf[256];
static bool docker_up;		/* the daemon answered the last ping */
/* The last runtimes probe had docker runtimes and no daemon to run their
 * probes: they were published unprobed (a job naming one gets 503, the
 * lists leave it out), and are probed once it answers. */
static bool runtimes_need_docker;
static char docker_unpacker[JC_PATH_MAX];	/* "": not found */
static const char *arg_swarm_endpoint;
static int64_t arg_swarm_slots = -1;
static char swarm_endpoint_buf[CONFIG_PATH_MAX];
static char swarm_tls[3][CONFIG_PATH_MAX]; /* ca, cert, key; "": none */
static bool swarm_up; /* the manager answered the last beat */
static int64_t arg_drain_grace_ms = -1;
static bool arg_verbose;
static bool arg_cold_cells; /* --cold-cells: no warm cells (ns_pool.c) */
static const char *arg_runtimes_dir;

/* What the workers run with: the config file, then the flags over it. */
struct settings {
	char db[CONFIG_PATH_MAX];
	char doorbell[CONFIG_PATH_MAX];	/* "" if none */
	int slots;
	int swarm_slots; /* 0 unless the swarm backend runs */
	int64_t uid_base;
	int64_t output_cap;
	int64_t kill_grace_ms;
	int64_t drain_grace_ms;
	char log_level[8];		/* [worker] log_level, "" if unset */
	char data_dir[CONFIG_PATH_MAX]; /* [storage] data_dir, "" if none */
	int64_t artifacts_max_mb;
	int64_t artifacts_max_files;
	int64_t jobs_days, artifacts_hours, blobs_hours; /* [retention] */
	int64_t images_days;
	int64_t gc_interval_ms;
	char runtimes_dir[CONFIG_PATH_MAX];
};

static pid_t gc_pid; /* the collector child running now, 0: none */

static struct settings cur;

struct slot {
	pid_t pid;		/* 0: none */
	bool retiring;		/* sent SIGUSR1: replace it when it exits */
	int64_t started_mono;
	int64_t restart_at;	/* mono ms; when to fork again */
	int64_t restart_delay;	/* ms, doubled while workers die young */
};

static struct slot slots[NSLOTS];

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: jobcell-worker [--config FILE] --db PATH [OPTION]...\n"
	    "Run queued jobcell jobs in namespace cells or docker containers\n"
	    "(must start as root).\n\n"
	    "  --config FILE      the config file (default " CONFIG_DEFAULT_PATH
	    "\n"
	    "                     if it exists); flags override it; SIGHUP\n"
	    "                     re-reads it\n"
	    "  --db PATH          the SQLite database (created by jobcell-admin init)\n"
	    "  --slots N          jobs run at once, 1..%d (default 2)\n"
	    "  --doorbell PATH    unix datagram socket jobcell-api rings on each\n"
	    "                     submission (without it workers poll every 1 s)\n"
	    "  --uid-base N       host uid/gid of slot 0's cells; slot n uses N+n\n"
	    "                     (default 200000; must be unused on the host)\n"
	    "  --output-cap BYTES stored output per job (default %u)\n"
	    "  --kill-grace-ms N  TERM -> KILL grace on timeout/cancel (default %d)\n"
	    "  --drain-grace-ms N on SIGTERM, how long running jobs may go on\n"
	    "                     before they are cancelled (default %d)\n"
	    "  --cold-cells       build every namespace cell when its job is\n"
	    "                     claimed (default: each worker keeps one warm\n"
	    "                     cell prepared)\n"
	    "  --docker-socket PATH  run \"sandbox\":\"docker\" jobs through the\n"
	    "                     Docker daemon at PATH (default: no docker)\n"
	    "  --docker-image REF default image of docker jobs\n"
	    "  --sandbox LIST     the backends to run: namespace, docker, or\n"
	    "                     both (comma-separated); jobs of another\n"
	    "                     sandbox are left queued for a worker that runs\n"
	    "                     it (default: namespace, and docker when a\n"
	    "                     docker socket is set; docker alone uses\n"
	    "                     " CELL_DOCKER_SOCKET_DEFAULT " unless set)\n"
	    "  --runtimes-dir DIR the runtimes of code jobs, one *.ini each\n"
	    "                     (default: runtimes.d beside the config file)\n"
	    "  --swarm-endpoint URL  run \"sandbox\":\"swarm\" jobs as services\n"
	    "                     of the swarm whose manager's Engine API is\n"
	    "                     at URL (unix:///path or tcp://host:port;\n"
	    "                     TLS files: [worker] swarm_tls_*)\n"
	    "  --swarm-slots N    swarm jobs in flight, apart from --slots\n"
	    "                     (default 4)\n"
	    "  --verbose          log debug lines\n"
	    "  --help             show this help and exit\n"
	    "  --version          show the version and exit\n",
	    JC_MAX_SLOTS, JC_OUTPUT_CAP_DEFAULT, JC_KILL_GRACE_MS,
	    JC_DRAIN_GRACE_MS);
}

/* --runtimes-dir, [worker] runtimes_dir, runtimes.d beside the config
 * file, or the installed one. */
static int
runtimes_dir_of(const struct config *cfg, char *buf, size_t size)
{
	const char *slash;

	if (arg_runtimes_dir)
		return str_copy(buf, size, arg_runtimes_dir);
	if (cfg->worker_runtimes_dir[0])
		return str_copy(buf, size, cfg->worker_runtimes_dir);
	if (arg_config && (slash = strrchr(arg_config, '/')))
		return (size_t) snprintf(buf, size, "%.*s/runtimes.d",
			   (int) (slash - arg_config), arg_config) < size ?
		    0 :
		    -E2BIG;
	if (arg_config)
		return str_copy(buf, size, "runtimes.d");
	return str_copy(buf, size, SYSCONFDIR "/jobcell/runtimes.d");
}

/* Reads the config (if any) and lays the flags over it. */
static int
settings_load(struct settings *ret, char *errmsg, size_t size)
{
	struct config *cfg = malloc(sizeof(*cfg));
	struct settings s = { 0 };
	int r;

	if (!cfg)
		return -ENOMEM;
	if ((r = config_resolve(arg_config, cfg, errmsg, size)) < 0)
		goto out;
	/* Docker settings come from the first load only (a change needs a
	 * restart): the workers hold these pointers. */
	if (!arg_docker_socket && cfg->worker_docker_socket[0] &&
	    str_copy(docker_socket_buf, sizeof(docker_socket_buf),
	    cfg->worker_docker_socket) == 0)
		arg_docker_socket = docker_socket_buf;
	if (!arg_docker_image && cfg->limits.docker_image[0] &&
	    str_copy(docker_image_buf, sizeof(docker_image_buf),
	    cfg->limits.docker_image) == 0)
		arg_docker_image = docker_image_buf;
	if (!arg_swarm_endpoint && cfg->worker_swarm_endpoint[0] &&
	    str_copy(swarm_endpoint_buf, sizeof(swarm_endpoint_buf),
		cfg->worker_swarm_endpoint) == 0) {
		arg_swarm_endpoint = swarm_endpoint_buf;
		memcpy(swarm_tls[0], cfg->worker_swarm_tls_ca,
		    sizeof(swarm_tls[0]));
		memcpy(swarm_tls[1], cfg->worker_swarm_tls_cert,
		    sizeof(swarm_tls[1]));
		memcpy(swarm_tls[2], cfg->worker_swarm_tls_key,
		    sizeof(swarm_tls[2]));
	}
	/* The backends, also from the first load only. */
	if (!run_sandboxes) {
		const char *list = arg_sandbox ? arg_sandbox :
		    cfg->worker_sandbox[0] ? cfg->worker_sandbox : NULL;

		if (!list)
			run_sandboxes = SANDBOX_NAMESPACE |
			    (arg_docker_socket ? SANDBOX_DOCKER : 0) |
			    (arg_swarm_endpoint ? SANDBOX_SWARM : 0);
		else if (config_sandboxes(list, &run_sandboxes) < 0) {
			(void) snprintf(errmsg, size,
			    "--sandbox: '%s' must be "
			    "namespace, docker, swarm, or several",
			    list);
			r = -EINVAL;
			goto out;
		}
		if ((run_sandboxes & SANDBOX_SWARM) && !arg_swarm_endpoint) {
			(void) snprintf(errmsg, size,
			    "the swarm sandbox needs "
			    "--swarm-endpoint (or [worker] swarm_endpoint)");
			r = -EINVAL;
			goto out;
		}
		if (!(run_sandboxes & SANDBOX_SWARM))
			arg_swarm_endpoint = NULL;
		if (!(run_sandboxes & SANDBOX_DOCKER))
			arg_docker_socket = NULL;
		else if (!arg_docker_socket)
			arg_docker_socket = CELL_DOCKER_SOCKET_DEFAULT;
	}
	r = -E2BIG;
	if (str_copy(s.db, sizeof(s.db), arg_db ? arg_db : cfg->worker_db) <
		0 ||
	    str_copy(s.doorbell, sizeof(s.doorbell),
		arg_doorbell ? arg_doorbell : cfg->worker_doorbell) < 0 ||
	    str_copy(s.data_dir, sizeof(s.data_dir), cfg->storage_data_dir) <
		0) {
		(void) snprintf(errmsg, size, "a path is too long");
		goto out;
	}
	s.slots = (int) (arg_slots >= 0 ? arg_slots : cfg->worker_slots);
	/* Only the local backends: a swarm-only worker has no local slot. */
	if (!(run_sandboxes & (SANDBOX_NAMESPACE | SANDBOX_DOCKER)))
		s.slots = 0;
	s.swarm_slots = !arg_swarm_endpoint ?
	    0 :
	    (int) (arg_swarm_slots >= 0 ? arg_swarm_slots :
					  cfg->worker_swarm_slots);
	s.uid_base = arg_uid_base >= 0 ? arg_uid_base : cfg->worker_uid_base;
	s.output_cap = arg_output_cap >= 0 ? arg_output_cap :
	    cfg->worker_output_cap;
	s.kill_grace_ms = arg_kill_grace_ms >= 0 ? arg_kill_grace_ms :
	    cfg->worker_kill_grace_ms;
	s.drain_grace_ms = arg_drain_grace_ms >= 0 ? arg_drain_grace_ms :
	    cfg->worker_drain_grace_ms;
	memcpy(s.log_level, cfg->worker_log_level, sizeof(s.log_level));
	memcpy(s.data_dir, cfg->storage_data_dir, sizeof(s.data_dir));
	s.artifacts_max_mb = cfg->storage_artifacts_max_mb;
	s.artifacts_max_files = cfg->storage_artifacts_max_files;
	s.jobs_days = cfg->retention_jobs_days;
	s.artifacts_hours = cfg->retention_artifacts_hours;
	s.blobs_hours = cfg->retention_blobs_hours;
	s.images_days = cfg->retention_images_days;
	s.gc_interval_ms = cfg->retention_gc_interval_s * 1000;
	if ((r = runtimes_dir_of(cfg, s.runtimes_dir, sizeof(s.runtimes_dir))) <
	    0) {
		(void) snprintf(errmsg, size,
		    "the runtimes directory's path is "
		    "too long");
		goto out;
	}
	*ret = s;
	r = 0;
out:
	free(cfg);
	return r;
}

static int
with_db(int (*fn)(sqlite3 *db, void *arg), void *arg)
{
	sqlite3 *db = NULL;
	char errmsg[256];
	int r;

	if ((r = db_open(cur.db, 0, 0, &db, errmsg, sizeof(errmsg))) < 0) {
		log_warn("cannot open the database: %s", errmsg);
		return r;
	}
	r = fn(db, arg);
	db = db_close(db);
	return r;
}

static int
do_fail_lost(sqlite3 *db, void *arg)
{
	pid_t pid = *(pid_t *) arg;
	int n = jobstore_fail_lost(db, pid, false);

	if (n > 0)
		log_warn("worker %ld lost: %d running job(s) ended as error",
		    (long) pid, n);
	return n;
}

/* What the supervisors row says this supervisor runs now: workers claim
 * only jobs of these, /v1/health lists them. */
static const char *
sandboxes_now(void)
{
	static char buf[128];
	bool ns = run_sandboxes & SANDBOX_NAMESPACE;
	bool dk = (run_sandboxes & SANDBOX_DOCKER) && docker_up;
	bool sw = (run_sandboxes & SANDBOX_SWARM) && swarm_up;

	/* The swarm's node count and slots ride along as words that no
	 * job's sandbox matches (health.c reads them). */
	(void) snprintf(buf, sizeof(buf), "%s%s%s", ns ? "namespace " : "",
	    dk ? "docker " : "", sw ? "swarm " : "");
	if (sw)
		(void) snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "swarm-nodes=%d swarm-slots=%d", cell_swarm_nodes(),
		    cur.swarm_slots);
	else if (buf[0])
		buf[strlen(buf) - 1] = '\0';
	return buf;
}

static int64_t last_beat_ms; /* mono ms of the last heartbeat, 0: none */

static int
do_heartbeat(sqlite3 *db, void *arg)
{
	static int64_t started_at;
	pid_t hung[NSLOTS];
	int n;

	(void) arg;
	if (!started_at)
		started_at = time_now_ms();
	last_beat_ms = time_mono_ms();
	/* A worker that let its lease expire is hung (stopped, stuck in the
	 * kernel): kill it first, so that its cell dies and it cannot store
	 * a result over the error; it is replaced like any dead worker. */
	if ((n = jobstore_expired_workers(db, hung, ARRAY_SIZE(hung))) > 0)
		for (int k = 0; k < n; k++)
			for (int i = 0; i < NSLOTS; i++)
				if (slots[i].pid == hung[k]) {
					log_warn("slot %d: worker %ld let a job's "
					    "lease expire, killing it", i,
					    (long) hung[k]);
					(void) kill(hung[k], SIGKILL);
				}
	if ((n = jobstore_fail_lost(db, 0, true)) > 0)
		log_warn("%d job(s) with an expired lease ended as error", n);
	return jobstore_heartbeat(db, getpid(), cur.slots + cur.swarm_slots,
	    started_at, sandboxes_now());
}

/* Between runtime probes (a docker runtime's takes a container, up to
 * 10 s): once a heartbeat is due, it goes on, so that the API does not
 * take this supervisor for gone while it probes many. */
static void
runtimes_keepalive(void *arg)
{
	if (last_beat_ms && time_mono_ms() - last_beat_ms >= HEARTBEAT_MS)
		(void) do_heartbeat(arg, NULL);
}

/* The runtimes of cur.runtimes_dir whose toolchain answers, published for
 * the API (issue 14). At start, on SIGHUP, and when the docker daemon
 * first answers after a probe it missed (docker_beat: a worker started
 * before its daemon); a missing directory is no runtimes. */
static int
do_runtimes(sqlite3 *db, void *arg)
{
	_cleanup_free_ struct runtime_def *list = NULL;
	size_t n = 0;
	int r;

	(void) arg;
	if ((r = runtimes_load(cur.runtimes_dir, &list, &n)) < 0) {
		if (r != -ENOENT)
			log_warn("runtimes: cannot read '%s': %s, ignoring",
			    cur.runtimes_dir, strerror(-r));
		else
			log_info("runtimes: no directory '%s': no runtimes",
			    cur.runtimes_dir);
		n = 0;
	}
	runtimes_need_docker = false;
	for (size_t i = 0; i < n && arg_docker_socket && !docker_up; i++)
		if (strcmp(list[i].sandbox, "docker") == 0)
			runtimes_need_docker = true;
	if (n > 0)
		n = runtimes_probe(list, n, (uid_t) cur.uid_base,
		    arg_docker_socket, !docker_up, runtimes_keepalive, db);
	if ((r = jobstore_runtimes_publish(db, getpid(), list, n)) < 0)
		return log_errno(r, "runtimes: cannot publish them");
	log_info("runtimes: %zu published from '%s'", n, cur.runtimes_dir);
	return 0;
}

static int
do_gone(sqlite3 *db, void *arg)
{
	(void) arg;
	return jobstore_supervisor_gone(db, getpid());
}

/* A job of a previous run: whatever is left of its cell ends now. */
static void
reap_leftover(const char *id, void *arg)
{
	const struct cell_ops *ops = arg;

	ops->reap(id);
}

static int
do_startup(sqlite3 *db, void *arg)
{
	static const struct cell_ops *const backends[] = {
		&cell_ns_ops,
		&cell_docker_ops,
		&cell_swarm_ops,
	};
	pid_t zero = 0;
	int n;

	(void) arg;
	/* One supervisor per database: whatever was running belonged to a
	 * previous one that is gone. Its cells died with it (PDEATHSIG);
	 * should anything have escaped that, the job's cgroup still holds it:
	 * kill it before taking work. */
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (backends[i]->reap)
			(void) jobstore_each_running(db, backends[i]->name,
			    reap_leftover, (void *) (uintptr_t) backends[i]);
	if ((n = jobstore_fail_lost(db, zero, false)) > 0)
		log_warn("%d job(s) of a previous run ended as error "
		    "(worker lost)", n);
	return n < 0 ? n : 0;
}

static bool worker_alive(long pid, bool worker_only);

/* A job's cgroup goes once the job is final; a warm cell's ("warm-<pid>",
 * ns_pool.c) once its worker is gone. Only empty ones are removed. */
static bool
job_gone(const char *name, void *arg)
{
	size_t n = strlen(CELL_POOL_CGROUP_PREFIX);
	int64_t pid;

	if (strncmp(name, CELL_POOL_CGROUP_PREFIX, n) == 0 &&
	    parse_i64(name + n, 1, INT32_MAX, &pid) == 0)
		return !worker_alive((long) pid, true);
	return jobstore_job_final(arg, name) == 1;
}

/* Removes the empty cgroups of jobs this database knows as finished: those
 * of a worker that died before it could (its cells died with it). Never
 * touches a cgroup of a job it does not know (another jobcell may share the
 * hierarchy) nor a populated one (rmdir refuses). */
static int
do_sweep_cgroups(sqlite3 *db, void *arg)
{
	int n;

	(void) arg;
	if ((n = cell_host_sweep_cgroups(job_gone, db)) > 0)
		log_info("removed %d cgroup(s) of finished jobs", n);
	return n;
}

/* A process with this pid exists; if worker_only, it is a jobcell-worker. */
static bool
worker_alive(long pid, bool worker_only)
{
	char path[64], comm[32] = "";
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (pid <= 1 || (kill((pid_t) pid, 0) < 0 && errno != EPERM))
		return false;
	if (!worker_only)
		return true;
	(void) snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (n = read(fd, comm, sizeof(comm) - 1)) <= 0)
		return false;
	comm[n] = '\0';
	return strcmp(comm, "jobcell-worker\n") == 0;
}

/* The sweep's rule: a container of a job of ours stays while the job runs
 * and its worker lives; one of a job we do not know (another installation
 * on the same daemon, bench/dockerrun) stays while its process lives. */
static bool
keep_container(const char *job_id, long worker, void *arg)
{
	sqlite3 *db = arg;
	int r = jobstore_job_running(db, job_id);

	if (r == 0)
		return false;	/* ended here; its removal had failed */
	if (worker_alive(worker, r == 1))
		return true;
	if (r == 1 && jobstore_fail_lost(db, (pid_t) worker, false) > 0)
		log_warn("job=%s: its worker %ld is gone: ended as error",
		    job_id, worker);
	return false;
}

static int
do_docker_sweep(sqlite3 *db, void *arg)
{
	int r;

	(void) arg;
	r = cell_docker_ops.sweep(keep_container, db);
	if (r < 0)
		log_warn("docker: cannot sweep containers: %s, retrying",
		    strerror(-r));
	return r;
}

/* Pings the daemon (logging each change) and, if it answers, sweeps. */
static void
docker_beat(void)
{
	bool was = docker_up;
	int r;

	if (!arg_docker_socket)
		return;
	r = cell_docker_ops.available();
	docker_up = r == 0;
	if (docker_up && !was) {
		log_info("docker: the daemon at '%s' answers: docker jobs run",
		    arg_docker_socket);
		if (runtimes_need_docker)
			(void) with_db(do_runtimes, NULL);
	} else if (!docker_up && was)
		log_warn("docker: the daemon at '%s' does not answer (%s): "
		    "docker jobs are refused", arg_docker_socket, strerror(-r));
	if (docker_up)
		(void) with_db(do_docker_sweep, NULL);
}

static int
do_swarm_sweep(sqlite3 *db, void *arg)
{
	int r;

	(void) arg;
	r = cell_swarm_ops.sweep(keep_container, db);
	if (r < 0)
		log_warn("swarm: cannot sweep services: %s, retrying",
		    strerror(-r));
	return r;
}

/* Asks the swarm manager (logging each change) and, if it answers, sweeps
 * the services of jobs whose worker is gone. */
static void
swarm_beat(void)
{
	bool was = swarm_up;
	int r;

	if (!arg_swarm_endpoint)
		return;
	r = cell_swarm_ops.available();
	swarm_up = r == 0;
	if (swarm_up && !was)
		log_info("swarm: the manager at '%s' answers (%d nodes): swarm "
			 "jobs run",
		    arg_swarm_endpoint, cell_swarm_nodes());
	else if (!swarm_up && was)
		log_warn("swarm: the manager at '%s' does not answer (%s): "
			 "swarm jobs are refused",
		    arg_swarm_endpoint, strerror(-r));
	if (swarm_up)
		(void) with_db(do_swarm_sweep, NULL);
}

static int
bind_doorbell(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return -errno;
	/* The API runs as the service user: let it ring. */
	if (chmod(path, 0660) < 0)
		return -errno;
	return steal_fd(&fd);
}

static pid_t
spawn(int slot, int bell_fd, const sigset_t *oldmask)
{
	struct worker_config cfg = {
		.db_path = cur.db,
		.doorbell_fd = bell_fd,
		.slot = slot,
		.uid_base = (uid_t) cur.uid_base,
		.output_cap = (uint64_t) cur.output_cap,
		.kill_grace_ms = (int) cur.kill_grace_ms,
		.drain_grace_ms = cur.drain_grace_ms,
		.supervisor_pid = getpid(),
		.docker_socket = arg_docker_socket,
		.docker_image = arg_docker_image,
		.docker_unpacker = docker_unpacker[0] ? docker_unpacker : NULL,
		.data_dir = cur.data_dir[0] ? cur.data_dir : NULL,
		.artifacts_max_bytes = (uint64_t) cur.artifacts_max_mb << 20,
		.artifacts_max_files = (size_t) cur.artifacts_max_files,
		.artifacts_keep_ms = cur.artifacts_hours * 3600 * 1000,
		.warm_cells = !arg_cold_cells &&
		    (run_sandboxes & SANDBOX_NAMESPACE),
		.swarm_endpoint = arg_swarm_endpoint,
		.swarm_tls_ca = swarm_tls[0][0] ? swarm_tls[0] : NULL,
		.swarm_tls_cert = swarm_tls[1][0] ? swarm_tls[1] : NULL,
		.swarm_tls_key = swarm_tls[2][0] ? swarm_tls[2] : NULL,
		.swarm_slot = slot >= JC_MAX_SLOTS,
	};
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		(void) sigprocmask(SIG_SETMASK, oldmask, NULL);
		_exit(worker_main(&cfg));
	}
	log_debug("slot %d: worker pid %ld", slot, (long) pid);
	return pid;
}

/* SIGHUP: a new config; the workers are replaced as they become idle. */
static void
reload(void)
{
	struct settings next;
	char errmsg[512];
	int r;

	if ((r = settings_load(&next, errmsg, sizeof(errmsg))) < 0) {
		log_err("SIGHUP: cannot reload the config: %s; keeping the "
		    "running one", errmsg);
		return;
	}
	if (strcmp(next.db, cur.db) != 0)
		log_warn("SIGHUP: db changed; it takes effect at the next "
		    "restart, ignoring");
	if (strcmp(next.doorbell, cur.doorbell) != 0)
		log_warn("SIGHUP: doorbell changed; it takes effect at the next "
		    "restart, ignoring");
	if (next.uid_base != cur.uid_base)
		log_warn("SIGHUP: uid_base changed; it takes effect at the next "
		    "restart, ignoring");
	memcpy(next.db, cur.db, sizeof(next.db));
	memcpy(next.doorbell, cur.doorbell, sizeof(next.doorbell));
	next.uid_base = cur.uid_base;
	/* Workspaces live there: a new one only at the next start. */
	(void) str_copy(next.data_dir, sizeof(next.data_dir), cur.data_dir);
	log_info("SIGHUP: config reloaded: slots=%d kill_grace_ms=%lld "
	    "drain_grace_ms=%lld output_cap=%lld (for jobs claimed from now on)",
	    next.slots, (long long) next.kill_grace_ms,
	    (long long) next.drain_grace_ms, (long long) next.output_cap);
	cur = next;
	(void) with_db(do_runtimes, NULL);
	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].pid > 0 && !slots[i].retiring) {
			slots[i].retiring = true;
			(void) kill(slots[i].pid, SIGUSR1);
		}
}

/* A worker exited: end its job, schedule its replacement. */
static void
reaped(pid_t pid, int status, bool stopping)
{
	int64_t now = time_mono_ms();

	if (pid == gc_pid) {
		gc_pid = 0; /* it logged its own result */
		if (WIFSIGNALED(status) && !stopping)
			log_warn("gc: collector %ld killed by signal %d",
			    (long) pid, WTERMSIG(status));
		return;
	}
	for (int i = 0; i < NSLOTS; i++) {
		struct slot *sl = &slots[i];
		bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

		if (sl->pid != pid)
			continue;
		sl->pid = 0;
		if (!clean || (!stopping && !sl->retiring))
			log_warn("slot %d: worker %ld %s %d", i, (long) pid,
			    WIFSIGNALED(status) ? "killed by signal" :
			    "exited with", WIFSIGNALED(status) ?
			    WTERMSIG(status) : WEXITSTATUS(status));
		(void) with_db(do_fail_lost, &pid);
		cell_pool_reap_orphan(pid); /* its warm cell's cgroup */
		(void) with_db(do_sweep_cgroups, NULL);
		if (clean && sl->retiring) {
			sl->restart_at = now;	/* a reload: replace it now */
		} else {
			if (now - sl->started_mono > YOUNG_MS ||
			    sl->restart_delay < RESTART_MIN_MS)
				sl->restart_delay = RESTART_MIN_MS;
			else if (sl->restart_delay < RESTART_MAX_MS)
				sl->restart_delay *= 2;
			sl->restart_at = now + sl->restart_delay;
		}
		sl->retiring = false;
		return;
	}
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* One case per option: longer than a screen, but a flat table. */
static int
parse_args(int argc, char **argv, enum log_level *level)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "docker-socket", required_argument, NULL, 'D' },
		{ "docker-image", required_argument, NULL, 'I' },
		{ "sandbox", required_argument, NULL, 'S' },
		{ "db", required_argument, NULL, 'd' },
		{ "slots", required_argument, NULL, 's' },
		{ "doorbell", required_argument, NULL, 'b' },
		{ "uid-base", required_argument, NULL, 'u' },
		{ "output-cap", required_argument, NULL, 'o' },
		{ "kill-grace-ms", required_argument, NULL, 'g' },
		{ "drain-grace-ms", required_argument, NULL, 'G' },
		{ "runtimes-dir", required_argument, NULL, 'R' },
		{ "swarm-endpoint", required_argument, NULL, 'W' },
		{ "swarm-slots", required_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "cold-cells", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *bad = NULL;

		switch (c) {
		case 'c': arg_config = optarg; break;
		case 'D': arg_docker_socket = optarg; break;
		case 'I':
			if (!image_ref_ok(optarg))
				bad = "--docker-image";
			arg_docker_image = optarg;
			break;
		case 'S': {
			unsigned m;

			if (config_sandboxes(optarg, &m) < 0)
				bad = "--sandbox";
			arg_sandbox = optarg;
			break;
		}
		case 'd': arg_db = optarg; break;
		case 'R':
			arg_runtimes_dir = optarg;
			break;
		case 'W':
			arg_swarm_endpoint = optarg;
			break;
		case 'w':
			if (parse_i64(optarg, 1, JC_MAX_SLOTS,
				&arg_swarm_slots) < 0)
				bad = "--swarm-slots";
			break;
		case 'b': arg_doorbell = optarg; break;
		case 'v': *level = LOG_LEVEL_DEBUG; arg_verbose = true; break;
		case 'C':
			arg_cold_cells = true;
			break;
		case 's':
			if (parse_i64(optarg, 1, JC_MAX_SLOTS, &arg_slots) < 0)
				bad = "--slots";
			break;
		case 'u':
			if (parse_i64(optarg, 1000, 0x7fffffffLL - JC_MAX_SLOTS,
			    &arg_uid_base) < 0)
				bad = "--uid-base";
			break;
		case 'o':
			if (parse_i64(optarg, 1024, INT64_C(1) << 40,
			    &arg_output_cap) < 0)
				bad = "--output-cap";
			break;
		case 'g':
			if (parse_i64(optarg, 0, 600000, &arg_kill_grace_ms) < 0)
				bad = "--kill-grace-ms";
			break;
		case 'G':
			if (parse_i64(optarg, 0, 3600000, &arg_drain_grace_ms) < 0)
				bad = "--drain-grace-ms";
			break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("jobcell-worker %s\n", PACKAGE_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
		if (bad) {
			fprintf(stderr, "jobcell-worker: %s: invalid value '%s'\n",
			    bad, optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jobcell-worker: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;	/* go on */
}

/* Only while no worker runs (start, stop): removes every disk workspace
 * (workspace.c) left by a worker that died mid-job. */
static void
sweep_workspaces(void)
{
	int r;

	if (!cur.data_dir[0] || (r = cell_workspace_sweep(cur.data_dir)) == 0)
		return;
	if (r < 0)
		log_errno(r, "cannot sweep the workspaces under '%s', ignoring",
		    cur.data_dir);
	else
		log_warn("removed %d workspace(s) left by a worker that died "
			 "mid-job",
		    r);
}

/* Before the first worker: the cell host (cgroups), the previous run's
 * leftovers, the docker daemon, the first heartbeat, the doorbell. 0, or
 * -1 after logging. */
static int
startup(int *ret_bell_fd)
{
	struct cell_host_config host;
	char errmsg[512];
	int bell_fd = -1, r, cg_version = 0;

	/* No bulk page cache per connection: SQLite frees and re-allocates
	 * it (20 pages) each time another process's commit clears the cache,
	 * i.e. on nearly every worker transaction, and every page written
	 * while a cell (a fork of the worker) lives is a copy-on-write fault.
	 * Pages come one by one instead. Before the first connection. */
	if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *) NULL, 0, 0) !=
	    SQLITE_OK)
		log_warn("cannot configure the SQLite page cache, ignoring");
	/* Cells without limits would break DESIGN section 5: refuse to run. */
	host = (struct cell_host_config){ .docker_socket = arg_docker_socket,
		.docker_image = arg_docker_image,
		.swarm_endpoint = arg_swarm_endpoint,
		.swarm_tls_ca = swarm_tls[0][0] ? swarm_tls[0] : NULL,
		.swarm_tls_cert = swarm_tls[1][0] ? swarm_tls[1] : NULL,
		.swarm_tls_key = swarm_tls[2][0] ? swarm_tls[2] : NULL };
	if ((r = cell_host_init(&host, &cg_version, errmsg,
	    sizeof(errmsg))) < 0) {
		log_errno(r, "%s", errmsg);
		return -1;
	}
	log_info("cgroups: v%d", cg_version);
	if (with_db(do_startup, NULL) < 0)
		return -1;
	(void) with_db(do_sweep_cgroups, NULL);
	if (arg_docker_socket && strlen(arg_docker_socket) >= CELL_DOCKER_SOCKET_MAX) {
		log_err("the docker socket path '%s' is longer than a unix "
		    "socket address allows", arg_docker_socket);
		return -1;
	}
	/* Before any worker exists: every container of ours is an orphan,
	 * and every disk workspace a crash's leftover. */
	docker_beat();
	sweep_workspaces();
	/* The runtimes before the first heartbeat: the API offers them
	 * from the moment it sees this supervisor alive. */
	(void) with_db(do_runtimes, NULL);
	swarm_beat();
	/* The row workers' claims read, before the first worker. */
	(void) with_db(do_heartbeat, NULL);
	if ((arg_docker_socket || arg_swarm_endpoint) &&
	    cell_unpacker_find(docker_unpacker, sizeof(docker_unpacker)) < 0) {
		docker_unpacker[0] = '\0';
		log_warn("docker: no usable %s next to this program nor in %s: "
			 "docker and swarm jobs with files will end as error",
		    CELL_UNPACKER_NAME, PKGLIBEXECDIR);
	}
	if (cur.doorbell[0] && (bell_fd = bind_doorbell(cur.doorbell)) < 0) {
		log_errno(bell_fd, "cannot bind the doorbell '%s'", cur.doorbell);
		return -1;
	}
	*ret_bell_fd = bell_fd;
	return 0;
}

/* Forks a worker for each empty slot whose restart time has come; how
 * many slots have a worker. *wake: lowered to the next restart time. */
static int
fill_slots(bool stopping, int bell_fd, const sigset_t *oldmask, int64_t now,
    int64_t *wake)
{
	int alive = 0;

	for (int i = 0; i < NSLOTS; i++) {
		struct slot *sl = &slots[i];

		if (sl->pid > 0) {
			alive++;
			continue;
		}
		if (stopping || (i < JC_MAX_SLOTS && i >= cur.slots) ||
		    (i >= JC_MAX_SLOTS && i - JC_MAX_SLOTS >= cur.swarm_slots))
			continue;
		if (now < sl->restart_at) {
			*wake = min64(*wake, sl->restart_at);
			continue;
		}
		if ((sl->pid = spawn(i, bell_fd, oldmask)) < 0) {
			log_errno(sl->pid, "slot %d: cannot fork, "
			    "retrying", i);
			sl->pid = 0;
			sl->restart_at = now + 1000;
			*wake = min64(*wake, sl->restart_at);
		} else {
			sl->started_mono = now;
			alive++;
		}
	}
	return alive;
}

/* SIGTERM or SIGINT: every worker drains; returns when to give up on
 * them (mono ms). */
static int64_t
start_drain(int sig)
{
	log_info("signal %d: draining (running jobs get %lld ms)", sig,
	    (long long) cur.drain_grace_ms);
	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].pid > 0)
			(void) kill(slots[i].pid, SIGTERM);
	if (gc_pid > 0)
		(void) kill(gc_pid, SIGTERM); /* a pass may stop anywhere */
	return time_mono_ms() + cur.drain_grace_ms + cur.kill_grace_ms +
	    STOP_MARGIN_MS;
}

/* Starts a collector pass unless one still runs; when the next is due. */
static int64_t
collect_garbage(const sigset_t *oldmask, int64_t now)
{
	struct collector_config c = {
		.db_path = cur.db,
		.data_dir = cur.data_dir,
		.jobs_days = cur.jobs_days,
		.artifacts_hours = cur.artifacts_hours,
		.blobs_hours = cur.blobs_hours,
		.images_days = cur.images_days,
		.docker_socket = arg_docker_socket,
	};
	pid_t pid;

	if (gc_pid == 0) {
		if ((pid = collector_spawn(&c, oldmask)) < 0)
			log_errno((int) pid,
			    "gc: cannot fork the collector, "
			    "retrying at the next interval");
		else
			gc_pid = pid;
	}
	return now + cur.gc_interval_ms;
}

/* Reaps every worker that has exited (on every wakeup: SIGCHLD may
 * coalesce). */
static void
reap_all(bool stopping)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			break;
		reaped(pid, status, stopping);
	}
}

/* Options, then the loop of the header comment: fill slots, beat, wait
 * for a signal or the next deadline, reap. Kept in one piece (a little
 * over a screen) so that the loop's states read together. */
int
main(int argc, char **argv)
{
	enum log_level level = LOG_LEVEL_INFO;
	sigset_t set, oldmask;
	char errmsg[512];
	int bell_fd = -1, r;
	bool stopping = false;
	int64_t stop_deadline = 0, next_beat = 0, next_gc;

	if ((r = parse_args(argc, argv, &level)) >= 0)
		return r;
	if (settings_load(&cur, errmsg, sizeof(errmsg)) < 0) {
		fprintf(stderr, "jobcell-worker: %s\n", errmsg);
		return 1;
	}
	if (!cur.db[0]) {
		fprintf(stderr, "jobcell-worker: --db is required (or db in "
		    "[worker] of the config file)\n");
		usage(stderr);
		return 2;
	}
	/* --verbose, else [worker] log_level (checked by config_load). */
	if (!arg_verbose && cur.log_level[0])
		(void) log_level_from_name(cur.log_level, &level);
	log_setup("jobcell-worker", level);
	if (geteuid() != 0) {
		log_err("must start as root (it builds namespaces and maps "
		    "unprivileged uids for cells)");
		return 1;
	}
	if (startup(&bell_fd) < 0)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &oldmask) < 0) {
		log_errno(-errno, "cannot block signals");
		return 1;
	}
	log_info("starting %d slot(s)", cur.slots);
	next_gc = time_mono_ms() + cur.gc_interval_ms;
	/* The database is open and migrated, stale jobs ended, the doorbell
	 * bound: ready (sd_notify(3), a no-op outside systemd). */
	(void) sdnotify_sendf("READY=1\nSTATUS=running %d slot(s)", cur.slots);
	for (;;) {
		int64_t now = time_mono_ms(), wake;
		struct timespec ts;
		siginfo_t si;
		int alive, sig;

		wake = now + HEARTBEAT_MS;
		alive = fill_slots(stopping, bell_fd, &oldmask, now, &wake);
		/* Slots above a reduced count were told to retire; they are
		 * not replaced. */
		if (stopping && alive == 0 && gc_pid == 0)
			break;
		if (stopping) {
			if (now >= stop_deadline) {
				log_warn("workers did not stop in time, killing");
				for (int i = 0; i < NSLOTS; i++)
					if (slots[i].pid > 0)
						(void) kill(slots[i].pid, SIGKILL);
				stop_deadline = now + 60000;
			}
			wake = min64(wake, stop_deadline);
		} else {
			if (now >= next_beat) {
				docker_beat();
				swarm_beat();
				(void) with_db(do_heartbeat, NULL);
				next_beat = now + HEARTBEAT_MS;
			}
			if (now >= next_gc)
				next_gc = collect_garbage(&oldmask, now);
			wake = min64(wake, next_beat);
			wake = min64(wake, next_gc);
		}
		wake -= now;
		if (wake < 1)
			wake = 1;
		ts.tv_sec = wake / 1000;
		ts.tv_nsec = (wake % 1000) * 1000000;
		sig = sigtimedwait(&set, &si, &ts);
		if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			(void) sdnotify_send("STOPPING=1");
			stop_deadline = start_drain(sig);
			stopping = true;
		} else if (sig == SIGHUP && !stopping) {
			(void) sdnotify_send("RELOADING=1");
			reload();
			(void) sdnotify_send("READY=1");
		}
		reap_all(stopping);
	}
	/* Every worker is gone: what is left under DATA/work is a leftover
	 * of a worker that was killed mid-job. */
	sweep_workspaces();
	(void) with_db(do_gone, NULL);
	if (cur.doorbell[0])
		(void) unlink(cur.doorbell);
	log_info("stopped");
	return 0;
}
