/* supervisor.c - jobcell-worker's main process: forks --slots worker
 * processes, restarts any that die, ends the jobs a dead worker held, and
 * applies a reloaded config. Runs as root; trusts its config file. This
 * file holds its options, settings, reload and loop; the slot table is
 * slots.c, the heartbeat and the sweeps sweeps.c (supervisor.h).
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
#include "supervisor.h"
#include "banned.h"

static const char *arg_config;
static const char *arg_db;
static const char *arg_doorbell;
static int64_t arg_slots = -1;
static int64_t arg_uid_base = -1;
static int64_t arg_output_cap = -1;
static int64_t arg_kill_grace_ms = -1;
const char *arg_docker_socket;
const char *arg_docker_image;
static const char *arg_sandbox;
unsigned sup_sandboxes;
static char docker_socket_buf[CONFIG_PATH_MAX];
static char docker_image_buf[256];
char sup_docker_unpacker[JC_PATH_MAX];
const char *arg_swarm_endpoint;
static int64_t arg_swarm_slots = -1;
static char swarm_endpoint_buf[CONFIG_PATH_MAX];
char sup_swarm_tls[3][CONFIG_PATH_MAX];
static int64_t arg_drain_grace_ms = -1;
static bool arg_verbose;
bool arg_cold_cells;
static const char *arg_runtimes_dir;

struct settings sup_cur;

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

/* The backends (docker, swarm) and their settings, from the first load
 * only (a change needs a restart): the workers hold these pointers. */
static int
backends_load(const struct config *cfg, char *errmsg, size_t size)
{
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
		memcpy(sup_swarm_tls[0], cfg->worker_swarm_tls_ca,
		    sizeof(sup_swarm_tls[0]));
		memcpy(sup_swarm_tls[1], cfg->worker_swarm_tls_cert,
		    sizeof(sup_swarm_tls[1]));
		memcpy(sup_swarm_tls[2], cfg->worker_swarm_tls_key,
		    sizeof(sup_swarm_tls[2]));
	}
	if (!sup_sandboxes) {
		const char *list = arg_sandbox ? arg_sandbox :
		    cfg->worker_sandbox[0] ? cfg->worker_sandbox : NULL;

		if (!list)
			sup_sandboxes = SANDBOX_NAMESPACE |
			    (arg_docker_socket ? SANDBOX_DOCKER : 0) |
			    (arg_swarm_endpoint ? SANDBOX_SWARM : 0);
		else if (config_sandboxes(list, &sup_sandboxes) < 0) {
			(void) snprintf(errmsg, size,
			    "--sandbox: '%s' must be "
			    "namespace, docker, swarm, or several",
			    list);
			return -EINVAL;
		}
		if ((sup_sandboxes & SANDBOX_SWARM) && !arg_swarm_endpoint) {
			(void) snprintf(errmsg, size,
			    "the swarm sandbox needs "
			    "--swarm-endpoint (or [worker] swarm_endpoint)");
			return -EINVAL;
		}
		if (!(sup_sandboxes & SANDBOX_SWARM))
			arg_swarm_endpoint = NULL;
		if (!(sup_sandboxes & SANDBOX_DOCKER))
			arg_docker_socket = NULL;
		else if (!arg_docker_socket)
			arg_docker_socket = CELL_DOCKER_SOCKET_DEFAULT;
	}
	return 0;
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
	if ((r = config_resolve(arg_config, cfg, errmsg, size)) < 0 ||
	    (r = backends_load(cfg, errmsg, size)) < 0)
		goto out;
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
	if (!(sup_sandboxes & (SANDBOX_NAMESPACE | SANDBOX_DOCKER)))
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
	if (strcmp(next.db, sup_cur.db) != 0)
		log_warn("SIGHUP: db changed; it takes effect at the next "
		    "restart, ignoring");
	if (strcmp(next.doorbell, sup_cur.doorbell) != 0)
		log_warn("SIGHUP: doorbell changed; it takes effect at the next "
		    "restart, ignoring");
	if (next.uid_base != sup_cur.uid_base)
		log_warn("SIGHUP: uid_base changed; it takes effect at the next "
		    "restart, ignoring");
	memcpy(next.db, sup_cur.db, sizeof(next.db));
	memcpy(next.doorbell, sup_cur.doorbell, sizeof(next.doorbell));
	next.uid_base = sup_cur.uid_base;
	/* Workspaces live there: a new one only at the next start. */
	(void) str_copy(next.data_dir, sizeof(next.data_dir), sup_cur.data_dir);
	log_info("SIGHUP: config reloaded: slots=%d kill_grace_ms=%lld "
	    "drain_grace_ms=%lld output_cap=%lld (for jobs claimed from now on)",
	    next.slots, (long long) next.kill_grace_ms,
	    (long long) next.drain_grace_ms, (long long) next.output_cap);
	sup_cur = next;
	sweeps_runtimes();
	slots_retire_all();
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
		.swarm_tls_ca = sup_swarm_tls[0][0] ? sup_swarm_tls[0] : NULL,
		.swarm_tls_cert = sup_swarm_tls[1][0] ? sup_swarm_tls[1] : NULL,
		.swarm_tls_key = sup_swarm_tls[2][0] ? sup_swarm_tls[2] :
						       NULL };
	if ((r = cell_host_init(&host, &cg_version, errmsg,
	    sizeof(errmsg))) < 0) {
		log_errno(r, "%s", errmsg);
		return -1;
	}
	log_info("cgroups: v%d", cg_version);
	if (sweeps_startup() < 0)
		return -1;
	if (arg_docker_socket && strlen(arg_docker_socket) >= CELL_DOCKER_SOCKET_MAX) {
		log_err("the docker socket path '%s' is longer than a unix "
		    "socket address allows", arg_docker_socket);
		return -1;
	}
	/* Before any worker exists: every container of ours is an orphan,
	 * and every disk workspace a crash's leftover. */
	sweeps_docker_beat();
	sweeps_workspaces();
	/* The runtimes before the first heartbeat: the API offers them
	 * from the moment it sees this supervisor alive. */
	sweeps_runtimes();
	sweeps_swarm_beat();
	/* The row workers' claims read, before the first worker. */
	sweeps_heartbeat();
	if ((arg_docker_socket || arg_swarm_endpoint) &&
	    cell_unpacker_find(sup_docker_unpacker,
		sizeof(sup_docker_unpacker)) < 0) {
		sup_docker_unpacker[0] = '\0';
		log_warn("docker: no usable %s next to this program nor in %s: "
			 "docker and swarm jobs with files will end as error",
		    CELL_UNPACKER_NAME, PKGLIBEXECDIR);
	}
	if (sup_cur.doorbell[0] &&
	    (bell_fd = bind_doorbell(sup_cur.doorbell)) < 0) {
		log_errno(bell_fd, "cannot bind the doorbell '%s'",
		    sup_cur.doorbell);
		return -1;
	}
	*ret_bell_fd = bell_fd;
	return 0;
}

/* Options, config, logging: -1 to go on, else main's exit status. */
static int
configure(int argc, char **argv)
{
	enum log_level level = LOG_LEVEL_INFO;
	char errmsg[512];
	int r;

	if ((r = parse_args(argc, argv, &level)) >= 0)
		return r;
	if (settings_load(&sup_cur, errmsg, sizeof(errmsg)) < 0) {
		fprintf(stderr, "jobcell-worker: %s\n", errmsg);
		return 1;
	}
	if (!sup_cur.db[0]) {
		fprintf(stderr,
		    "jobcell-worker: --db is required (or db in "
		    "[worker] of the config file)\n");
		usage(stderr);
		return 2;
	}
	/* --verbose, else [worker] log_level (checked by config_load). */
	if (!arg_verbose && sup_cur.log_level[0])
		(void) log_level_from_name(sup_cur.log_level, &level);
	log_setup("jobcell-worker", level);
	if (geteuid() != 0) {
		log_err("must start as root (it builds namespaces and maps "
			"unprivileged uids for cells)");
		return 1;
	}
	return -1;
}

/* The loop's state: draining or not, and when its timed work is due. */
struct loop {
	bool stopping;
	int64_t stop_deadline, next_beat, next_gc; /* mono ms */
};

/* The timed work due now (beat and sweeps, gc; or, draining, the kill
 * past the deadline); wake lowered to when the next is due. */
static int64_t
loop_timers(struct loop *lp, const sigset_t *oldmask, int64_t now, int64_t wake)
{
	if (lp->stopping) {
		if (now >= lp->stop_deadline) {
			slots_kill_all();
			lp->stop_deadline = now + 60000;
		}
		return min64(wake, lp->stop_deadline);
	}
	if (now >= lp->next_beat) {
		sweeps_docker_beat();
		sweeps_swarm_beat();
		sweeps_heartbeat();
		lp->next_beat = now + HEARTBEAT_MS;
	}
	if (now >= lp->next_gc)
		lp->next_gc = slots_collect(oldmask, now);
	wake = min64(wake, lp->next_beat);
	return min64(wake, lp->next_gc);
}

/* Sleeps until a signal of set or wait_ms, and acts on the signal. */
static void
loop_signal(struct loop *lp, const sigset_t *set, int64_t wait_ms)
{
	struct timespec ts;
	siginfo_t si;
	int sig;

	if (wait_ms < 1)
		wait_ms = 1;
	ts.tv_sec = wait_ms / 1000;
	ts.tv_nsec = (wait_ms % 1000) * 1000000;
	sig = sigtimedwait(set, &si, &ts);
	if ((sig == SIGTERM || sig == SIGINT) && !lp->stopping) {
		(void) sdnotify_send("STOPPING=1");
		lp->stop_deadline = slots_drain(sig);
		lp->stopping = true;
	} else if (sig == SIGHUP && !lp->stopping) {
		(void) sdnotify_send("RELOADING=1");
		reload();
		(void) sdnotify_send("READY=1");
	}
}

/* The loop of the header comment: fill slots, beat, wait for a signal or
 * the next deadline, reap; until drained. */
static void
serve(int bell_fd, const sigset_t *set, const sigset_t *oldmask,
    int64_t next_gc)
{
	struct loop lp = { .next_gc = next_gc };

	for (;;) {
		int64_t now = time_mono_ms(), wake = now + HEARTBEAT_MS;
		int alive = slots_fill(lp.stopping, bell_fd, oldmask, now,
		    &wake);

		/* Slots above a reduced count were told to retire; they are
		 * not replaced. */
		if (lp.stopping && alive == 0 && !slots_collecting())
			break;
		wake = loop_timers(&lp, oldmask, now, wake);
		loop_signal(&lp, set, wake - now);
		slots_reap_all(lp.stopping);
	}
}

int
main(int argc, char **argv)
{
	sigset_t set, oldmask;
	int bell_fd = -1, r;
	int64_t next_gc;

	if ((r = configure(argc, argv)) >= 0)
		return r;
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
	log_info("starting %d slot(s)", sup_cur.slots);
	next_gc = time_mono_ms() + sup_cur.gc_interval_ms;
	/* The database is open and migrated, stale jobs ended, the doorbell
	 * bound: ready (sd_notify(3), a no-op outside systemd). */
	(void) sdnotify_sendf("READY=1\nSTATUS=running %d slot(s)",
	    sup_cur.slots);
	serve(bell_fd, &set, &oldmask, next_gc);
	/* Every worker is gone: what is left under DATA/work is a leftover
	 * of a worker that was killed mid-job. */
	sweeps_workspaces();
	sweeps_gone();
	if (sup_cur.doorbell[0])
		(void) unlink(sup_cur.doorbell);
	log_info("stopped");
	return 0;
}
