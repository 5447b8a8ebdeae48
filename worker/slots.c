/* slots.c - jobcell-worker's supervisor: its children. A worker per slot,
 * forked with the current settings, replaced when it dies (after a delay
 * that doubles while workers keep dying young) or retires on a reload;
 * one garbage collector child at a time. Runs as root, single-threaded. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cell.h"
#include "log.h"
#include "timefmt.h"
#include "supervisor.h"
#include "banned.h"

#define STOP_MARGIN_MS 5000  /* past drain + kill grace: SIGKILL workers */
#define RESTART_MIN_MS 200   /* first restart delay of a dead worker */
#define RESTART_MAX_MS 10000 /* ... doubling up to this */
#define YOUNG_MS 10000	     /* a worker dying younger doubles the delay */

struct slot {
	pid_t pid;     /* 0: none */
	bool retiring; /* sent SIGUSR1: replace it when it exits */
	int64_t started_mono;
	int64_t restart_at;    /* mono ms; when to fork again */
	int64_t restart_delay; /* ms, doubled while workers die young */
};

static struct slot slots[NSLOTS];

static pid_t gc_pid; /* the collector child running now, 0: none */

static pid_t
spawn(int slot, int bell_fd, const sigset_t *oldmask)
{
	struct worker_config cfg = {
		.db_path = sup_cur.db,
		.doorbell_fd = bell_fd,
		.slot = slot,
		.uid_base = (uid_t) sup_cur.uid_base,
		.output_cap = (uint64_t) sup_cur.output_cap,
		.kill_grace_ms = (int) sup_cur.kill_grace_ms,
		.drain_grace_ms = sup_cur.drain_grace_ms,
		.supervisor_pid = getpid(),
		.docker_socket = arg_docker_socket,
		.docker_image = arg_docker_image,
		.docker_unpacker = sup_docker_unpacker[0] ?
		    sup_docker_unpacker :
		    NULL,
		.data_dir = sup_cur.data_dir[0] ? sup_cur.data_dir : NULL,
		.artifacts_max_bytes = (uint64_t) sup_cur.artifacts_max_mb
		    << 20,
		.artifacts_max_files = (size_t) sup_cur.artifacts_max_files,
		.artifacts_keep_ms = sup_cur.artifacts_hours * 3600 * 1000,
		.warm_cells = !arg_cold_cells &&
		    (sup_sandboxes & SANDBOX_NAMESPACE),
		.swarm_endpoint = arg_swarm_endpoint,
		.swarm_tls_ca = sup_swarm_tls[0][0] ? sup_swarm_tls[0] : NULL,
		.swarm_tls_cert = sup_swarm_tls[1][0] ? sup_swarm_tls[1] : NULL,
		.swarm_tls_key = sup_swarm_tls[2][0] ? sup_swarm_tls[2] : NULL,
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
						  "exited with",
			    WIFSIGNALED(status) ? WTERMSIG(status) :
						  WEXITSTATUS(status));
		sweeps_worker_lost(pid);
		if (clean && sl->retiring) {
			sl->restart_at = now; /* a reload: replace it now */
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

void
slots_reap_all(bool stopping)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			break;
		reaped(pid, status, stopping);
	}
}

int
slots_fill(bool stopping, int bell_fd, const sigset_t *oldmask, int64_t now,
    int64_t *wake)
{
	int alive = 0;

	for (int i = 0; i < NSLOTS; i++) {
		struct slot *sl = &slots[i];

		if (sl->pid > 0) {
			alive++;
			continue;
		}
		if (stopping || (i < JC_MAX_SLOTS && i >= sup_cur.slots) ||
		    (i >= JC_MAX_SLOTS &&
			i - JC_MAX_SLOTS >= sup_cur.swarm_slots))
			continue;
		if (now < sl->restart_at) {
			*wake = min64(*wake, sl->restart_at);
			continue;
		}
		if ((sl->pid = spawn(i, bell_fd, oldmask)) < 0) {
			log_errno(sl->pid,
			    "slot %d: cannot fork, "
			    "retrying",
			    i);
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

int64_t
slots_drain(int sig)
{
	log_info("signal %d: draining (running jobs get %lld ms)", sig,
	    (long long) sup_cur.drain_grace_ms);
	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].pid > 0)
			(void) kill(slots[i].pid, SIGTERM);
	if (gc_pid > 0)
		(void) kill(gc_pid, SIGTERM); /* a pass may stop anywhere */
	return time_mono_ms() + sup_cur.drain_grace_ms + sup_cur.kill_grace_ms +
	    STOP_MARGIN_MS;
}

void
slots_kill_all(void)
{
	log_warn("workers did not stop in time, killing");
	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].pid > 0)
			(void) kill(slots[i].pid, SIGKILL);
}

void
slots_retire_all(void)
{
	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].pid > 0 && !slots[i].retiring) {
			slots[i].retiring = true;
			(void) kill(slots[i].pid, SIGUSR1);
		}
}

/* It cannot store a result over the error once dead; it is replaced like
 * any dead worker. */
void
slots_kill_hung(pid_t pid)
{
	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].pid == pid) {
			log_warn("slot %d: worker %ld let a job's "
				 "lease expire, killing it",
			    i, (long) pid);
			(void) kill(pid, SIGKILL);
		}
}

int64_t
slots_collect(const sigset_t *oldmask, int64_t now)
{
	struct collector_config c = {
		.db_path = sup_cur.db,
		.data_dir = sup_cur.data_dir,
		.jobs_days = sup_cur.jobs_days,
		.artifacts_hours = sup_cur.artifacts_hours,
		.blobs_hours = sup_cur.blobs_hours,
		.images_days = sup_cur.images_days,
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
	return now + sup_cur.gc_interval_ms;
}

bool
slots_collecting(void)
{
	return gc_pid != 0;
}
