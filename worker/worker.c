/* worker.c - one jobcell-worker process (forked by the supervisor): the
 * claim/doorbell loop. Claims a job, runs it (job_run.c: in a cell of its
 * backend, through cell/cell.h's ops table), and claims the next one with
 * the result's commit; sleeps in poll() on the doorbell when there is no
 * work. Single-threaded. Trusts the database and its supervisor. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cell.h"
#include "cleanup.h"
#include "db.h"
#include "log.h"
#include "worker.h"
#include "banned.h"

#define STORE_RETRIES 50	/* x 100 ms: a give-back waits on a busy db */

volatile sig_atomic_t worker_draining;
volatile sig_atomic_t worker_retiring;

/* TERM, INT and USR1 are blocked except inside ppoll() with this mask, so
 * one that arrives between a check of the flags and the wait still ends
 * the wait (no lost wake-up). */
static sigset_t wait_mask;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		worker_retiring = 1;
	else
		worker_draining = 1;
}

int
worker_ppoll_ms(struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

	return ppoll(pfd, n, timeout_ms < 0 ? NULL : &ts, &wait_mask);
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
		(void) worker_ppoll_ms(NULL, 0, WORKER_IDLE_POLL_MS);
		return;
	}
	if (worker_ppoll_ms(&p, 1, WORKER_IDLE_POLL_MS) <= 0)
		return;
	/* Every idle worker wakes; each drains what it can and tries to claim:
	 * whoever loses the claim race just sleeps again. */
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

void
worker_warm_cell(const struct worker_config *cfg, uint64_t disk_mb)
{
	static uint64_t last_disk_mb = WORKER_WARM_DISK_MB;
	struct cell_pool_config pc = {
		.host_uid = cfg->uid_base + (uid_t) cfg->slot,
		.host_gid = cfg->uid_base + (gid_t) cfg->slot,
	};
	int r;

	if (!cfg->warm_cells || worker_draining || worker_retiring)
		return;
	if (disk_mb > 0)
		last_disk_mb = disk_mb; /* most jobs take the default */
	pc.disk_mb = last_disk_mb;
	/* The workspace first: its helper works while we clone. */
	if (cfg->data_dir)
		cell_workspace_pool_prepare(last_disk_mb, pc.host_uid,
		    pc.host_gid);
	if ((r = cell_pool_prepare(&pc)) < 0 && r != -EHOSTDOWN)
		log_warn("slot %d: cannot prepare a warm cell: %s, ignoring",
		    cfg->slot, strerror(-r));
}

/* Signals, the parent-death link, the database, the cell host (limited
 * capabilities, cgroups) and the log buffer. 0, or -1 after logging: the
 * worker exits 1. */
static int
worker_setup(const struct worker_config *cfg, sqlite3 **ret_db,
    struct logcap *lc)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct cell_host_config host = {
		.docker_socket = cfg->docker_socket,
		.docker_image = cfg->docker_image,
		.docker_unpacker = cfg->docker_unpacker,
		.swarm_endpoint = cfg->swarm_endpoint,
		.swarm_tls_ca = cfg->swarm_tls_ca,
		.swarm_tls_cert = cfg->swarm_tls_cert,
		.swarm_tls_key = cfg->swarm_tls_key,
	};
	sqlite3 *db = NULL;
	sigset_t block;
	char errmsg[256];
	int r;

	/* The supervisor's death ends us (and, through our cells' own
	 * PDEATHSIG, every cell). If it died before the prctl, we were
	 * reparented already: never run without it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
	    getppid() != cfg->supervisor_pid)
		return -1;
	jobstore_claim_scope(cfg->supervisor_pid, cfg->swarm_slot);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &block, &wait_mask) < 0)
		return -1;
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGUSR1);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGUSR1, &sa, NULL) < 0)
		return -1;
	(void) signal(SIGHUP, SIG_IGN);
	(void) signal(SIGPIPE, SIG_IGN);
	if ((r = cell_host_limit_worker()) < 0) {
		log_errno(r, "slot %d: cannot limit the worker's capabilities",
		    cfg->slot);
		return -1;
	}
	if ((r = cell_host_init(&host, NULL, errmsg, sizeof(errmsg))) < 0) {
		log_errno(r, "slot %d: no usable cgroup hierarchies (memory, pids, "
		    "cpu)", cfg->slot);
		return -1;
	}
	/* Before SQLite: the helper that clones warm cells keeps only this
	 * small memory (cell/ns_zygote.c). */
	if (cfg->warm_cells && (r = cell_pool_start_helper()) < 0)
		log_warn("slot %d: no warm cell helper: %s; the worker clones "
			 "them",
		    cfg->slot, strerror(-r));
	if (cfg->warm_cells && cfg->data_dir &&
	    (r = cell_workspace_pool_start(cfg->data_dir, cfg->slot)) < 0)
		log_warn("slot %d: no workspace pool: %s; workspaces are made "
			 "on the job's path",
		    cfg->slot, strerror(-r));
	if ((r = db_open(cfg->db_path, 0, 0, &db, errmsg, sizeof(errmsg))) <
	    0) {
		log_err("slot %d: cannot open the database: %s", cfg->slot,
		    errmsg);
		cell_pool_drop();
		cell_workspace_pool_stop();
		return -1;
	}
	if ((r = logcap_init(lc, cfg->output_cap)) < 0) {
		db = db_close(db);
		return -1;
	}
	*ret_db = db;
	return 0;
}

int
worker_main(const struct worker_config *cfg)
{
	struct claimed_job j = { 0 };
	struct logcap lc;
	bool idle_after_job = false;
	_cleanup_close_ int wal_fd = -1;
	sqlite3 *db = NULL;
	int r;

	if (worker_setup(cfg, &db, &lc) < 0)
		return 1;
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
				worker_warm_cell(cfg, 0);
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
				worker_warm_cell(cfg, 0);
				wait_for_bell(cfg->doorbell_fd);
				continue;
			}
		} else if (worker_draining || worker_retiring) {
			/* Claimed with the last result, just before the
			 * signal, and not started: back to the queue. */
			give_back(db, &j);
			break;
		}
		job_run(cfg, db, &j, &lc, &next, wal_fd);
		claimed_job_release(&j);
		j = next;
		idle_after_job = !j.id[0] && !worker_draining && !worker_retiring;
	}
	/* Reload (retire) and drain alike: nothing of a warm cell stays,
	 * nor of a pooled workspace (its helper's unmounts are waited for). */
	cell_pool_drop();
	cell_workspace_pool_stop();
	logcap_release(&lc);
	db = db_close(db);
	return 0;
}
