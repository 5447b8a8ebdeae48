/* sandbox_ns.c - the namespace backend of the cell (DESIGN section 5).
 * Runs in a jobcell-worker process (single-threaded, root) and, after
 * clone(), as the cell's init and the job's first process. The worker trusts
 * nothing from the cell but fixed-size struct cell_report records.
 *
 * How it works
 *
 *   worker                    cell init (pid 1)          job
 *   ------                    -----------------          ---
 *   seccomp BPF (once);
 *   pipes: out, err, report,
 *   sync; block all signals
 *   clone(NEWUSER|NEWPID|NEWNS
 *   |NEWNET|NEWUTS|NEWIPC) -> reset handlers, PDEATHSIG,
 *   write uid_map, gid_map    wait on sync
 *   spec->attach(pid): cgroup
 *   network: slirp4netns
 *   "g" on sync ----------->  setgroups(0), become 1000
 *   return: job is starting   keeping caps (privs.c);
 *                             unshare the cgroup ns (now
 *                             rooted at the job's cgroup);
 *                             keep only our fds; hostname;
 *                             lo up; root on a tmpfs, /proc,
 *                             pivot_root; files into /work,
 *                             cwd; drop privs (privs.c);
 *                             clone(VM|VFORK) ---------> setsid, fds 0-2,
 *                             (suspended until exec)     close the rest,
 *                             non-dumpable, close fds    rlimits, seccomp,
 *                             but report; TERM handler:  execve (failure:
 *                             kill(-1, TERM); reap until {SETUP_FAILED,
 *                             the job ends               exec, errno})
 *   cell_try_wait: reap    <- {EXITED, wstatus};
 *   init, read records        _exit(0): the kernel kills
 *   cell_release: slirp ends  the rest of the pid ns
 *
 * Pipes: out/err (job -> worker, read ends O_NONBLOCK), report (cell ->
 * worker, 16-byte records, atomic below PIPE_BUF), sync (worker -> cell,
 * one byte once the id maps and the cgroup are in place). Any setup failure
 * in the cell sends {CELL_REPORT_SETUP_FAILED, step, errno} and _exit(127);
 * between clone() and execve() there is no stdio and no logging.
 *
 * Signals: SIGTERM to init is forwarded to every process of the cell; init
 * of a pid namespace only receives signals it has a handler for, except
 * SIGKILL from the worker, which ends init and with it the whole namespace
 * (pid_namespaces(7)). */
#include <errno.h>
#include <fcntl.h>
/* NAME_MAX; under -Ilib, <limits.h> finds lib/limits.h */
#include <linux/limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "jc_limits.h"
#include "privs.h"
#include "sandbox.h"
#include "seccomp.h"
#include "banned.h"

/* Where the cell's root tmpfs is built before pivot_root. The mount is made
 * in the cell's private mount namespace; the host never sees it. */
#define NEWROOT		"/tmp"
#define DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"
#define CELL_HOSTNAME	"cell"
#define CELL_DISK_MB_MAX (1024u * 1024)	/* 1 TiB of tmpfs: surely a bug */
/* Networked cells: slirp4netns (Debian package) in the cell's netns. */
#define SLIRP4NETNS	"/usr/bin/slirp4netns"
#define SLIRP_DNS	"10.0.2.3"
#define SLIRP_READY_MS	5000

/* The step a struct cell_report names (sandbox.h leaves the enum to us). */
enum cell_step {
	CELL_STEP_SYNC = 1,
	CELL_STEP_SIGNALS,
	CELL_STEP_PDEATHSIG,
	CELL_STEP_CGROUP_NS,
	CELL_STEP_FDS,
	CELL_STEP_HOSTNAME,
	CELL_STEP_LOOPBACK,
	CELL_STEP_MOUNT_PRIVATE,
	CELL_STEP_ROOT_TMPFS,
	CELL_STEP_TOOLCHAIN,
	CELL_STEP_ETC,
	CELL_STEP_PROC,
	CELL_STEP_DEV,
	CELL_STEP_WORK,
	CELL_STEP_TMP,
	CELL_STEP_PIVOT,
	CELL_STEP_ROOT_READONLY,
	CELL_STEP_CHDIR,
	CELL_STEP_FORK,
	CELL_STEP_INIT,
	CELL_STEP_WAIT,
	CELL_STEP_STDIO,
	CELL_STEP_EXEC,
	CELL_STEP_RLIMITS,
	CELL_STEP_SECCOMP,
	CELL_STEP_FILES,
	CELL_STEP_CWD,
	CELL_STEP__MAX,
	CELL_STEP_PRIVS = 100,		/* + enum privs_step */
};

static const char *const cell_step_names[CELL_STEP__MAX] = {
	[CELL_STEP_SYNC] = "waiting for the worker",
	[CELL_STEP_SIGNALS] = "resetting signal handlers",
	[CELL_STEP_PDEATHSIG] = "setting the parent-death signal",
	[CELL_STEP_CGROUP_NS] = "creating the cgroup namespace",
	[CELL_STEP_FDS] = "closing inherited file descriptors",
	[CELL_STEP_HOSTNAME] = "setting the hostname",
	[CELL_STEP_LOOPBACK] = "bringing up loopback",
	[CELL_STEP_MOUNT_PRIVATE] = "making mounts private",
	[CELL_STEP_ROOT_TMPFS] = "mounting the root tmpfs",
	[CELL_STEP_TOOLCHAIN] = "binding /usr, /bin and /lib*",
	[CELL_STEP_ETC] = "building /etc",
	[CELL_STEP_PROC] = "mounting /proc",
	[CELL_STEP_DEV] = "building /dev",
	[CELL_STEP_WORK] = "mounting /work",
	[CELL_STEP_TMP] = "mounting /tmp",
	[CELL_STEP_PIVOT] = "pivot_root",
	[CELL_STEP_ROOT_READONLY] = "making the root read-only",
	[CELL_STEP_CHDIR] = "entering /work",
	[CELL_STEP_FORK] = "forking the job",
	[CELL_STEP_INIT] = "preparing the cell's init",
	[CELL_STEP_WAIT] = "waiting for the job",
	[CELL_STEP_STDIO] = "setting up the job's stdin, stdout and stderr",
	[CELL_STEP_EXEC] = "exec",
	[CELL_STEP_RLIMITS] = "setting resource limits",
	[CELL_STEP_SECCOMP] = "installing the seccomp filter",
	[CELL_STEP_FILES] = "writing the job's files",
	[CELL_STEP_CWD] = "entering the job's cwd",
};

/* The seccomp filter, built once per worker process by cell_start() and
 * inherited by every cell through clone(). */
static struct seccomp_prog cell_filter;

/* The fds the cell keeps from the worker. */
struct cell_fds {
	int out_w;
	int err_w;
	int report_w;
	int sync_r;
	int stdin_fd;		/* the worker's, or -1 */
};

/* ---- cell side: from here to cell_start(), all runs after clone() ---- */

/* Sends one record; the worker tells the rest from our exit. */
static void
report(int fd, int32_t kind, int32_t step, int32_t err, int32_t wstatus)
{
	struct cell_report rec = {
		.kind = kind, .step = step, .err = err, .wstatus = wstatus,
	};
	ssize_t n;

	do
		n = write(fd, &rec, sizeof(rec));
	while (n < 0 && errno == EINTR);
	/* EPIPE: the worker is gone. A short write cannot happen below
	 * PIPE_BUF, and the worker ignores records of the wrong size. */
}

static _Noreturn void
die(int report_fd, int step, int neg_errno)
{
	report(report_fd, CELL_REPORT_SETUP_FAILED, step,
	    neg_errno < 0 ? -neg_errno : EIO, 0);
	_exit(127);
}

static int
reset_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	if (sigemptyset(&sa.sa_mask) < 0)
		return -errno;
	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		/* glibc answers EINVAL for its internal real-time signals. */
		if (sigaction(s, &sa, NULL) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

/* Returns fd moved to a number >= 3 (closing the original), or -errno. */
static int
fd_above_stdio(int fd)
{
	int nfd;

	if (fd >= 3)
		return fd;
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return -errno;
	(void) close(fd);
	return nfd;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *) a, y = *(const int *) b;

	return (x > y) - (x < y);
}

/* Closes every fd, the worker's stdio included, except keep[] (all >= 0). */
static int
close_all_except(const int *keep, size_t n)
{
	int sorted[8];
	unsigned lo = 0;

	if (n > ARRAY_SIZE(sorted))
		return -E2BIG;
	memcpy(sorted, keep, n * sizeof(*keep));
	qsort(sorted, n, sizeof(*sorted), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned) sorted[i] > lo &&
		    close_range(lo, (unsigned) sorted[i] - 1, 0) < 0)
			return -errno;
		lo = (unsigned) sorted[i] + 1;
	}
	if (close_range(lo, ~0U, 0) < 0)
		return -errno;
	return 0;
}

/* Moves every fd we keep above 2 and closes everything else. */
static int
keep_cell_fds(struct cell_fds *f)
{
	int keep[4];
	size_t n = 0;
	int *mine[] = { &f->out_w, &f->err_w, &f->report_w, &f->stdin_fd };

	for (size_t i = 0; i < ARRAY_SIZE(mine); i++) {
		if (*mine[i] < 0)
			continue;
		if ((*mine[i] = fd_above_stdio(*mine[i])) < 0)
			return *mine[i];
		keep[n++] = *mine[i];
	}
	return close_all_except(keep, n);
}

static int
loopback_up(void)
{
	_cleanup_close_ int s = -1;
	struct ifreq ifr;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", sizeof("lo"));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	/* Needs CAP_NET_ADMIN over the new netns, which we hold in its
	 * owning user namespace. */
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	return 0;
}

/* buf := NEWROOT rel (rel starts with '/'). */
static int
in_root(char *buf, size_t size, const char *rel)
{
	int n = snprintf(buf, size, "%s%s", NEWROOT, rel);

	if (n < 0 || (size_t) n >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int
mkdir_in_root(const char *rel, mode_t mode)
{
	char p[JC_PATH_MAX];
	int r;

	if ((r = in_root(p, sizeof(p), rel)) < 0)
		return r;
	if (mkdir(p, mode) < 0)
		return -errno;
	return 0;
}

static int
write_in_root(const char *rel, const char *content, mode_t mode)
{
	_cleanup_close_ int fd = -1;
	char p[JC_PATH_MAX];
	size_t len = strlen(content), off = 0;
	ssize_t w;
	int r;

	if ((r = in_root(p, sizeof(p), rel)) < 0)
		return r;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (off < len) {
		if ((w = write(fd, content + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t) w;
	}
	return 0;
}

/* Binds host src read-only, nosuid, nodev at dst. A remount inside a user
 * namespace must keep the flags the kernel locked on the original mount
 * (noexec, nosuid, nodev, the atime mode) or it fails with EPERM
 * (mount(2), "Locked mounts" in mount_namespaces(7)); statvfs tells them. */
static int
bind_readonly(const char *src, const char *dst)
{
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
	    MS_NODEV;
	struct statvfs sv;

	/* Not MS_REC: submounts stay hidden. A source with submounts fails
	 * with EINVAL (they are locked to it), which a cell reports. */
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return -errno;
	if (statvfs(dst, &sv) < 0)
		return -errno;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		flags |= MS_NOATIME;
	else if (sv.f_flag & ST_RELATIME)
		flags |= MS_RELATIME;
	else
		flags |= MS_STRICTATIME;
	if (sv.f_flag & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	if (mount(NULL, dst, NULL, flags, NULL) < 0)
		return -errno;
	return 0;
}

/* /usr, /bin, /sbin, /lib*: symlinks recreated (merged /usr), directories
 * bound read-only, anything absent skipped. */
static int
mount_toolchain(void)
{
	static const char *const dirs[] = {
		"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	};
	char dst[JC_PATH_MAX], target[JC_PATH_MAX];
	struct stat st;
	ssize_t n;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (lstat(dirs[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if ((r = in_root(dst, sizeof(dst), dirs[i])) < 0)
			return r;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(dirs[i], target, sizeof(target));
			if (n < 0)
				return -errno;
			if ((size_t) n >= sizeof(target))
				return -ENAMETOOLONG;
			target[n] = '\0';
			if (symlink(target, dst) < 0)
				return -errno;
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdir(dst, 0755) < 0)
				return -errno;
			if ((r = bind_readonly(dirs[i], dst)) < 0)
				return r;
		}
	}
	return 0;
}

/* A curated /etc: our own passwd, group, hosts, nsswitch.conf, and
 * read-only binds of the few host files programs need to run (the dynamic
 * linker cache, alternatives symlinks, CA certificates). */
static int
build_etc(bool network)
{
	static const struct { const char *path, *content; } files[] = {
		{ "/etc/passwd",
		  "root:x:0:0:root:/root:/usr/sbin/nologin\n"
		  "job:x:1000:1000:job:/work:/bin/sh\n"
		  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" },
		{ "/etc/group", "root:x:0:\njob:x:1000:\nnogroup:x:65534:\n" },
		{ "/etc/hosts",
		  "127.0.0.1\tlocalhost\n"
		  "::1\tlocalhost ip6-localhost ip6-loopback\n"
		  "127.0.1.1\t" CELL_HOSTNAME "\n" },
		{ "/etc/nsswitch.conf",
		  "passwd: files\ngroup: files\nshadow: files\nhosts: files\n"
		  "networks: files\nprotocols: files\nservices: files\n" },
	};
	static const struct { const char *path; bool dir; } binds[] = {
		{ "/etc/ld.so.cache", false },
		{ "/etc/alternatives", true },
		{ "/etc/ssl/certs", true },
	};
	char dst[JC_PATH_MAX];
	struct stat st;
	int r;

	if ((r = mkdir_in_root("/etc", 0755)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if ((r = write_in_root(files[i].path, files[i].content, 0644)) < 0)
			return r;
	/* slirp4netns forwards its 10.0.2.3 to the host's resolver. */
	if (network && (r = write_in_root("/etc/resolv.conf",
	    "nameserver " SLIRP_DNS "\n", 0644)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(binds); i++) {
		if (stat(binds[i].path, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (binds[i].dir != !!S_ISDIR(st.st_mode))
			continue;	/* not what we expect: leave it out */
		if (binds[i].dir) {
			if (strncmp(binds[i].path, "/etc/ssl/", 9) == 0 &&
			    (r = mkdir_in_root("/etc/ssl", 0755)) < 0 && r != -EEXIST)
				return r;
			if ((r = mkdir_in_root(binds[i].path, 0755)) < 0)
				return r;
		} else if ((r = write_in_root(binds[i].path, "", 0644)) < 0) {
			return r;	/* an empty file as the mount point */
		}
		if ((r = in_root(dst, sizeof(dst), binds[i].path)) < 0)
			return r;
		if ((r = bind_readonly(binds[i].path, dst)) < 0)
			return r;
	}
	return 0;
}

/* A fresh proc for the new pid namespace. It must be mounted while the
 * host's /proc is still in our mount namespace: the kernel only allows a
 * new proc mount in a user namespace if a fully visible one exists
 * (mount_too_revealing()). */
static int
mount_proc(void)
{
	char dst[JC_PATH_MAX];
	int r;

	if ((r = mkdir_in_root("/proc", 0555)) < 0)
		return r;
	if ((r = in_root(dst, sizeof(dst), "/proc")) < 0)
		return r;
	if (mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	return 0;
}

/* Minimal /dev: a tmpfs holding binds of the host's harmless character
 * devices, the usual symlinks and a private /dev/shm; then read-only. */
static int
build_dev(uint64_t shm_mb)
{
	static const char *const nodes[] = {
		"null", "zero", "full", "random", "urandom",
	};
	static const struct { const char *name, *target; } links[] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
	};
	char dev[JC_PATH_MAX], dst[JC_PATH_MAX], src[64], opts[96];
	int r, n;

	if ((r = mkdir_in_root("/dev", 0755)) < 0)
		return r;
	if ((r = in_root(dev, sizeof(dev), "/dev")) < 0)
		return r;
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC,
	    "mode=0755,size=64k,nr_inodes=64") < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		n = snprintf(dst, sizeof(dst), "%s/%s", dev, nodes[i]);
		if (n < 0 || (size_t) n >= sizeof(dst))
			return -ENAMETOOLONG;
		n = snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
		if (n < 0 || (size_t) n >= sizeof(src))
			return -ENAMETOOLONG;
		{
			_cleanup_close_ int fd = open(dst,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

			if (fd < 0)
				return -errno;
		}
		/* A device node made by us would not work: tmpfs mounted in
		 * a user namespace is implicitly nodev. A bind of the host's
		 * node keeps the host devtmpfs superblock. */
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			return -errno;
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		n = snprintf(dst, sizeof(dst), "%s/%s", dev, links[i].name);
		if (n < 0 || (size_t) n >= sizeof(dst))
			return -ENAMETOOLONG;
		if (symlink(links[i].target, dst) < 0)
			return -errno;
	}
	n = snprintf(dst, sizeof(dst), "%s/shm", dev);
	if (n < 0 || (size_t) n >= sizeof(dst))
		return -ENAMETOOLONG;
	if (mkdir(dst, 0755) < 0)
		return -errno;
	n = snprintf(opts, sizeof(opts), "mode=1777,uid=%u,gid=%u,size=%llum,"
	    "nr_inodes=%llu", (unsigned) CELL_UID, (unsigned) CELL_GID,
	    (unsigned long long) shm_mb,
	    (unsigned long long) (shm_mb < 4 ? 1024 : shm_mb * 256));
	if (n < 0 || (size_t) n >= sizeof(opts))
		return -E2BIG;
	if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return -errno;
	/* The job must not add entries to /dev; the binds and /dev/shm are
	 * their own mounts and keep their flags. */
	if (mount(NULL, dev, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
	    MS_NOEXEC, NULL) < 0)
		return -errno;
	return 0;
}

/* A size-limited tmpfs owned by the job's uid. */
static int
mount_scratch(const char *rel, const char *mode, uint64_t size_mb)
{
	char dst[JC_PATH_MAX], opts[128];
	int r, n;

	if ((r = mkdir_in_root(rel, 0755)) < 0)
		return r;
	if ((r = in_root(dst, sizeof(dst), rel)) < 0)
		return r;
	/* Inodes bounded too (tmpfs defaults to half the RAM's pages, and
	 * each inode is kernel memory): 256 per MiB, at least 1024. */
	n = snprintf(opts, sizeof(opts), "mode=%s,uid=%u,gid=%u,size=%llum,"
	    "nr_inodes=%llu", mode, (unsigned) CELL_UID, (unsigned) CELL_GID,
	    (unsigned long long) size_mb,
	    (unsigned long long) (size_mb < 4 ? 1024 : size_mb * 256));
	if (n < 0 || (size_t) n >= sizeof(opts))
		return -E2BIG;
	if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return -errno;
	return 0;
}

/* Builds the root under NEWROOT and enters it. Returns -errno, *step set. */
static int
build_root(const struct cell_spec *spec, int *step)
{
	int r;

	*step = CELL_STEP_MOUNT_PRIVATE;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	*step = CELL_STEP_ROOT_TMPFS;
	if (mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=0755,size=1m,nr_inodes=1024") < 0)
		return -errno;
	*step = CELL_STEP_TOOLCHAIN;
	if ((r = mount_toolchain()) < 0)
		return r;
	*step = CELL_STEP_ETC;
	if ((r = build_etc(spec->network)) < 0)
		return r;
	*step = CELL_STEP_PROC;
	if ((r = mount_proc()) < 0)
		return r;
	*step = CELL_STEP_DEV;
	if ((r = build_dev(spec->disk_mb)) < 0)
		return r;
	*step = CELL_STEP_WORK;
	if ((r = mount_scratch("/work", "0700", spec->disk_mb)) < 0)
		return r;
	*step = CELL_STEP_TMP;
	if ((r = mount_scratch("/tmp", "1777", spec->disk_mb)) < 0)
		return r;

	/* pivot_root(".", ".") stacks the old root on top of the new one;
	 * detaching "." then drops it (pivot_root(2), NOTES). No directory
	 * for the old root is needed, so none is left behind. */
	*step = CELL_STEP_PIVOT;
	if (chdir(NEWROOT) < 0)
		return -errno;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -errno;
	if (umount2(".", MNT_DETACH) < 0)
		return -errno;
	if (chdir("/") < 0)
		return -errno;
	*step = CELL_STEP_ROOT_READONLY;
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
	    MS_NODEV, NULL) < 0)
		return -errno;
	*step = CELL_STEP_CHDIR;
	if (chdir("/work") < 0)
		return -errno;
	return 0;
}

/* Walks the directories of rel (all its parts but the last, or all of it if
 * !leaf) under dfd, creating them if mkdirs, never following a symlink.
 * Returns an fd of the last directory (>= 0) and *ret_leaf the last part,
 * or -errno. Refuses empty, "." and ".." parts again (the API did too). */
static int
walk_dirs(int dfd, const char *rel, bool mkdirs, bool leaf,
    const char **ret_leaf)
{
	char part[NAME_MAX + 1];
	const char *p = rel, *e;
	int cur = dfd, next;

	for (;;) {
		size_t n;

		e = strchrnul(p, '/');
		n = (size_t) (e - p);
		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			if (cur != dfd)
				(void) close(cur);
			return -EINVAL;
		}
		if (*e == '\0' && leaf) {
			*ret_leaf = p;
			if (cur != dfd)
				return cur;
			next = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
			return next < 0 ? -errno : next;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		if (mkdirs && mkdirat(cur, part, 0755) < 0 && errno != EEXIST) {
			next = -errno;
		} else {
			next = openat(cur, part, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				next = -errno;
		}
		if (cur != dfd)
			(void) close(cur);
		if (next < 0)
			return next;
		cur = next;
		if (*e == '\0') {
			*ret_leaf = NULL;
			return cur;
		}
		p = e + 1;
	}
}

/* Creates spec->files under /work (our cwd): O_CREAT | O_EXCL |
 * O_NOFOLLOW under directory fds, so nothing is ever written through a
 * link, even though no job code has run yet to plant one. */
static int
write_files(const struct cell_spec *spec)
{
	_cleanup_close_ int work = -1;

	if (spec->nfiles == 0)
		return 0;
	if ((work = open("/work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -errno;
	for (size_t i = 0; i < spec->nfiles; i++) {
		const struct cell_file *f = &spec->files[i];
		_cleanup_close_ int dir = -1, fd = -1;
		const char *leaf = NULL;
		size_t off = 0;
		ssize_t w;

		if ((dir = walk_dirs(work, f->path, true, true, &leaf)) < 0)
			return dir;
		fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		while (off < f->len) {
			if ((w = write(fd, f->data + off, f->len - off)) < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			off += (size_t) w;
		}
	}
	return 0;
}

/* chdir into /work/cwd, part by part, without following links. */
static int
enter_cwd(const char *cwd)
{
	_cleanup_close_ int work = -1, dir = -1;
	const char *leaf;

	if (!cwd)
		return 0;
	if ((work = open("/work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -errno;
	if ((dir = walk_dirs(work, cwd, false, false, &leaf)) < 0)
		return dir;
	if (fchdir(dir) < 0)
		return -errno;
	return 0;
}

/* execvpe() that takes PATH from the job's env, never from ours. Only
 * returns on failure, with -errno as execvp(3) would report it (but no
 * fallback to /bin/sh on ENOEXEC). */
static int
exec_job(char *const *argv, char *const *envp)
{
	const char *file = argv[0], *path = NULL, *p, *end;
	char buf[JC_PATH_MAX];
	size_t flen = strlen(file), dlen;
	bool eacces = false;

	if (flen == 0)
		return -ENOENT;
	if (strchr(file, '/')) {
		(void) execve(file, argv, envp);
		return -errno;
	}
	if (flen > NAME_MAX)
		return -ENAMETOOLONG;
	for (char *const *e = envp; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0) {
			path = *e + 5;
			break;
		}
	if (!path)
		path = DEFAULT_PATH;
	for (p = path;; p = end + 1) {
		end = strchrnul(p, ':');
		dlen = (size_t) (end - p);
		if (dlen + 1 + flen + 1 <= sizeof(buf)) {
			if (dlen == 0)	/* an empty entry is the cwd (POSIX) */
				memcpy(buf, ".", (dlen = 1));
			else
				memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			(void) execve(buf, argv, envp);
			switch (errno) {
			case EACCES:
				eacces = true;
				break;
			case ENOENT:
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
			case ELOOP:
			case ENAMETOOLONG:
				break;
			default:
				return -errno;
			}
		}
		if (*end == '\0')
			break;
	}
	return eacces ? -EACCES : -ENOENT;
}

/* Lowering a limit needs no privilege; the job cannot raise a hard limit
 * again (no CAP_SYS_RESOURCE). No core files (they would fill /work and may
 * hold secrets of other processes' memory... of the job only, but still
XX than the workspace; a bounded fd table. */
static int
set_rlimits(uint64_t disk_mb)
{
	const struct { int res; rlim_t v; } lims[] = {
		{ RLIMIT_CORE, 0 },
		{ RLIMIT_NOFILE, CELL_NOFILE },
		{ RLIMIT_FSIZE, (rlim_t) disk_mb * 1024 * 1024 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(lims); i++) {
		struct rlimit rl = { .rlim_cur = lims[i].v, .rlim_max = lims[i].v };

		if (setrlimit(lims[i].res, &rl) < 0)
			return -errno;
	}
	return 0;
}

/* The stack the job's first process runs on until its execve. 64 KiB:
 * job_main's deepest frame is exec_job's JC_PATH_MAX buffer. */
static char job_stack[64 * 1024] __attribute__((aligned(16)));

struct job_args {
	const struct cell_spec *spec;
	const struct cell_fds *f;
};
static struct job_args job_args;

/* The job's first process, cloned by init; privileges are already gone. */
static _Noreturn void
job_main(const struct cell_spec *spec, const struct cell_fds *f)
{
	sigset_t none;
	int in = f->stdin_fd, r;

	/* Signal handlers are all default already: init reset them first
	 * thing and installs its TERM handler only once we have exec'd
	 * (CLONE_VFORK holds it until then). */
	if (setsid() < 0)
		die(f->report_w, CELL_STEP_STDIO, -errno);
	if (in < 0) {
		if ((in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			die(f->report_w, CELL_STEP_STDIO, -errno);
		if ((in = fd_above_stdio(in)) < 0)
			die(f->report_w, CELL_STEP_STDIO, in);
	}
	/* All sources are >= 3 (keep_cell_fds), so no dup2 clobbers another. */
	if (dup2(in, 0) < 0 || dup2(f->out_w, 1) < 0 || dup2(f->err_w, 2) < 0)
		die(f->report_w, CELL_STEP_STDIO, -errno);
	/* Everything else goes; the report fd is close-on-exec and stays
	 * only so that a failing execve can be told. */
	if (close_all_except((const int[]) { 0, 1, 2, f->report_w }, 4) < 0)
		die(f->report_w, CELL_STEP_FDS, -errno);
	(void) umask(022);
	if ((r = set_rlimits(spec->disk_mb)) < 0)
		die(f->report_w, CELL_STEP_RLIMITS, r);
	if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		die(f->report_w, CELL_STEP_SIGNALS, -errno);
	/* Last: from here on only execve (and, on failure, write + exit). */
	if ((r = seccomp_prog_install(&cell_filter)) < 0)
		die(f->report_w, CELL_STEP_SECCOMP, r);
	r = exec_job(spec->argv, spec->envp);
	die(f->report_w, CELL_STEP_EXEC, r);
}

static int
job_start(void *arg)
{
	const struct job_args *a = arg;

	job_main(a->spec, a->f);
}

/* /proc/1/cmdline is world-readable and would show the worker's command
 * line (and a setproctitle-style overrun its environment), which init's
 * memory still holds. Blank both regions of our copy; fork() gave the job
 * its own, so spec->argv pointing there (cellrun does) is unaffected.
 * Addresses from /proc/self/stat fields 48-51 (proc(5)). */
static int
scrub_cmdline(void)
{
	_cleanup_close_ int fd = -1;
	char buf[2048], *p, *end;
	unsigned long long v[4];
	ssize_t n;
	int field;

	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((n = read(fd, buf, sizeof(buf) - 1)) < 0)
		return -errno;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: skip past the
	 * last ')'. */
	if (!(p = strrchr(buf, ')')))
		return -EINVAL;
	p++;
	for (field = 3; field <= 51; field++) {
		while (*p == ' ')
			p++;
		if (field >= 48) {
			errno = 0;
			v[field - 48] = strtoull(p, &end, 10);
			if (errno || end == p)
				return -EINVAL;
			p = end;
		} else {
			p = strchrnul(p, ' ');
		}
		if (!*p && field < 51)
			return -EINVAL;
	}
	if (v[1] < v[0] || v[3] < v[2] || v[1] - v[0] > 1u << 24 ||
	    v[3] - v[2] > 1u << 24)
		return -EINVAL;
	memset((void *) (uintptr_t) v[0], 0, (size_t) (v[1] - v[0]));
	memset((void *) (uintptr_t) v[2], 0, (size_t) (v[3] - v[2]));
	if (v[1] - v[0] > sizeof("cell-init"))
		memcpy((void *) (uintptr_t) v[0], "cell-init", sizeof("cell-init"));
	return 0;
}

static void
init_on_term(int sig)
{
	int saved = errno;

	(void) sig;
	/* Every process of the pid namespace but init itself (kill(2)). */
	(void) kill(-1, SIGTERM);
	errno = saved;
}

/* The cell's pid 1 once the job runs: forward TERM, reap, report. */
static _Noreturn void
init_main(pid_t job, int report_w)
{
	struct sigaction sa = { .sa_handler = init_on_term };
	sigset_t mask;
	pid_t w;
	int st = 0, r;

	/* Non-dumpable: the job (same uid) cannot ptrace us or read our
	 * /proc files, which still show the worker's memory. */
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0 ||
	    prctl(PR_SET_NAME, (unsigned long) "cell-init", 0L, 0L, 0L) < 0)
		die(report_w, CELL_STEP_INIT, -errno);
	if ((r = scrub_cmdline()) < 0)
		die(report_w, CELL_STEP_INIT, r);
	/* Our copies of the job's pipes must go, or the worker never sees
	 * EOF; the worker's stdio and stdin fd too. */
	if (close_all_except(&report_w, 1) < 0)
		die(report_w, CELL_STEP_INIT, -errno);
	if (sigfillset(&sa.sa_mask) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		die(report_w, CELL_STEP_INIT, -errno);
	/* A TERM that came while it was blocked is delivered now and reaches
	 * the job (which keeps it pending until its own handlers are reset). */
	if (sigfillset(&mask) < 0 || sigdelset(&mask, SIGTERM) < 0 ||
	    sigprocmask(SIG_SETMASK, &mask, NULL) < 0)
		die(report_w, CELL_STEP_INIT, -errno);
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w == job)
			break;
		if (w < 0 && errno != EINTR)
			die(report_w, CELL_STEP_WAIT, -errno);
	}
	report(report_w, CELL_REPORT_EXITED, 0, 0, st);
	/* Exiting init makes the kernel SIGKILL everything left in the pid
	 * namespace (pid_namespaces(7)). */
	_exit(0);
}

/* The cloned child: pid 1 of the new pid namespace, all capabilities in the
 * new user namespace, all signals blocked (inherited from cell_start). */
static _Noreturn void
cell_main(const struct cell_spec *spec, struct cell_fds *f)
{
	struct pollfd pfd;
	pid_t job;
	char go;
	ssize_t n;
	int r, step;

	if ((r = reset_signal_handlers()) < 0)
		die(f->report_w, CELL_STEP_SIGNALS, r);
	if (prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L) < 0)
		die(f->report_w, CELL_STEP_PDEATHSIG, -errno);
	do
		n = read(f->sync_r, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || go != 'g')
		_exit(127);	/* the worker gave up on us and reaps us */
	(void) close(f->sync_r);
	f->sync_r = -1;

	if ((r = privs_enter_cell_ids(CELL_UID, CELL_GID, &step)) < 0)
		die(f->report_w, CELL_STEP_PRIVS + step, r);
	/* The uid change cleared the parent-death signal (prctl(2)): set it
	 * again, then make sure the worker did not die in between; with it
	 * gone, the report pipe has no reader and polls POLLERR. getppid()
	 * cannot tell: it is 0 for the init of a pid namespace. */
	if (prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L) < 0)
		die(f->report_w, CELL_STEP_PDEATHSIG, -errno);
	pfd = (struct pollfd) { .fd = f->report_w, .events = POLLOUT };
	if (poll(&pfd, 1, 0) < 0)
		die(f->report_w, CELL_STEP_PDEATHSIG, -errno);
	if (pfd.revents & POLLERR)
		_exit(127);
	/* Now that the worker attached us to the job's cgroup, a cgroup
	 * namespace rooted there hides the host's hierarchy. */
	if (unshare(CLONE_NEWCGROUP) < 0)
		die(f->report_w, CELL_STEP_CGROUP_NS, -errno);
	if ((r = keep_cell_fds(f)) < 0)
		die(f->report_w, CELL_STEP_FDS, r);
	(void) umask(022);

	if (sethostname(CELL_HOSTNAME, sizeof(CELL_HOSTNAME) - 1) < 0)
		die(f->report_w, CELL_STEP_HOSTNAME, -errno);
	if ((r = loopback_up()) < 0)
		die(f->report_w, CELL_STEP_LOOPBACK, r);
	if ((r = build_root(spec, &step)) < 0)
		die(f->report_w, step, r);
	if ((r = write_files(spec)) < 0)
		die(f->report_w, CELL_STEP_FILES, r);
	if ((r = enter_cwd(spec->cwd)) < 0)
		die(f->report_w, CELL_STEP_CWD, r);

	/* Init and job both run without privileges from here: the job
	 * inherits the dropped state through fork(). */
	if ((r = privs_drop_all(CELL_UID, CELL_GID, &step)) < 0)
		die(f->report_w, CELL_STEP_PRIVS + step, r);
	if (prctl(PR_SET_PDEATHSIG, (unsigned long) SIGKILL, 0L, 0L, 0L) < 0)
		die(f->report_w, CELL_STEP_PDEATHSIG, -errno);

	/* posix_spawn-style: the job shares init's memory until its execve
	 * (CLONE_VM | CLONE_VFORK) and runs on a stack of its own, so no page
	 * table of the worker's address space is copied a second time; it
	 * was the largest single cost of a cell (bench/README.md). Init is
	 * suspended meanwhile, so nothing races on the shared memory; the
	 * job's writes there are to its own stack and errno. */
	job_args = (struct job_args) { .spec = spec, .f = f };
	job = clone(job_start, job_stack + sizeof(job_stack),
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &job_args);
	if (job < 0)
		die(f->report_w, CELL_STEP_FORK, -errno);
	init_main(job, f->report_w);
}

/* ---- worker side ---- */

static int
make_pipe(int *ret_r, int *ret_w, bool nonblock_read)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* Only the read end: O_NONBLOCK is per open file description, and
	 * the job's write end must block like any ordinary stdout. */
	if (nonblock_read && fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		(void) close(p[0]);
		(void) close(p[1]);
		return r;
	}
	*ret_r = p[0];
	*ret_w = p[1];
	return 0;
}

static void
kill_and_reap(pid_t pid)
{
	pid_t w;

	(void) kill(pid, SIGKILL);
	do
		w = waitpid(pid, NULL, 0);
	while (w < 0 && errno == EINTR);
}

/* Copies s for error sentences: truncated, control bytes as '?'. */
static void
copy_name(char *dst, size_t size, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < size && s[i]; i++)
		dst[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	dst[i] = '\0';
}

/* Starts slirp4netns for the cell whose init is pid and waits until it has
 * configured tap0 (10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3). It runs
 * as root only to enter the cell's network namespace, then sandboxes
 * itself (--enable-sandbox: own mount namespace, capabilities dropped;
 * --enable-seccomp); --disable-host-loopback keeps the job away from the
 * host's 127.0.0.1 services. It exits when *ret_exit_w is closed. */
static int
slirp_start(pid_t pid, pid_t *ret_pid, int *ret_exit_w)
{
	_cleanup_close_ int ready_r = -1, ready_w = -1, exit_r = -1, exit_w = -1;
	char spid[16], sready[16], sexit[16], ok;
	struct pollfd p;
	pid_t child;
	int r;

	if (access(SLIRP4NETNS, X_OK) < 0)
		return -errno;
	if ((r = make_pipe(&ready_r, &ready_w, false)) < 0 ||
	    (r = make_pipe(&exit_r, &exit_w, false)) < 0)
		return r;
	(void) snprintf(spid, sizeof(spid), "%d", (int) pid);
	(void) snprintf(sready, sizeof(sready), "--ready-fd=%d", ready_w);
	(void) snprintf(sexit, sizeof(sexit), "--exit-fd=%d", exit_r);
	if ((child = fork()) < 0)
		return -errno;
	if (child == 0) {
		static char a0[] = SLIRP4NETNS, a1[] = "--configure",
		    a2[] = "--mtu=65520", a3[] = "--disable-host-loopback",
		    a4[] = "--enable-sandbox", a5[] = "--enable-seccomp",
		    a6[] = "tap0";
		char *const argv[] = {
			a0, a1, a2, a3, a4, a5, sready, sexit, spid, a6, NULL,
		};
		char *const envp[] = { NULL };
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		sigset_t none;

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
		    dup2(nul, 2) < 0 ||
		    fcntl(ready_w, F_SETFD, 0) < 0 || fcntl(exit_r, F_SETFD, 0) < 0 ||
		    close_all_except((const int[]) { 0, 1, 2, ready_w, exit_r },
		    5) < 0 || signal(SIGPIPE, SIG_DFL) == SIG_ERR ||
		    signal(SIGHUP, SIG_DFL) == SIG_ERR ||
		    signal(SIGTERM, SIG_DFL) == SIG_ERR ||
		    sigemptyset(&none) < 0 ||
		    sigprocmask(SIG_SETMASK, &none, NULL) < 0)
			_exit(127);
		(void) execve(SLIRP4NETNS, argv, envp);
		_exit(127);
	}
	close_fd(&ready_w);
	close_fd(&exit_r);
	p = (struct pollfd) { .fd = ready_r, .events = POLLIN };
	do
		r = poll(&p, 1, SLIRP_READY_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || read(ready_r, &ok, 1) != 1 || ok != '1') {
		r = r < 0 ? -errno : -ETIMEDOUT;
		kill_and_reap(child);
		return r;
	}
	*ret_pid = child;
	*ret_exit_w = steal_fd(&exit_w);
	return 0;
}

static void
slirp_stop(struct cell *c)
{
	pid_t w = 0;

	if (c->slirp_pid <= 0)
		return;
	close_fd(&c->slirp_exit_fd);	/* slirp4netns exits on EOF */
	for (int i = 0; i < 100 && w == 0; i++) {
		w = waitpid(c->slirp_pid, NULL, WNOHANG);
		if (w == 0)
			(void) poll(NULL, 0, 10);
	}
	if (w == 0)
		kill_and_reap(c->slirp_pid);
	c->slirp_pid = -1;
}

static int
check_spec(const struct cell_spec *spec)
{
	if (!spec || !spec->argv || !spec->argv[0] || !spec->envp)
		return -EINVAL;
	if (spec->host_uid == 0 || spec->host_gid == 0 ||
	    spec->host_uid == (uid_t) -1 || spec->host_gid == (gid_t) -1)
		return -EINVAL;
	if (spec->disk_mb < 1 || spec->disk_mb > CELL_DISK_MB_MAX)
		return -EINVAL;
	if (spec->nfiles > 0 && !spec->files)
		return -EINVAL;
	return 0;
}

int
cell_start(const struct cell_spec *spec, struct cell *ret)
{
	_cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
	_cleanup_close_ int rep_r = -1, rep_w = -1, sync_r = -1, sync_w = -1;
	_cleanup_close_ int slirp_w = -1;
	pid_t slirp_pid = -1;
	struct cell_fds f;
	sigset_t all, old;
	ssize_t n;
	pid_t pid;
	int r;

	if ((r = check_spec(spec)) < 0)
		return r;
	if (!cell_filter.insns && (r = seccomp_prog_build(EPERM, &cell_filter)) < 0)
		return r;
	if ((r = make_pipe(&out_r, &out_w, true)) < 0 ||
	    (r = make_pipe(&err_r, &err_w, true)) < 0 ||
	    (r = make_pipe(&rep_r, &rep_w, true)) < 0 ||
	    (r = make_pipe(&sync_r, &sync_w, false)) < 0)
		return r;

	/* The child starts with every signal blocked, so none of the worker's
	 * handlers runs in it and a TERM sent before init installs its
	 * handler stays pending instead of being dropped (an init without a
	 * handler discards it). CLONE_NEWCGROUP is left to the child, after
	 * spec->attach. A fork-style clone (no new stack), as bubblewrap. */
	if (sigfillset(&all) < 0 || sigprocmask(SIG_SETMASK, &all, &old) < 0)
		return -errno;
	pid = (pid_t) syscall(SYS_clone, (unsigned long) (CLONE_NEWUSER |
	    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS |
	    CLONE_NEWIPC | SIGCHLD), NULL, NULL, NULL, 0UL);
	if (pid == 0) {
		f = (struct cell_fds) {
			.out_w = out_w, .err_w = err_w, .report_w = rep_w,
			.sync_r = sync_r, .stdin_fd = spec->stdin_fd,
		};
		(void) close(out_r);
		(void) close(err_r);
		(void) close(rep_r);
		(void) close(sync_w);
		cell_main(spec, &f);
	}
	r = pid < 0 ? -errno : 0;
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0 && r == 0)
		r = -errno;
	if (pid < 0)
		return r;
	close_fd(&out_w);
	close_fd(&err_w);
	close_fd(&rep_w);
	close_fd(&sync_r);
	if (r < 0)
		goto fail;

	if ((r = privs_write_id_maps(pid, CELL_UID, spec->host_uid, CELL_GID,
	    spec->host_gid)) < 0)
		goto fail;
	if (spec->attach && (r = spec->attach(pid, spec->attach_arg)) < 0)
		goto fail;
	if (spec->network && (r = slirp_start(pid, &slirp_pid, &slirp_w)) < 0)
		goto fail;
	if ((n = write(sync_w, "g", 1)) != 1) {
		r = n < 0 ? -errno : -EIO;
		goto fail;
	}

	ret->pid = pid;
	ret->slirp_pid = slirp_pid;
	ret->slirp_exit_fd = steal_fd(&slirp_w);
	ret->stdout_fd = steal_fd(&out_r);
	ret->stderr_fd = steal_fd(&err_r);
	ret->report_fd = steal_fd(&rep_r);
	copy_name(ret->argv0, sizeof(ret->argv0), spec->argv[0]);
	return 0;
fail:
	kill_and_reap(pid);	/* it is still waiting on sync: nothing ran */
	if (slirp_pid > 0) {
		close_fd(&slirp_w);
		kill_and_reap(slirp_pid);
	}
	return r;
}

int
cell_signal(struct cell *c, int sig)
{
	if (sig != SIGTERM && sig != SIGKILL)
		return -EINVAL;
	if (c->pid <= 0)
		return -ESRCH;
	if (kill(c->pid, sig) < 0)
		return -errno;
	return 0;
}

static const char *
step_name(int32_t step)
{
	if (step >= CELL_STEP_PRIVS && step < CELL_STEP_PRIVS + PRIVS_STEP__MAX)
		return privs_step_name(step - CELL_STEP_PRIVS);
	if (step > 0 && step < CELL_STEP__MAX && cell_step_names[step])
		return cell_step_names[step];
	return "an unknown step";
}

static void
describe_failure(const struct cell *c, const struct cell_report *rec,
    char *buf, size_t size)
{
	char ebuf[128];
	const char *es;
	int err = rec->err > 0 && rec->err < 4096 ? rec->err : EIO;

	es = strerror_r(err, ebuf, sizeof(ebuf));
	if (rec->step == CELL_STEP_EXEC)
		(void) snprintf(buf, size, "exec '%s': %s", c->argv0, es);
	else
		(void) snprintf(buf, size, "cannot build the cell: %s: %s",
		    step_name(rec->step), es);
}

int
cell_try_wait(struct cell *c, struct cell_result *ret)
{
	struct cell_report rec, failed = { 0 }, exited = { 0 };
	bool have_failed = false, have_exited = false;
	struct cell_result res;
	ssize_t n;
	pid_t w;
	int st;

	if (c->pid <= 0)
		return -ECHILD;
	w = waitpid(c->pid, &st, WNOHANG);
	if (w < 0)
		return -errno;
	if (w == 0)
		return 0;
	c->pid = -1;

	/* Init is gone, and with it every process of the cell (the kernel
	 * reaps the pid namespace before init's exit completes), so the pipe
	 * holds all there will ever be: at most an exec failure and the
	 * exit record. Take a few, never more. */
	for (int i = 0; i < 4; i++) {
		n = read(c->report_fd, &rec, sizeof(rec));
		if (n < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (n != (ssize_t) sizeof(rec))
			break;
		if (rec.kind == CELL_REPORT_SETUP_FAILED && !have_failed) {
			failed = rec;
			have_failed = true;
		} else if (rec.kind == CELL_REPORT_EXITED && !have_exited) {
			exited = rec;
			have_exited = true;
		}
	}

	memset(&res, 0, sizeof(res));
	if (have_failed) {
		res.outcome = CELL_SETUP_FAILED;
		describe_failure(c, &failed, res.error, sizeof(res.error));
	} else if (have_exited && WIFEXITED(exited.wstatus)) {
		res.outcome = CELL_EXITED;
		res.exit_code = WEXITSTATUS(exited.wstatus);
	} else if (have_exited && WIFSIGNALED(exited.wstatus)) {
		res.outcome = CELL_SIGNALED;
		res.signal = WTERMSIG(exited.wstatus);
	} else if (!have_exited && WIFSIGNALED(st)) {
		/* Init killed before the job ended: our SIGKILL (timeout,
		 * cancel) or the worker's death taking it along. */
		res.outcome = CELL_SIGNALED;
		res.signal = WTERMSIG(st);
	} else {
		res.outcome = CELL_SETUP_FAILED;
		(void) snprintf(res.error, sizeof(res.error),
		    "cannot build the cell: its init ended (status 0x%x) "
		    "without a report", (unsigned) st);
	}
	*ret = res;
	return 1;
}

void
cell_release(struct cell *c)
{
	if (c->pid > 0) {
		kill_and_reap(c->pid);
		c->pid = -1;
	}
	slirp_stop(c);
	close_fd(&c->stdout_fd);
	close_fd(&c->stderr_fd);
	close_fd(&c->report_fd);
}
