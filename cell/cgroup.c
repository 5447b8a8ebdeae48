/* cgroup.c - the job's control group (see cgroup.h): finds the hierarchies,
 * creates one leaf per job under CGROUP_PARENT with its limits, attaches the
 * cell's init before it runs anything, reads usage and OOM kills back, and
 * removes the leaf. Runs in jobcell-worker processes as root.
 *
 * v1 (this machine): memory.limit_in_bytes + memory.memsw.limit_in_bytes
 * (RAM + swap, when swap accounting exists), pids.max, cpu.cfs_quota_us;
 * usage from cpuacct.usage, memory.max_usage_in_bytes and the oom_kill line
 * of memory.oom_control. v2: memory.max + memory.swap.max = 0, pids.max,
 * cpu.max; usage from cpu.stat, memory.peak, memory.events. Only files of
 * cgroupfs are opened, relative to the leaf's directory fd; the job cannot
 * reach cgroupfs (the cell mounts no /sys), so no path here is job-made. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "cgroup.h"
#include "timefmt.h"
#include "banned.h"

#define MOUNTINFO_MAX	(512u * 1024)
#define PROCS_BATCH	256	/* pids killed per round of cgroup_destroy */

/* ---- file helpers ---- */

/* Reads a whole small file into buf (NUL-terminated); -E2BIG if bigger. */
static int
read_at(int dfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (size < 2)
		return -E2BIG;
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	/* a file that fills the buffer is taken as too big */
	if ((n = read_full(fd, buf, size - 1)) < 0)
		return (int) n;
	if ((size_t) n >= size - 1)
		return -E2BIG;
	buf[n] = '\0';
	return 0;
}

static int
write_at(int dfd, const char *name, const char *s)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(s);
	ssize_t n;

	if ((fd = openat(dfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	/* cgroupfs takes one value per write(2). */
	if ((n = write(fd, s, len)) < 0)
		return -errno;
	return (size_t) n == len ? 0 : -EIO;
}

static int
write_u64_at(int dfd, const char *name, uint64_t v)
{
	char buf[32];

	(void) snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
	return write_at(dfd, name, buf);
}

static int
read_u64_at(int dfd, const char *name, uint64_t *ret)
{
	char buf[64];
	int r;

	if ((r = read_at(dfd, name, buf, sizeof(buf))) < 0)
		return r;
	return cgroup_parse_u64(buf, ret);
}

static int
read_keyed_at(int dfd, const char *name, const char *key, uint64_t *ret)
{
	char buf[4096];
	int r;

	if ((r = read_at(dfd, name, buf, sizeof(buf))) < 0)
		return r;
	return cgroup_parse_keyed(buf, key, ret);
}

static int
mkdir_parent(const char *mount)
{
	char p[CGROUP_PATH_MAX];
	int r;

	if ((r = cgroup_path(mount, NULL, p, sizeof(p))) < 0)
		return r;
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---- root ---- */

static int
v2_usable(struct cgroup_root *root)
{
	_cleanup_close_ int dfd = -1, pfd = -1;
	char list[512], p[CGROUP_PATH_MAX];
	int r;

	if (!root->unified[0])
		return -ENOENT;
	if ((dfd = open(root->unified, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if ((r = read_at(dfd, "cgroup.controllers", list, sizeof(list))) < 0)
		return r;
	if (!cgroup_list_has(list, "memory") || !cgroup_list_has(list, "pids") ||
	    !cgroup_list_has(list, "cpu"))
		return -ENOENT;
	/* Let the parent's children have the controllers: the root's
	 * subtree_control, then ours (the root is exempt from the "no
	 * internal processes" rule; our parent holds no process). */
	if ((r = write_at(dfd, "cgroup.subtree_control", "+memory +pids +cpu")) < 0)
		return r;
	if ((r = mkdir_parent(root->unified)) < 0)
		return r;
	if ((r = cgroup_path(root->unified, NULL, p, sizeof(p))) < 0)
		return r;
	if ((pfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	return write_at(pfd, "cgroup.subtree_control", "+memory +pids +cpu");
}

int
cgroup_root_init(struct cgroup_root *ret)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct cgroup_root root;
	ssize_t n;
	int r;

	if (!(text = malloc(MOUNTINFO_MAX)))
		return -ENOMEM;
	if ((fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((n = read_full(fd, text, MOUNTINFO_MAX - 1)) < 0)
		return (int) n;
	if ((size_t) n >= MOUNTINFO_MAX - 1)
		return -E2BIG;
	text[n] = '\0';
	if ((r = cgroup_parse_mountinfo(text, &root)) < 0)
		return r;
	if (v2_usable(&root) == 0) {
		root.version = CGROUP_V2;
		*ret = root;
		return 0;
	}
	if (!root.mount[CG_MEMORY][0] || !root.mount[CG_PIDS][0] ||
	    !root.mount[CG_CPU][0])
		return -ENOENT;
	for (int c = 0; c < CG__MAX; c++)
		if (root.mount[c][0] && (r = mkdir_parent(root.mount[c])) < 0)
			return r;
	root.version = CGROUP_V1;
	*ret = root;
	return 0;
}

/* ---- one job's cgroup ---- */

static void
cgroup_clear(struct cgroup *cg)
{
	memset(cg, 0, sizeof(*cg));
	for (int i = 0; i < CG__MAX; i++) {
		cg->dfd[i] = -1;
		cg->ctrl_dir[i] = -1;
	}
}

/* Adds the leaf under mount (or finds it added by a co-mounted controller);
 * returns its index in cg->dir[]. */
static int
add_dir(struct cgroup *cg, const char *mount, const char *name)
{
	char p[CGROUP_PATH_MAX];
	int r, fd;

	if ((r = cgroup_path(mount, name, p, sizeof(p))) < 0)
		return r;
	for (size_t i = 0; i < cg->ndirs; i++)
		if (strcmp(cg->dir[i], p) == 0)
			return (int) i;
	if (cg->ndirs >= CG__MAX)
		return -E2BIG;
	if (mkdir(p, 0755) < 0)
		return -errno;
	memcpy(cg->dir[cg->ndirs], p, sizeof(p));
	if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = -errno;
		(void) rmdir(p);
		return r;
	}
	cg->dfd[cg->ndirs] = fd;
	return (int) cg->ndirs++;
}

static int
ctrl_fd(const struct cgroup *cg, enum cgroup_ctrl c)
{
	return cg->ctrl_dir[c] < 0 ? -1 : cg->dfd[cg->ctrl_dir[c]];
}

static int
write_limits_v1(const struct cgroup *cg, const struct cgroup_limits *lim)
{
	int mem = ctrl_fd(cg, CG_MEMORY), pids = ctrl_fd(cg, CG_PIDS);
	int cpu = ctrl_fd(cg, CG_CPU), r;

	if (lim->memory_mb) {
		uint64_t b = lim->memory_mb * 1024 * 1024;

		/* memsw (RAM + swap) must stay >= the RAM limit: RAM first. */
		if ((r = write_u64_at(mem, "memory.limit_in_bytes", b)) < 0)
			return r;
		r = write_u64_at(mem, "memory.memsw.limit_in_bytes", b);
		if (r < 0 && r != -ENOENT)	/* no swap accounting: no swap */
			return r;
	}
	if (lim->pids && (r = write_u64_at(pids, "pids.max", lim->pids)) < 0)
		return r;
	if (lim->cpus) {
		if ((r = write_u64_at(cpu, "cpu.cfs_period_us",
		    CGROUP_CPU_PERIOD_US)) < 0)
			return r;
		if ((r = write_u64_at(cpu, "cpu.cfs_quota_us",
		    lim->cpus * CGROUP_CPU_PERIOD_US)) < 0)
			return r;
	}
	return 0;
}

static int
write_limits_v2(const struct cgroup *cg, const struct cgroup_limits *lim)
{
	int fd = cg->dfd[0], r;
	char buf[64];

	if (lim->memory_mb) {
		if ((r = write_u64_at(fd, "memory.max",
		    lim->memory_mb * 1024 * 1024)) < 0)
			return r;
		r = write_at(fd, "memory.swap.max", "0");
		if (r < 0 && r != -ENOENT)	/* no swap controller: no swap */
			return r;
	}
	if (lim->pids && (r = write_u64_at(fd, "pids.max", lim->pids)) < 0)
		return r;
	if (lim->cpus) {
		(void) snprintf(buf, sizeof(buf), "%" PRIu64 " %u",
		    lim->cpus * CGROUP_CPU_PERIOD_US, CGROUP_CPU_PERIOD_US);
		if ((r = write_at(fd, "cpu.max", buf)) < 0)
			return r;
	}
	return 0;
}

int
cgroup_create(const struct cgroup_root *root, const char *name,
    const struct cgroup_limits *lim, struct cgroup *ret)
{
	struct cgroup cg;
	int r;

	if (root->version != CGROUP_V1 && root->version != CGROUP_V2)
		return -EINVAL;
	if (!cgroup_name_ok(name))
		return -EINVAL;
	if (lim->memory_mb > UINT64_MAX / (1024 * 1024) ||
	    lim->cpus > UINT64_MAX / CGROUP_CPU_PERIOD_US)
		return -ERANGE;
	cgroup_clear(&cg);
	cg.version = root->version;
	for (int c = 0; c < CG__MAX; c++) {
		const char *m = root->version == CGROUP_V2 ? root->unified :
		    root->mount[c];

		if (root->version == CGROUP_V2 && c == CG_CPUACCT)
			continue;
		if (!m[0])
			continue;
		if ((r = add_dir(&cg, m, name)) < 0)
			goto fail;
		cg.ctrl_dir[c] = r;
	}
	r = root->version == CGROUP_V2 ? write_limits_v2(&cg, lim) :
	    write_limits_v1(&cg, lim);
	if (r < 0)
		goto fail;
	*ret = cg;
	return 0;
fail:
	(void) cgroup_destroy(&cg);	/* empty: only rmdir */
	return r;
}

int
cgroup_open(const struct cgroup_root *root, const char *name,
    struct cgroup *ret)
{
	struct cgroup cg;
	char p[CGROUP_PATH_MAX];
	int r, fd;

	if (root->version != CGROUP_V1 && root->version != CGROUP_V2)
		return -EINVAL;
	if (!cgroup_name_ok(name))
		return -EINVAL;
	cgroup_clear(&cg);
	cg.version = root->version;
	for (int c = 0; c < CG__MAX; c++) {
		const char *m = root->version == CGROUP_V2 ? root->unified :
		    root->mount[c];
		size_t i;

		if ((root->version == CGROUP_V2 && c == CG_CPUACCT) || !m[0])
			continue;
		if ((r = cgroup_path(m, name, p, sizeof(p))) < 0)
			goto fail;
		for (i = 0; i < cg.ndirs; i++)
			if (strcmp(cg.dir[i], p) == 0)
				break;
		if (i == cg.ndirs) {
			if ((fd = open(p, O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC)) < 0) {
				if (errno == ENOENT)
					continue;	/* not in this one */
				r = -errno;
				goto fail;
			}
			memcpy(cg.dir[cg.ndirs], p, sizeof(p));
			cg.dfd[cg.ndirs++] = fd;
		}
		cg.ctrl_dir[c] = (int) i;
	}
	if (cg.ndirs == 0)
		return -ENOENT;
	*ret = cg;
	return 0;
fail:
	for (size_t i = 0; i < cg.ndirs; i++)
		(void) close(cg.dfd[i]);
	return r;
}

int
cgroup_attach(const struct cgroup *cg, pid_t pid)
{
	int r;

	if (pid <= 0 || cg->ndirs == 0)
		return -EINVAL;
	for (size_t i = 0; i < cg->ndirs; i++)
		if ((r = write_u64_at(cg->dfd[i], "cgroup.procs",
		    (uint64_t) pid)) < 0)
			return r;
	return 0;
}

int
cgroup_set_limits(const struct cgroup *cg, const struct cgroup_limits *lim)
{
	if (cg->ndirs == 0)
		return -EINVAL;
	if (lim->memory_mb > UINT64_MAX / (1024 * 1024) ||
	    lim->cpus > UINT64_MAX / CGROUP_CPU_PERIOD_US)
		return -ERANGE;
	return cg->version == CGROUP_V2 ? write_limits_v2(cg, lim) :
					  write_limits_v1(cg, lim);
}

int
cgroup_rename(struct cgroup *cg, const char *name)
{
	char to[CG__MAX][CGROUP_PATH_MAX];
	size_t i;
	int r = 0;

	if (!cgroup_name_ok(name) || cg->ndirs == 0)
		return -EINVAL;
	for (i = 0; i < cg->ndirs; i++) {
		const char *slash = strrchr(cg->dir[i], '/');
		int n;

		if (!slash)
			return -EINVAL;
		n = snprintf(to[i], sizeof(to[i]), "%.*s/%s",
		    (int) (slash - cg->dir[i]), cg->dir[i], name);
		if (n < 0 || (size_t) n >= sizeof(to[i]))
			return -ENAMETOOLONG;
	}
	/* kernfs refuses rename flags (RENAME_NOREPLACE: -EINVAL) but never
	 * replaces an existing directory (-EEXIST): never another job's. */
	for (i = 0; i < cg->ndirs; i++)
		if (rename(cg->dir[i], to[i]) < 0) {
			r = -errno;
			break;
		}
	if (r < 0) {
		while (i-- > 0) /* back, so the struct stays true */
			(void) rename(to[i], cg->dir[i]);
		return r;
	}
	for (i = 0; i < cg->ndirs; i++)
		memcpy(cg->dir[i], to[i], sizeof(to[i]));
	return 0;
}

int
cgroup_read_usage(const struct cgroup *cg, struct cgroup_usage *ret)
{
	struct cgroup_usage u = { 0 };
	uint64_t v;
	int first = 0, r, fd;

#define KEEP(x) do { if ((r = (x)) < 0 && first == 0) first = r; } while (0)
	if (cg->version == CGROUP_V2) {
		fd = cg->dfd[0];
		KEEP(read_keyed_at(fd, "cpu.stat", "usage_usec", &v));
		if (r == 0)
			u.cpu_ms = v / 1000;
		KEEP(read_u64_at(fd, "memory.peak", &v));
		if (r == 0)
			u.max_rss_kb = v / 1024;
		KEEP(read_keyed_at(fd, "memory.events", "oom_kill", &v));
		if (r == 0)
			u.oom_killed = v > 0;
	} else if (cg->version == CGROUP_V1) {
		if ((fd = ctrl_fd(cg, CG_CPUACCT)) >= 0) {
			KEEP(read_u64_at(fd, "cpuacct.usage", &v));
			if (r == 0)
				u.cpu_ms = v / 1000000;
		}
		fd = ctrl_fd(cg, CG_MEMORY);
		KEEP(read_u64_at(fd, "memory.max_usage_in_bytes", &v));
		if (r == 0)
			u.max_rss_kb = v / 1024;
		/* The oom_kill line exists since Linux 4.13. */
		KEEP(read_keyed_at(fd, "memory.oom_control", "oom_kill", &v));
		if (r == 0)
			u.oom_killed = v > 0;
	} else
		return -EINVAL;
#undef KEEP
	*ret = u;
	return first;
}

/* Reads up to max pids from fd's cgroup.procs; returns how many. */
static int
read_procs(int dfd, pid_t *pids, size_t max, size_t *ret_total)
{
	_cleanup_close_ int fd = -1;
	char buf[4096];
	size_t n = 0, total = 0;
	uint64_t cur = 0;
	bool in = false;
	ssize_t got;

	if ((fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) < 0)
		return -errno;
	while ((got = read_full(fd, buf, sizeof(buf))) != 0) {
		if (got < 0)
			return (int) got;
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = cur * 10 + (uint64_t) (buf[i] - '0');
				if (cur > INT32_MAX)
					return -ERANGE;
				in = true;
			} else if (in) {
				if (n < max)
					pids[n++] = (pid_t) cur;
				total++;
				cur = 0;
				in = false;
			}
		}
	}
	if (in) {
		if (n < max)
			pids[n++] = (pid_t) cur;
		total++;
	}
	if (ret_total)
		*ret_total = total;
	return (int) n;
}

int
cgroup_count_procs(const struct cgroup *cg)
{
	pid_t one;
	size_t total;
	int fd = ctrl_fd(cg, CG_MEMORY), r;

	if (fd < 0)
		fd = cg->ndirs ? cg->dfd[0] : -1;
	if (fd < 0)
		return -EBADF;
	if ((r = read_procs(fd, &one, 1, &total)) < 0)
		return r;
	return total > INT32_MAX ? INT32_MAX : (int) total;
}

/* SIGKILLs what cgroup.procs of dfd lists. A pid read from the file may
 * have died and been reused by then: we take a pidfd first, then check the
 * pid is still listed; a listed pid with a live pidfd is ours. */
static int
kill_procs(int dfd)
{
	pid_t pids[PROCS_BATCH], again[PROCS_BATCH];
	int fds[PROCS_BATCH];
	int n, m;

	if ((n = read_procs(dfd, pids, PROCS_BATCH, NULL)) <= 0)
		return n;
	for (int i = 0; i < n; i++)
		fds[i] = (int) syscall(SYS_pidfd_open, pids[i], 0);
	m = read_procs(dfd, again, PROCS_BATCH, NULL);
	for (int i = 0; i < n; i++) {
		bool listed = false;

		for (int k = 0; k < m; k++)
			listed |= again[k] == pids[i];
		if (fds[i] >= 0 && listed)
			(void) syscall(SYS_pidfd_send_signal, fds[i], SIGKILL,
			    NULL, 0);
		if (fds[i] >= 0)
			(void) close(fds[i]);
	}
	return n;
}

/* Removes the cgroups below dir (depth levels), SIGKILLing what runs in
 * them first if kill is set. Best effort: a populated one stays (and so
 * does dir, whose rmdir then fails with EBUSY). */
static void
remove_below(const char *dir, int depth, bool kill)
{
	DIR *d;
	struct dirent *de;
	char p[CGROUP_PATH_MAX];
	int k;

	if (depth <= 0 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		k = snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (k < 0 || (size_t) k >= sizeof(p))
			continue;
		remove_below(p, depth - 1, kill);
		if (kill) {
			int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (fd >= 0) {
				(void) kill_procs(fd);
				(void) close(fd);
			}
		}
		(void) rmdir(p);
	}
	(void) closedir(d);
}

/* How deep a container runtime's cgroups go below a job's (docker: one
 * leaf per container; a margin for runtimes that nest one more). */
#define BELOW_DEPTH	2

/* rmdir(dir); only if that fails because cgroups remain below it (EBUSY),
 * removes those (killing what runs there if kill) and tries once more, so
 * a namespace cell's leaf costs one rmdir as before. 0 (also if dir is
 * gone), or -errno. */
static int
rmdir_tree(const char *dir, bool kill)
{
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY)
		return -errno;
	remove_below(dir, BELOW_DEPTH, kill);
	return rmdir(dir) == 0 || errno == ENOENT ? 0 : -errno;
}

int
cgroup_destroy(struct cgroup *cg)
{
	int64_t deadline = time_mono_ms() + CGROUP_DESTROY_MS;
	bool removed[CG__MAX] = { false };
	int r = 0, k;

	if (cg->version == CGROUP_V2 && cg->ndirs > 0 && cg->dfd[0] >= 0)
		(void) write_at(cg->dfd[0], "cgroup.kill", "1");	/* 5.14+ */
	for (;;) {
		r = 0;
		for (size_t i = 0; i < cg->ndirs; i++) {
			if (removed[i])
				continue;
			if (cg->dfd[i] >= 0)
				(void) kill_procs(cg->dfd[i]);
			if ((k = rmdir_tree(cg->dir[i], true)) == 0)
				removed[i] = true;
			else if (r == 0)
				r = k;
		}
		if (r != -EBUSY || time_mono_ms() >= deadline)
			break;
		(void) poll(NULL, 0, 5);	/* exiting tasks leave shortly */
	}
	for (size_t i = 0; i < cg->ndirs; i++)
		if (cg->dfd[i] >= 0)
			(void) close(cg->dfd[i]);
	if (r == 0)
		cgroup_clear(cg);
	else
		for (size_t i = 0; i < CG__MAX; i++)
			cg->dfd[i] = -1;	/* closed; dir[] kept for a retry */
	return r;
}

static int
sweep_dir(const char *parent, bool (*gone)(const char *, void *), void *arg)
{
	DIR *d;
	struct dirent *de;
	char p[CGROUP_PATH_MAX];
	int n = 0, k;

	if (!(d = opendir(parent)))
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !cgroup_name_ok(de->d_name) ||
		    !gone(de->d_name, arg))
			continue;
		k = snprintf(p, sizeof(p), "%s/%s", parent, de->d_name);
		if (k < 0 || (size_t) k >= sizeof(p))
			continue;
		if (rmdir_tree(p, false) == 0)	/* populated: leave it */
			n++;
	}
	(void) closedir(d);
	return n;
}

int
cgroup_remove_everywhere(const struct cgroup_root *root, const char *name)
{
	char p[CGROUP_PATH_MAX];
	int r = 0, k;

	for (size_t i = 0; i < root->nall; i++) {
		if ((k = cgroup_path(root->all[i], name, p, sizeof(p))) < 0)
			return k;
		if ((k = rmdir_tree(p, false)) < 0 && r == 0)
			r = k;
	}
	return r;
}

int
cgroup_sweep(const struct cgroup_root *root,
    bool (*gone)(const char *name, void *arg), void *arg)
{
	char p[CGROUP_PATH_MAX];
	int total = 0, r;

	for (size_t i = 0; i < root->nall; i++) {
		bool dup = false;

		for (size_t k = 0; k < i; k++)
			dup |= strcmp(root->all[k], root->all[i]) == 0;
		if (dup || cgroup_path(root->all[i], NULL, p, sizeof(p)) < 0)
			continue;
		if ((r = sweep_dir(p, gone, arg)) < 0)
			return r;
		total += r;
	}
	return total;
}
