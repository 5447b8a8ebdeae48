/* cgroup.h - the job's control group: memory (swap included), pids and CPU
 * limits, usage and OOM read-back, and removal (DESIGN section 5). Runs in
 * jobcell-worker processes (single-threaded, root). Cgroup v2 where the
 * unified hierarchy offers memory, pids and cpu, else v1 (one hierarchy per
 * controller, or co-mounted ones). Every cgroup we create is a leaf named
 * after the job under a "jobcell" directory of each hierarchy's root; we
 * never touch any other. Trusts the kernel's files; job ids are checked. */
#ifndef JOBCELL_CGROUP_H
#define JOBCELL_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_PARENT		"jobcell"	/* under each hierarchy root */
#define CGROUP_NAME_MAX		64		/* [A-Za-z0-9_-], a job id */
#define CGROUP_PATH_MAX		512
#define CGROUP_CPU_PERIOD_US	100000		/* quota = cpus x period */
#define CGROUP_DESTROY_MS	2000		/* kill + rmdir bound */

enum cgroup_version {
	CGROUP_NONE = 0,
	CGROUP_V1 = 1,
	CGROUP_V2 = 2,
};

/* The controllers we need; v1 may mount several in one hierarchy. */
enum cgroup_ctrl {
	CG_MEMORY,
	CG_PIDS,
	CG_CPU,
	CG_CPUACCT,	/* v1 only; v2 reads usage from cpu.stat */
	CG__MAX,
};

/* Where the hierarchies are. v1: mount[c] is the mount point holding
 * controller c ("" if absent); v2: unified is the cgroup2 mount. */
#define CGROUP_MOUNTS_MAX	24	/* cgroup mounts remembered in all[] */

struct cgroup_root {
	enum cgroup_version version;
	char mount[CG__MAX][CGROUP_PATH_MAX];
	char unified[CGROUP_PATH_MAX];
	/* Every cgroup mount whose root is "/" (v1 of any controller or name,
	 * and cgroup2), in mountinfo order: where a container runtime given
	 * a CgroupParent under ours creates directories too. */
	char all[CGROUP_MOUNTS_MAX][CGROUP_PATH_MAX];
	size_t nall;
};

struct cgroup_limits {
	uint64_t memory_mb;	/* RAM + swap; 0: none */
	uint64_t pids;		/* processes + threads; 0: none */
	uint64_t cpus;		/* whole CPUs of quota; 0: none */
};

struct cgroup_usage {
	uint64_t cpu_ms;
	uint64_t max_rss_kb;	/* peak memory of the cgroup */
	bool oom_killed;	/* the kernel OOM-killed a process in it */
};

/* One job's cgroup. ndirs distinct directories (v1: one per hierarchy we
 * use; v2: one); ctrl_dir[c] indexes dir[] for controller c, -1 if none. */
struct cgroup {
	enum cgroup_version version;
	size_t ndirs;
	char dir[CG__MAX][CGROUP_PATH_MAX];
	int dfd[CG__MAX];
	int ctrl_dir[CG__MAX];
};

/* ---- pure: no I/O, unit-tested (tests/unit/test_cgroup.c) ---- */

/* Fills ret from the text of /proc/self/mountinfo: the first v1 mount of
 * each controller whose root is "/" and the first cgroup2 mount. Mount
 * points are unescaped (\040 etc.). ret->version is left CGROUP_NONE (the
 * caller decides after looking at cgroup.controllers). 0, -ENOENT if no
 * cgroup mount at all, -ENAMETOOLONG. */
int cgroup_parse_mountinfo(const char *text, struct cgroup_root *ret);
/* True if the space-separated list (cgroup.controllers) names ctrl. */
bool cgroup_list_has(const char *list, const char *ctrl);
/* buf := mount "/" CGROUP_PARENT ["/" name]. name (NULL: the parent) must
 * be 1..CGROUP_NAME_MAX of [A-Za-z0-9_-] and not start with '-'.
 * 0, -EINVAL bad name, -ENAMETOOLONG. */
int cgroup_path(const char *mount, const char *name, char *buf, size_t size);
/* A leaf name we make or remove: [A-Za-z0-9_-], not starting with '-', at
 * most CGROUP_NAME_MAX bytes. */
bool cgroup_name_ok(const char *name);
/* A control file holding one number ("123\n"); "max" is UINT64_MAX.
 * 0, -EINVAL, -ERANGE. */
int cgroup_parse_u64(const char *text, uint64_t *ret);
/* The value of "key N" in a flat keyed file (memory.events, cpu.stat,
 * memory.oom_control). 0, -ENOENT no such key, -EINVAL, -ERANGE. */
int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret);

/* ---- the worker's side ---- */

/* Finds the hierarchies (reading /proc/self/mountinfo and v2's
 * cgroup.controllers) and creates the CGROUP_PARENT directories (enabling
 * v2's controllers for them). 0, -ENOENT (no usable memory+pids+cpu). */
int cgroup_root_init(struct cgroup_root *ret);
/* Creates the leaf cgroup "name" under each hierarchy and writes the
 * limits. On failure removes what it created. 0 or -errno (-EEXIST: a
 * cgroup of that name exists; we do not adopt it). */
int cgroup_create(const struct cgroup_root *root, const char *name,
    const struct cgroup_limits *lim, struct cgroup *ret);
/* Opens the existing leaf cgroup "name" (a previous run's, to destroy it
 * with cgroup_destroy), in the hierarchies that have it. 0, -ENOENT (in
 * none), or -errno. Added for the supervisor's start (sweeps.c). */
int cgroup_open(const struct cgroup_root *root, const char *name,
    struct cgroup *ret);
/* Moves pid into every hierarchy's leaf. 0 or -errno. */
int cgroup_attach(const struct cgroup *cg, pid_t pid);
/* Writes the limits (those not 0) into a cgroup made with none: v1's
 * memsw is still unlimited, so RAM can be set first. 0 or -errno. */
int cgroup_set_limits(const struct cgroup *cg, const struct cgroup_limits *lim);
/* Renames the leaf to name in every hierarchy (a warm cell's cgroup,
 * made ahead, becomes its job's). v1 only: cgroup2 cannot rename (-EPERM).
 * Never replaces an existing cgroup (-EEXIST); on failure the leaves keep
 * their old name. 0 or -errno. */
int cgroup_rename(struct cgroup *cg, const char *name);
/* Reads usage; fields it cannot read stay 0. 0 or -errno (first error). */
int cgroup_read_usage(const struct cgroup *cg, struct cgroup_usage *ret);
/* Number of processes in the cgroup (memory's, or the first hierarchy's),
 * or -errno. */
int cgroup_count_procs(const struct cgroup *cg);
/* SIGKILLs every process left in it (checked through pidfds, so a reused
 * pid outside is never signalled), then removes the leaves, retrying
 * within CGROUP_DESTROY_MS. Closes the fds. 0 or -errno (-EBUSY: still
 * populated). Safe on a zeroed or already destroyed struct. */
int cgroup_destroy(struct cgroup *cg);
/* Removes CGROUP_PARENT/name, and the empty cgroups below it, in every
 * hierarchy of root->all: what a container runtime made under a job's
 * cgroup (e.g. docker's cgroupfs driver given CgroupParent) in hierarchies
 * we do not use. Populated cgroups stay. 0, or the first -errno other than
 * -ENOENT. */
int cgroup_remove_everywhere(const struct cgroup_root *root, const char *name);
/* Removes leaves under CGROUP_PARENT, in every hierarchy of root->all, for
 * which gone(name, arg) is true and that hold no process (rmdir fails on a
 * populated cgroup), with the empty cgroups below them. Returns how many
 * were removed, or -errno. */
int cgroup_sweep(const struct cgroup_root *root,
    bool (*gone)(const char *name, void *arg), void *arg);

#endif
