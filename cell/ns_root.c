/* ns_root.c - the namespace cell's root and mounts, built by the cell's
 * init in its private mount namespace: a tmpfs root with the host's
 * toolchain bound read-only, a curated /etc, a fresh /proc (mount_proc), a
 * minimal /dev, sized tmpfs /work and /tmp, then pivot_root and a
 * read-only remount. Runs after clone(), in the cell; no stdio, no
 * logging. Trusts nothing under the new root but what it made. */
#include <errno.h>
#include <fcntl.h>
/* NAME_MAX; under -Ilib, <limits.h> finds lib/limits.h */
#include <linux/limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cell_int.h"
#include "cleanup.h"
#include "io.h"
#include "jc_limits.h"
#include "ns_int.h"
#include "banned.h"

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
	int r;

	if ((r = in_root(p, sizeof(p), rel)) < 0)
		return r;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	return write_full(fd, content, strlen(content));
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

/* Covers cell_proc_masked (cell.c) in the new proc: a file with the
 * host's /dev/null; a directory with an empty read-only tmpfs.
 * The proc mount is our own (made in this user namespace), so both are
 * allowed; the job, without capabilities, cannot take them off. */
static int
mask_proc(void)
{
	char dst[JC_PATH_MAX];
	struct stat st;
	int r;

	for (size_t i = 0; i < cell_proc_masked_n; i++) {
		if ((r = in_root(dst, sizeof(dst), cell_proc_masked[i])) < 0)
			return r;
		if (lstat(dst, &st) < 0) {
			if (errno == ENOENT)
				continue;	/* not in this kernel */
			return -errno;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", dst, "tmpfs", MS_RDONLY | MS_NOSUID |
			    MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,"
			    "mode=0555") < 0)
				return -errno;
		} else if (mount("/dev/null", dst, NULL, MS_BIND, NULL) < 0) {
			/* One mount, not a read-only remount as well: what
			 * is written to /dev/null is gone anyway (as runc
			 * masks). */
			return -errno;
		}
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
	return mask_proc();
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
int
ns_build_root(const struct cell_spec *spec, int work_fd, int *step)
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
	if ((r = work_fd >= 0 ?
		    ns_mount_workspace(work_fd) :
		    mount_scratch("/work", "0700", spec->disk_mb)) < 0)
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

/* A warm cell (ns_pool.c) was built for another size: /work (unless a
 * disk workspace replaced it), /tmp and /dev/shm, still empty, are
 * remounted at the job's (after pivot_root, as the cell's init; tmpfs
 * takes a new size and inode count on remount, the flags stay those of
 * the mount). */
int
ns_resize_scratch(uint64_t size_mb, bool work_too)
{
	static const char *const dirs[] = { "/work", "/tmp", "/dev/shm" };
	char opts[64];
	int n;

	n = snprintf(opts, sizeof(opts), "size=%llum,nr_inodes=%llu",
	    (unsigned long long) size_mb,
	    (unsigned long long) (size_mb < 4 ? 1024 : size_mb * 256));
	if (n < 0 || (size_t) n >= sizeof(opts))
		return -E2BIG;
	for (size_t i = work_too ? 0 : 1; i < ARRAY_SIZE(dirs); i++)
		if (mount(NULL, dirs[i], NULL,
			MS_REMOUNT | MS_NOSUID | MS_NODEV, opts) < 0)
			return -errno;
	return 0;
}
