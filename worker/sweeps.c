/* sweeps.c - jobcell-worker's supervisor: its short database moments. The
 * heartbeat row (and the sweep of jobs whose lease expired), the runtimes'
 * probe, the cleanup of what dead workers and a previous run left (jobs,
 * cgroups, warm cells, containers, swarm services, workspaces). Runs as
 * root, single-threaded; opens SQLite only for each moment, never across
 * fork(). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cell.h"
#include "cleanup.h"
#include "db.h"
#include "log.h"
#include "parse.h"
#include "timefmt.h"
#include "supervisor.h"
#include "banned.h"

/* A backend with a daemon to ask: docker's daemon, the swarm's manager. */
struct backend {
	const char *name;   /* "docker": its jobs' sandbox */
	const char *server; /* what answers: "daemon" */
	const char *things; /* what its sweep removes */
	const struct cell_ops *ops;
	const char *const *endpoint; /* NULL behind it: not run */
	bool up;		     /* it answered the last beat */
};

static struct backend docker = { "docker", "daemon", "containers",
	&cell_docker_ops, &arg_docker_socket, false };
static struct backend swarm = { "swarm", "manager", "services", &cell_swarm_ops,
	&arg_swarm_endpoint, false };
/* The last runtimes probe had docker runtimes and no daemon to run their
 * probes: they were published unprobed (a job naming one gets 503, the
 * lists leave it out), and are probed once it answers. */
static bool runtimes_need_docker;

static int
with_db(int (*fn)(sqlite3 *db, void *arg), void *arg)
{
	sqlite3 *db = NULL;
	char errmsg[256];
	int r;

	if ((r = db_open(sup_cur.db, 0, 0, &db, errmsg, sizeof(errmsg))) < 0) {
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
	bool ns = sup_sandboxes & SANDBOX_NAMESPACE;
	bool dk = (sup_sandboxes & SANDBOX_DOCKER) && docker.up;
	bool sw = (sup_sandboxes & SANDBOX_SWARM) && swarm.up;

	/* The swarm's node count and slots ride along as words that no
	 * job's sandbox matches (health.c reads them). */
	(void) snprintf(buf, sizeof(buf), "%s%s%s", ns ? "namespace " : "",
	    dk ? "docker " : "", sw ? "swarm " : "");
	if (sw)
		(void) snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "swarm-nodes=%d swarm-slots=%d", cell_swarm_nodes(),
		    sup_cur.swarm_slots);
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
			slots_kill_hung(hung[k]);
	if ((n = jobstore_fail_lost(db, 0, true)) > 0)
		log_warn("%d job(s) with an expired lease ended as error", n);
	return jobstore_heartbeat(db, getpid(),
	    sup_cur.slots + sup_cur.swarm_slots, started_at, sandboxes_now());
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

/* The runtimes of sup_cur.runtimes_dir whose toolchain answers, published
 * for the API (issue 14). At start, on SIGHUP, and when the docker daemon
 * first answers after a probe it missed (backend_beat: a worker started
 * before its daemon); a missing directory is no runtimes. */
static int
do_runtimes(sqlite3 *db, void *arg)
{
	_cleanup_free_ struct runtime_def *list = NULL;
	size_t n = 0;
	int r;

	(void) arg;
	if ((r = runtimes_load(sup_cur.runtimes_dir, &list, &n)) < 0) {
		if (r != -ENOENT)
			log_warn("runtimes: cannot read '%s': %s, ignoring",
			    sup_cur.runtimes_dir, strerror(-r));
		else
			log_info("runtimes: no directory '%s': no runtimes",
			    sup_cur.runtimes_dir);
		n = 0;
	}
	runtimes_need_docker = false;
	for (size_t i = 0; i < n && arg_docker_socket && !docker.up; i++)
		if (strcmp(list[i].sandbox, "docker") == 0)
			runtimes_need_docker = true;
	if (n > 0)
		n = runtimes_probe(list, n, (uid_t) sup_cur.uid_base,
		    arg_docker_socket, !docker.up, runtimes_keepalive, db);
	if ((r = jobstore_runtimes_publish(db, getpid(), list, n)) < 0)
		return log_errno(r, "runtimes: cannot publish them");
	log_info("runtimes: %zu published from '%s'", n, sup_cur.runtimes_dir);
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
			 "(worker lost)",
		    n);
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
		return false; /* ended here; its removal had failed */
	if (worker_alive(worker, r == 1))
		return true;
	if (r == 1 && jobstore_fail_lost(db, (pid_t) worker, false) > 0)
		log_warn("job=%s: its worker %ld is gone: ended as error",
		    job_id, worker);
	return false;
}

static int
do_backend_sweep(sqlite3 *db, void *arg)
{
	const struct backend *b = arg;
	int r;

	r = b->ops->sweep(keep_container, db);
	if (r < 0)
		log_warn("%s: cannot sweep %s: %s, retrying", b->name,
		    b->things, strerror(-r));
	return r;
}

/* Asks the backend's daemon (logging each change) and, if it answers,
 * sweeps what jobs whose worker is gone left there. */
static void
backend_beat(struct backend *b)
{
	bool was = b->up;
	char nodes[32] = "";
	int r;

	if (!*b->endpoint)
		return;
	r = b->ops->available();
	b->up = r == 0;
	if (b->up && !was) {
		if (b == &swarm)
			(void) snprintf(nodes, sizeof(nodes), " (%d nodes)",
			    cell_swarm_nodes());
		log_info("%s: the %s at '%s' answers%s: %s jobs run", b->name,
		    b->server, *b->endpoint, nodes, b->name);
		if (b == &docker && runtimes_need_docker)
			(void) with_db(do_runtimes, NULL);
	} else if (!b->up && was)
		log_warn("%s: the %s at '%s' does not answer (%s): %s jobs "
			 "are refused",
		    b->name, b->server, *b->endpoint, strerror(-r), b->name);
	if (b->up)
		(void) with_db(do_backend_sweep, b);
}

void
sweeps_docker_beat(void)
{
	backend_beat(&docker);
}

void
sweeps_swarm_beat(void)
{
	backend_beat(&swarm);
}

void
sweeps_workspaces(void)
{
	int r;

	if (!sup_cur.data_dir[0] ||
	    (r = cell_workspace_sweep(sup_cur.data_dir)) == 0)
		return;
	if (r < 0)
		log_errno(r, "cannot sweep the workspaces under '%s', ignoring",
		    sup_cur.data_dir);
	else
		log_warn("removed %d workspace(s) left by a worker that died "
			 "mid-job",
		    r);
}

int
sweeps_startup(void)
{
	int r;

	if ((r = with_db(do_startup, NULL)) < 0)
		return r;
	(void) with_db(do_sweep_cgroups, NULL);
	return 0;
}

void
sweeps_heartbeat(void)
{
	(void) with_db(do_heartbeat, NULL);
}

void
sweeps_runtimes(void)
{
	(void) with_db(do_runtimes, NULL);
}

void
sweeps_worker_lost(pid_t pid)
{
	(void) with_db(do_fail_lost, &pid);
	cell_pool_reap_orphan(pid); /* its warm cell's cgroup */
	(void) with_db(do_sweep_cgroups, NULL);
}

void
sweeps_gone(void)
{
	(void) with_db(do_gone, NULL);
}
