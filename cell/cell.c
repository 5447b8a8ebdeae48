/* cell.c - what every cell backend shares: the table of backends, the
 * host's cgroup hierarchies, and the cell's own cgroup (create, usage,
 * destroy). Runs in jobcell-worker processes and in the supervisor. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cell_int.h"
#include "cleanup.h"
#include "log.h"
#include "privs.h"
#include "banned.h"

struct cgroup_root cell_cg_root;
struct cell_host_config cell_host;

const char *const cell_proc_masked[] = {
	/* Docker's default list */
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi",
	/* ours: the host's kernel, disks, locks, devices and memory */
	"/proc/config.gz", "/proc/locks", "/proc/diskstats",
	"/proc/partitions", "/proc/interrupts", "/proc/kallsyms",
	"/proc/modules", "/proc/swaps", "/proc/buddyinfo", "/proc/zoneinfo",
	"/proc/pagetypeinfo", "/proc/vmallocinfo", "/proc/iomem",
	"/proc/ioports", "/proc/slabinfo", "/proc/mtrr", "/proc/driver",
	"/proc/irq", "/proc/bus", "/proc/tty",
};
const size_t cell_proc_masked_n = ARRAY_SIZE(cell_proc_masked);

static const struct cell_ops *const backends[] = {
	&cell_ns_ops,
	&cell_docker_ops,
	&cell_swarm_ops,
};

const struct cell_ops *
cell_backend_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(backends); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

int
cell_host_init(const struct cell_host_config *cfg, int *ret_cgroup_version,
    char *msg, size_t size)
{
	int r;

	if (cfg)
		cell_host = *cfg;
	if ((r = cgroup_root_init(&cell_cg_root)) < 0) {
		(void) snprintf(msg, size, "no usable cgroup hierarchies: need "
		    "memory, pids and cpu (v2, or v1 mounted under "
		    "/sys/fs/cgroup)");
		return r;
	}
	if (ret_cgroup_version)
		*ret_cgroup_version = cell_cg_root.version == CGROUP_V2 ? 2 : 1;
	return 0;
}

int
cell_host_limit_worker(void)
{
	return privs_worker_limit();
}

int
cell_host_sweep_cgroups(bool (*gone)(const char *job_id, void *arg),
    void *arg)
{
	return cgroup_sweep(&cell_cg_root, gone, arg);
}

int
cell_cgroup_create(const struct cell_spec *spec, struct cgroup *ret)
{
	struct cgroup_limits lim = {
		.memory_mb = spec->memory_mb,
		/* + 1: the cell's init counts against pids.max too. */
		.pids = spec->pids + 1,
		.cpus = spec->cpus,
	};

	return cgroup_create(&cell_cg_root, spec->job_id, &lim, ret);
}

/* The kernel sends the OOM killer's SIGKILL before it counts the kill
 * (mm/oom_kill.c, __oom_kill_process: the signal, then the report, then
 * the memcg event), and the report can take long on a slow console: the
 * worker may reap the cell and read the counter in between, which made a
 * docker memory bomb end failed with 137 and oom_killed false (issue 12).
 * For a cell that died of SIGKILL the counter is read again until it
 * moves or this bound passes. */
#define OOM_SETTLE_MS 1000
#define OOM_SETTLE_STEP_MS 10

void
cell_cgroup_usage(const char *job_id, const struct cgroup *cg,
    bool sigkilled, struct cell_usage *ret)
{
	struct cgroup_usage u;
	int r;

	for (int waited = 0;; waited += OOM_SETTLE_STEP_MS) {
		if ((r = cgroup_read_usage(cg, &u)) < 0) {
			log_warn("job=%s: cannot read cgroup usage: %s, "
			    "ignoring", job_id, strerror(-r));
			break;
		}
		if (u.oom_killed || !sigkilled || waited >= OOM_SETTLE_MS)
			break;
		(void) poll(NULL, 0, OOM_SETTLE_STEP_MS);
	}
	ret->has_usage = true;
	ret->cpu_ms = (int64_t) u.cpu_ms;
	ret->max_rss_kb = (int64_t) u.max_rss_kb;
	ret->oom_killed = u.oom_killed;
}

void
cell_cgroup_destroy(const char *job_id, struct cgroup *cg, bool everywhere)
{
	int r;

	if ((r = cgroup_destroy(cg)) < 0)
		log_err("job=%s: cannot remove the cgroup: %s", job_id,
		    strerror(-r));
	if (everywhere && (r = cgroup_remove_everywhere(&cell_cg_root,
	    job_id)) < 0)
		log_warn("job=%s: cannot remove the cgroups docker made: %s; "
		    "the supervisor's sweep will", job_id, strerror(-r));
}
