/* main.c - jobcell-api: a FastCGI responder on a unix socket behind nginx.
 * A fixed pool of threads, each with its own FCGX_Request and SQLite
 * connection, accepts requests; a request that waits for a job is parked
 * (park.c) and the thread takes a fresh FCGX_Request, so waiters never
 * hold the pool (issue 12). The main thread only waits for SIGTERM or
 * SIGINT (libfcgi's own handling would leave threads blocked in accept,
 * DESIGN section 8) and then exits, or for SIGHUP: re-read the config and
 * apply [limits] and max_streams to requests that start from then on (db,
 * socket, doorbell and threads need a restart). Commits are atomic, so a request cut
 * off by shutdown leaves no half-written row. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "db.h"
#include "log.h"
#include "parse.h"
#include "sdnotify.h"
#include "banned.h"

static const char *arg_config;
static const char *arg_db;
static const char *arg_socket;
static const char *arg_doorbell;
static int64_t arg_threads = -1;
static int64_t arg_max_streams = -1;

static struct config cfg;

/* Written by the main thread at start and on SIGHUP under server_lock;
 * each request copies it under the read lock and uses its copy. */
static struct api_server server;
static pthread_rwlock_t server_lock = PTHREAD_RWLOCK_INITIALIZER;
static int listen_fd = -1;
static bool socket_activated;	/* listen_fd came from systemd: keep the path */

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: jobcell-api [--config FILE] --db PATH --socket PATH [OPTION]...\n"
	    "Serve the jobcell HTTP API as a FastCGI responder on a unix socket\n"
	    "(nginx terminates TLS and authenticates in front of it).\n\n"
	    "  --config FILE     the config file (default " CONFIG_DEFAULT_PATH "\n"
	    "                    if it exists); flags override it\n"
	    "  --db PATH         the SQLite database (created by jobcell-admin init)\n"
	    "  --socket PATH     the unix socket to listen on (mode 0660)\n"
	    "  --threads N       request threads, 1..%d (default 8)\n"
	    "  --doorbell PATH   the worker's doorbell socket, rung after each\n"
	    "                    submission so a free slot starts it at once\n"
	    "  --max-streams N   concurrent log follow streams (default 64); past\n"
	    "                    it followers get 503\n"
	    "SIGHUP re-reads the config: [limits], max_streams and the\n"
	    "per-consumer shares apply to the requests that start from then on.\n\n"
	    "  --verbose         log debug lines\n"
	    "  --help            show this help and exit\n"
	    "  --version         show the version and exit\n", JC_MAX_THREADS);
}

static void
dispatch(struct req *rq)
{
	struct route_match m;
	struct api_err err = { 0 };
	const char *auth = req_param(rq, "JOBCELL_AUTH");
	const char *consumer = req_param(rq, "JOBCELL_CONSUMER");
	int r;

	if (auth && (strcmp(auth, "1") == 0 || strcmp(auth, "optional") == 0)) {
		(void) auth_handle(rq, strcmp(auth, "optional") == 0);
		return;
	}
	r = router_match(rq->method, rq->path, &m);
	if (r == -ENOENT) {
		api_err_set(&err, 404, "not_found", "no such endpoint");
		goto error;
	}
	if (r == -EPERM) {
		api_err_set(&err, 405, "method_not_allowed",
		    "method %s is not allowed here; use %s",
		    rq->method, m.allow);
		(void) str_copy(err.allow, sizeof(err.allow), m.allow);
		goto error;
	}
	if (m.id == ROUTE_HEALTH) {
		r = health_handle(rq, &err);
		goto done;
	}
	/* No consumer: nginx passes /metrics only from where the operator
	 * allows (the installed site: loopback). */
	if (m.id == ROUTE_METRICS) {
		r = metrics_handle(rq, &err);
		goto done;
	}
	/* Identity only from the param nginx sets after auth_request. */
	if (!consumer || parse_i64(consumer, 1, INT64_MAX,
	    &rq->consumer_id) < 0) {
		api_err_set(&err, 401, "unauthorized",
		    "a valid API key is required");
		goto error;
	}
	switch (m.id) {
	case ROUTE_ME:
		r = me_handle(rq, &err);
		break;
	case ROUTE_JOBS_CREATE:
		r = jobs_create(rq, &err);
		break;
	case ROUTE_JOBS_LIST:
		r = jobs_list(rq, &err);
		break;
	case ROUTE_JOB_GET:
		r = jobs_get(rq, m.job_id, &err);
		break;
	case ROUTE_JOB_CANCEL:
		r = jobs_cancel(rq, m.job_id, &err);
		break;
	case ROUTE_JOB_LOGS:
		r = logs_page(rq, m.job_id, &err);
		break;
	case ROUTE_JOB_OUTPUT:
		r = logs_output(rq, m.job_id, &err);
		break;
	case ROUTE_RUN:
		r = jobs_run(rq, &err);
		break;
	case ROUTE_BLOB_PUT:
		r = blobs_put(rq, m.job_id, &err);
		break;
	case ROUTE_BLOB_HEAD:
		r = blobs_head(rq, m.job_id, &err);
		break;
	case ROUTE_JOB_ARTIFACTS:
		r = artifacts_list(rq, m.job_id, &err);
		break;
	case ROUTE_JOB_ARTIFACT:
		r = artifacts_get(rq, m.job_id, m.rest, &err);
		break;
	case ROUTE_RUNTIMES:
		r = runtimes_handle(rq, &err);
		break;
	case ROUTE_IMAGES_CREATE:
		r = images_create(rq, &err);
		break;
	case ROUTE_IMAGES_LIST:
		r = images_list(rq, &err);
		break;
	case ROUTE_IMAGE_DELETE:
		r = images_delete(rq, m.rest, &err);
		break;
	case ROUTE_PISTON_RUNTIMES:
		r = piston_runtimes(rq, &err);
		break;
	case ROUTE_PISTON_EXECUTE:
		r = piston_execute(rq, &err);
		break;
	case ROUTE_HEALTH:
	case ROUTE_METRICS:
	default:
		r = api_err_set(&err, 404, "not_found", "no such endpoint");
		break;
	}
done:
	if (r >= 0)
		return;
error:
	if (err.status == 0)
		api_err_internal(&err, r);
	if (err.status >= 500)
		log_warn("%s %s: %d %s: %s", rq->method, rq->path, err.status,
		    err.code, err.message);
	/* Piston's API answers errors in its own shape (issue 14). */
	if (strncmp(rq->path, "/api/v2/", 8) == 0)
		(void) piston_error(rq, &err);
	else
		(void) reply_error(rq, &err);
}

/* The route a request counts under in /metrics (router.c is pure). */
static int
metrics_route(const struct req *rq)
{
	const char *auth = req_param(rq, "JOBCELL_AUTH");
	struct route_match m;

	if (auth && strcmp(auth, "1") == 0)
		return METRICS_ROUTE_AUTH;
	if (router_match(rq->method, rq->path, &m) < 0)
		return METRICS_ROUTE_NONE;
	return (int) m.id;
}

/* A fresh FCGX_Request for this thread: one per connection it accepts,
 * since a parked request keeps its own (park.c). Retries while memory is
 * short rather than ending every connection in flight. */
static FCGX_Request *
request_new(void)
{
	for (;;) {
		FCGX_Request *fr = calloc(1, sizeof(*fr));

		if (fr && FCGX_InitRequest(fr, listen_fd,
		    FCGI_FAIL_ACCEPT_ON_INTR) == 0)
			return fr;
		free(fr);
		log_warn("cannot initialise a FastCGI request: out of memory, "
		    "retrying");
		(void) usleep(100000);
	}
}

int
api_thread_start(void *(*fn)(void *), const char *db_path, const char *what,
    char *errmsg, size_t size)
{
	pthread_t t;
	sqlite3 *db = NULL;
	int r;

	if ((r = db_open(db_path, 0, 0, &db, errmsg, size)) < 0)
		return r;
	if ((r = pthread_create(&t, NULL, fn, db)) != 0) {
		char ebuf[128];

		/* GNU strerror_r (_GNU_SOURCE via config.h) returns the text. */
		(void) snprintf(errmsg, size, "cannot start %s: %s", what,
		    strerror_r(r, ebuf, sizeof(ebuf)));
		db = db_close(db);
		return -r;
	}
	(void) pthread_detach(t);
	return 0;
}

static void *
thread_main(void *arg)
{
	FCGX_Request *fr;
	struct api_server srv;
	sqlite3 *db = NULL;
	char errmsg[256];
	int r, route;

	(void) arg;
	if ((r = db_open(server.db_path, 0, 0, &db, errmsg, sizeof(errmsg))) < 0) {
		log_err("cannot open the database: %s", errmsg);
		exit(EXIT_FAILURE);	/* before serving: a broken start */
	}
	/* One connection a thread: bound each one's page cache (SQLite's
	 * default is 2 MiB, x 64 threads); the OS page cache holds the file
	 * anyway. */
	if ((r = db_exec(db, "PRAGMA cache_size=" API_DB_CACHE_KIB)) < 0)
		log_warn("cannot bound the connection's cache, ignoring");
	fr = request_new();
	for (;;) {
		struct req rq = { 0 };

		if (FCGX_Accept_r(fr) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("accept failed, retrying");
			(void) usleep(10000);
			continue;
		}
		(void) pthread_rwlock_rdlock(&server_lock);
		srv = server;
		(void) pthread_rwlock_unlock(&server_lock);
		rq.fcgi = fr;
		rq.srv = &srv;
		rq.db = db;
		rq.method = req_param(&rq, "REQUEST_METHOD");
		rq.path = req_param(&rq, "DOCUMENT_URI");
		if (!rq.path)
			rq.path = req_param(&rq, "SCRIPT_NAME");
		rq.query = req_param(&rq, "QUERY_STRING");
		if (!rq.query)
			rq.query = "";
		strbuf_init(&rq.body, JC_MAX_BODY_BYTES);
		route = metrics_route(&rq);
		metrics_request_begin(route);
		dispatch(&rq);
		metrics_request_end(route, rq.status);
		strbuf_release(&rq.body);
		if (rq.parked)
			fr = request_new();	/* the old one is park.c's */
		else
			FCGX_Finish_r(fr);
	}
	return NULL;
}

/* Streams and waiters hold no thread (park.c), only a connection each:
 * the defaults bound those, and one consumer gets a share of them. */
#define DEFAULT_MAX_STREAMS 64
#define DEFAULT_MAX_WAITERS 64
#define DEFAULT_SHARE 8

static int
max_streams(const struct config *c)
{
	if (arg_max_streams > 0)
		return (int) arg_max_streams;
	if (c->api_max_streams > 0)
		return (int) c->api_max_streams;
	return DEFAULT_MAX_STREAMS;
}

static void
set_shares(struct api_server *s, const struct config *c)
{
	s->max_streams = max_streams(c);
	s->max_streams_per_consumer = c->api_max_streams_per_consumer > 0 ?
	    (int) c->api_max_streams_per_consumer : DEFAULT_SHARE;
	s->max_waiters = c->api_max_waiters > 0 ? (int) c->api_max_waiters :
	    DEFAULT_MAX_WAITERS;
	s->max_waiters_per_consumer = c->api_max_waiters_per_consumer > 0 ?
	    (int) c->api_max_waiters_per_consumer : DEFAULT_SHARE;
	s->max_blob_mb = c->storage_max_blob_mb;
	/* Space comes back when the collector runs. */
	s->retry_storage_s = (int) c->retention_gc_interval_s;
}

/* SIGHUP: the keys that can change live, for requests from now on. */
static void
reload(void)
{
	static struct config next;	/* main thread only */
	char errmsg[512];

	/* sd_notify(3): a no-op outside systemd. */
	(void) sdnotify_send("RELOADING=1");
	if (config_resolve(arg_config, &next, errmsg, sizeof(errmsg)) < 0) {
		log_err("SIGHUP: cannot reload the config: %s; keeping the "
		    "running one", errmsg);
		(void) sdnotify_send("READY=1");
		return;
	}
	if (strcmp(next.api_db, cfg.api_db) != 0 ||
	    strcmp(next.api_socket, cfg.api_socket) != 0 ||
	    strcmp(next.api_doorbell, cfg.api_doorbell) != 0 ||
	    next.api_threads != cfg.api_threads)
		log_warn("SIGHUP: db, socket, doorbell or threads changed; they "
		    "take effect at the next restart, ignoring");
	(void) pthread_rwlock_wrlock(&server_lock);
	server.limits = next.limits;
	server.has_data_dir = next.storage_data_dir[0] != '\0';
	set_shares(&server, &next);
	(void) pthread_rwlock_unlock(&server_lock);
	log_info("SIGHUP: config reloaded: max_streams=%d "
	    "max_streams_per_consumer=%d max_waiters=%d "
	    "max_waiters_per_consumer=%d timeout_max=%lld "
	    "memory_max_mb=%lld disk_max_mb=%lld network=%s",
	    server.max_streams, server.max_streams_per_consumer,
	    server.max_waiters, server.max_waiters_per_consumer,
	    (long long) next.limits.timeout_max_s,
	    (long long) next.limits.memory_max_mb,
	    (long long) next.limits.disk_max_mb,
	    next.limits.network_allowed ? "true" : "false");
	(void) sdnotify_send("READY=1");
}

static int
open_listen_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	mode_t old;
	int r;

	if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0)
		return -ENAMETOOLONG;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	old = umask(0117);	/* the socket is born 0660 */
	r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
	(void) umask(old);
	if (r < 0)
		return -errno;
	if (listen(fd, 128) < 0)
		return -errno;
	return steal_fd(&fd);
}

/* The FastCGI socket: from systemd (jobcell-api.socket, sd_listen_fds(3)),
 * else created at path. */
static int
listen_socket(const char *path)
{
	int n = sdnotify_listen_fds(); /* unsets LISTEN_*: not for children */

	if (n < 0)
		return n;
	if (n == 0)
		return open_listen_socket(path);
	if (n > 1 || !sdnotify_is_unix_listener(SDNOTIFY_LISTEN_FDS_START))
		return -EBADF;	/* a unit passing something else is wrong */
	if (fcntl(SDNOTIFY_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	socket_activated = true;
	return SDNOTIFY_LISTEN_FDS_START;
}

/* The command line into the arg_* globals. Returns -1 to go on, else the
 * exit status (0 after --help or --version). */
static int
parse_args(int argc, char **argv, bool *verbose)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "doorbell", required_argument, NULL, 'b' },
		{ "max-streams", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': arg_config = optarg; break;
		case 'd': arg_db = optarg; break;
		case 's': arg_socket = optarg; break;
		case 'b': arg_doorbell = optarg; break;
		case 'v':
			*verbose = true;
			break;
		case 't':
			if (parse_i64(optarg, 1, JC_MAX_THREADS, &arg_threads) < 0) {
				fprintf(stderr, "jobcell-api: --threads must be "
				    "1..%d, not '%s'\n", JC_MAX_THREADS, optarg);
				return 2;
			}
			break;
		case 'm':
			if (parse_i64(optarg, 1, JC_MAX_STREAMS,
			    &arg_max_streams) < 0) {
				fprintf(stderr, "jobcell-api: --max-streams must "
				    "be 1..%d, not '%s'\n", JC_MAX_STREAMS, optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("jobcell-api %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "jobcell-api: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The config file under the flags (flags win), the log, and the server
 * every request copies. Returns -1 to go on, else the exit status. */
static int
settings_load(bool verbose)
{
	enum log_level level = LOG_LEVEL_INFO;
	char errmsg[256];

	if (config_resolve(arg_config, &cfg, errmsg, sizeof(errmsg)) < 0) {
		fprintf(stderr, "jobcell-api: %s\n", errmsg);
		return 1;
	}
	if (!arg_db && cfg.api_db[0])
		arg_db = cfg.api_db;
	if (!arg_socket && cfg.api_socket[0])
		arg_socket = cfg.api_socket;
	if (!arg_doorbell && cfg.api_doorbell[0])
		arg_doorbell = cfg.api_doorbell;
	if (arg_threads < 0)
		arg_threads = cfg.api_threads;
	if (!arg_db || !arg_socket) {
		fprintf(stderr, "jobcell-api: --db and --socket are required "
		    "(or db and socket in [api] of the config file)\n");
		usage(stderr);
		return 2;
	}
	/* --verbose, else [api] log_level (checked by config_load). */
	if (verbose)
		level = LOG_LEVEL_DEBUG;
	else if (cfg.api_log_level[0])
		(void) log_level_from_name(cfg.api_log_level, &level);
	log_setup("jobcell-api", level);
	server.db_path = arg_db;
	server.doorbell_path = arg_doorbell;
	server.doorbell_fd = -1;
	server.limits = cfg.limits;
	/* data_dir needs a restart (SIGHUP keeps this one). */
	server.data_dir = cfg.storage_data_dir;
	server.has_data_dir = cfg.storage_data_dir[0] != '\0';
	set_shares(&server, &cfg);
	return -1;
}

/* Memory: SQLite's per-connection caches and glibc's arenas, sized for
 * many threads that each allocate little. Before the first connection. */
static void
tune_memory(void)
{
	/* One connection a thread, and each one allocates at open a
	 * lookaside (120 KiB by default) and a bulk page cache (20 pages,
	 * ~86 KiB): x 64 threads that was most of the idle RSS (issue 17).
	 * 8 KiB of lookaside, pages one by one (as the worker:
	 * supervisor.c). Before SQLite initialises. */
	if (sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 128, 64) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *) NULL, 0, 0) !=
		SQLITE_OK)
		log_warn(
		    "cannot size SQLite's per-connection memory, ignoring");
	/* glibc gives each thread that allocates an arena of its own (up to
	 * 8 x cores), each keeping freed memory: with 64 threads that was
	 * most of the idle RSS (issue 17). Requests allocate little; two
	 * arenas are plenty for two cores. */
	(void) mallopt(M_ARENA_MAX, 2);
	/* A fixed threshold (glibc raises it after each big free, up to
	 * 32 MiB, and keeps what it frees in the arena): buffers of a log
	 * page or a reply over 256 KiB are mapped and given back at free, so
	 * 8 clients paging a big log leave nothing behind. */
	(void) mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

/* The writer, the waiters' loop and the request threads. */
static int
start_threads(void)
{
	pthread_t thread;
	pthread_attr_t attr;
	char errmsg[256];
	int r;

	if (FCGX_Init() != 0) {
		log_err("cannot initialise libfcgi");
		return -EIO;
	}
	if ((r = jobs_writer_start(&server, errmsg, sizeof(errmsg))) < 0) {
		log_err("cannot start the writer: %s", errmsg);
		return r;
	}
	if ((r = park_start(arg_db, errmsg, sizeof(errmsg))) < 0) {
		log_err("cannot start the waiters' loop: %s", errmsg);
		return r;
	}
	/* Sized stacks (the default is 8 MiB of address space a thread,
	 * RLIMIT_STACK): a request needs a few tens of KiB (its largest
	 * frame is request.c's 16 KiB read buffer, then SQLite's own). */
	if ((r = pthread_attr_init(&attr)) != 0 ||
	    (r = pthread_attr_setstacksize(&attr, API_THREAD_STACK_BYTES)) !=
		0) {
		log_errno(-r, "cannot size the threads' stacks");
		return -r;
	}
	/* Detached: they run until the process exits. */
	if ((r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED)) !=
	    0) {
		log_errno(-r, "cannot detach the threads");
		return -r;
	}
	for (int64_t i = 0; i < arg_threads; i++)
		if ((r = pthread_create(&thread, &attr, thread_main, NULL))) {
			log_errno(-r, "cannot start a thread");
			return -r;
		}
	(void) pthread_attr_destroy(&attr);
	return 0;
}

int
main(int argc, char **argv)
{
	bool verbose = false;
	sigset_t set;
	sqlite3 *db = NULL;
	char errmsg[256];
	int sig, r;

	if ((r = parse_args(argc, argv, &verbose)) >= 0 ||
	    (r = settings_load(verbose)) >= 0)
		return r;
	tune_memory();
	/* Check the database once before serving, to fail loudly. */
	if ((r = db_open(arg_db, 0, 0, &db, errmsg, sizeof(errmsg))) < 0) {
		log_err("cannot open the database: %s", errmsg);
		return 1;
	}
	db = db_close(db);
	if (arg_doorbell && (server.doorbell_fd = socket(AF_UNIX,
	    SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		log_warn("cannot create the doorbell socket: %s, ignoring",
		    strerror(errno));
	if ((listen_fd = listen_socket(arg_socket)) < 0) {
		log_errno(listen_fd, "cannot listen on '%s'", arg_socket);
		return 1;
	}
	/* Writes to a vanished nginx connection must fail, not kill us. */
	(void) signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Before any thread starts, so that every one inherits the mask and
	 * only sigwait below takes these signals. */
	if ((r = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0) {
		log_errno(-r, "cannot block signals");
		return 1;
	}
	if (start_threads() < 0)
		return 1;
	log_info("serving on '%s'%s with %lld threads", arg_socket,
	    socket_activated ? " (from systemd)" : "", (long long) arg_threads);
	/* The database opened and the socket listens: ready for nginx. */
	(void) sdnotify_sendf("READY=1\nSTATUS=serving with %lld threads",
	    (long long) arg_threads);
	for (;;) {
		if ((r = sigwait(&set, &sig)) != 0)
			continue;
		if (sig == SIGHUP) {
			reload();
			continue;
		}
		break;
	}
	log_info("signal %d: stopping", sig);
	(void) sdnotify_send("STOPPING=1");
	if (!socket_activated)
		(void) unlink(arg_socket);
	/* Threads may sit in accept or mid-request; their transactions are
	 * atomic, so ending the process now loses nothing committed. */
	_exit(0);
}
