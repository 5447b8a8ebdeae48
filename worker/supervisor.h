/* supervisor.h - private interfaces of jobcell-worker's supervisor process:
 * its settings and options (supervisor.c), its children, the slot table and
 * the collector (slots.c), and its sweeps and heartbeat (sweeps.c). The
 * supervisor is single-threaded; workers get copies through fork(). */
#ifndef JOBCELL_SUPERVISOR_H
#define JOBCELL_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include "jc_config.h"
#include "worker.h"

#define HEARTBEAT_MS 5000
/* Slots [0, slots) run local jobs (namespace, docker); slots
 * [JC_MAX_SLOTS, JC_MAX_SLOTS + swarm_slots) swarm jobs, so that swarm
 * jobs in flight never take a local slot (issue 16). */
#define NSLOTS (2 * JC_MAX_SLOTS)

/* What the workers run with: the config file, then the flags over it. */
struct settings {
	char db[CONFIG_PATH_MAX];
	char doorbell[CONFIG_PATH_MAX]; /* "" if none */
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

static inline int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* supervisor.c: set by main before the first worker and by a reload;
 * read by slots.c and sweeps.c. The backends (docker, swarm) come from
 * the first load only: the workers hold these pointers. */
extern struct settings sup_cur;
extern unsigned sup_sandboxes;	      /* SANDBOX_* this supervisor runs */
extern const char *arg_docker_socket; /* NULL: no docker */
extern const char *arg_docker_image;
extern const char *arg_swarm_endpoint;	       /* NULL: no swarm */
extern char sup_swarm_tls[3][CONFIG_PATH_MAX]; /* ca, cert, key; "": none */
extern char sup_docker_unpacker[JC_PATH_MAX];  /* "": not found */
extern bool arg_cold_cells; /* --cold-cells: no warm cells (ns_pool.c) */

/* slots.c: the workers of the slots and the collector child. */
/* Forks a worker for each empty slot whose restart time has come (none if
 * stopping); how many slots have a worker. *wake: lowered to the next
 * restart time. */
int slots_fill(bool stopping, int bell_fd, const sigset_t *oldmask, int64_t now,
    int64_t *wake);
/* Reaps every child that has exited, ends its job, schedules its
 * replacement (on every wakeup: SIGCHLD may coalesce). */
void slots_reap_all(bool stopping);
/* SIGTERM or SIGINT: every worker and the collector stop; returns when to
 * give up on them (mono ms). */
int64_t slots_drain(int sig);
/* Past that deadline: SIGKILL to every worker. */
void slots_kill_all(void);
/* SIGHUP: every worker finishes its job and is replaced at once. */
void slots_retire_all(void);
/* A worker whose job's lease expired: SIGKILL if it is one of ours. */
void slots_kill_hung(pid_t pid);
/* Starts a collector pass unless one still runs; when the next is due. */
int64_t slots_collect(const sigset_t *oldmask, int64_t now);
/* A collector pass is running. */
bool slots_collecting(void);

/* sweeps.c: each opens the database for its moment only, logs its own
 * failure. */
/* At start, before any worker: reaps the cells of a previous run's jobs
 * and ends them; 0, or -errno. Then removes finished jobs' cgroups. */
int sweeps_startup(void);
/* The heartbeat row, after killing workers whose lease expired. */
void sweeps_heartbeat(void);
/* Pings the docker daemon / the swarm manager (logging each change) and,
 * if it answers, sweeps the containers / services left by gone workers. */
void sweeps_docker_beat(void);
void sweeps_swarm_beat(void);
/* Probes and publishes the runtimes of sup_cur.runtimes_dir. */
void sweeps_runtimes(void);
/* Only while no worker runs (start, stop): removes every disk workspace
 * (workspace.c) left by a worker that died mid-job. */
void sweeps_workspaces(void);
/* A worker exited: its jobs end "worker lost", its cgroups go. */
void sweeps_worker_lost(pid_t pid);
/* At stop: drops this supervisor's rows. */
void sweeps_gone(void);

#endif
