/* workspace.c - a job's disk workspace (docs/architecture.md, "Disk
 * workspaces"): a sparse ext4 image of disk_mb under DATA/work, made by
 * mkfs.ext4, attached to a loop device (LOOP_CONFIGURE, autoclear) and
 * mounted at DATA/work/<job id>, its root owned by the slot's uid. Runs in
 * a jobcell-worker process (root) and, for the sweep, in the supervisor.
 * Trusts nothing inside the mounted file system (the job wrote it).
 *
 * Why an image per job: this kernel has no quota support (ext4 prjquota and
 * XFS project quotas both fail), and a file system of the job's own makes
 * disk_mb a hard ENOSPC, bounds the inode count, keeps jobs apart and goes
 * away whole: umount, the loop device clears itself, the image is already
 * unlinked (it lives on only through the loop device). */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "cell.h"
#include "cleanup.h"
#include "jc_limits.h"
#include "log.h"
#include "banned.h"

#define MKFS_EXT4 "/sbin/mkfs.ext4"
/* a literal for an exec argv (which is char *const[], never written) */
#define S(lit) ((char *) (uintptr_t) (lit))

struct cell_workspace {
	char mnt[JC_PATH_MAX]; /* DATA/work/<job id>: the mount point */
	char img[JC_PATH_MAX]; /* DATA/work/<job id>.img (unlinked once
				 * mounted) */
	char dev[32];	       /* /dev/loopN: the file system's device */
	int root_fd;	       /* the mounted root, O_DIRECTORY */
	bool mounted;
};

const char *
cell_workspace_path(const struct cell_workspace *ws)
{
	return ws->mnt;
}

int
cell_workspace_dirfd(const struct cell_workspace *ws)
{
	return ws->root_fd;
}

const char *
cell_workspace_device(const struct cell_workspace *ws)
{
	return ws->dev;
}

/* DATA/work, made if missing (DATA too, not its parents): root's, 0711
 * (each workspace below is its slot's own, 0700). */
static int
work_dir(const char *data_dir, char *buf, size_t size)
{
	if ((size_t) snprintf(buf, size, "%s/work", data_dir) >= size)
		return -ENAMETOOLONG;
	if (mkdir(data_dir, 0711) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(buf, 0711) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* mkfs.ext4 on img: no journal (the workspace dies with the job), lazy
 * init (a sparse image stays sparse), no reserved blocks, inodes bounding
 * the file count, root owned by the slot. ~40 ms for 8 GiB here. */
static int
run_mkfs(const char *img, uid_t uid, gid_t gid, uint64_t inodes)
{
	char owner[64], ninodes[32];
	char *argv[] = { S(MKFS_EXT4), S("-q"), S("-F"), S("-O"),
		S("^has_journal,^resize_inode"), S("-E"), owner, S("-m"),
		S("0"), S("-N"), ninodes, S(img), NULL };
	char *envp[] = { S("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r, st;

	if ((size_t) snprintf(owner, sizeof(owner),
		"lazy_itable_init=1,"
		"nodiscard,root_owner=%lu:%lu",
		(unsigned long) uid, (unsigned long) gid) >= sizeof(owner) ||
	    (size_t) snprintf(ninodes, sizeof(ninodes), "%llu",
		(unsigned long long) inodes) >= sizeof(ninodes))
		return -E2BIG;
	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		return -r;
	/* stdio to /dev/null: its chatter is not ours to log */
	if ((r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
		 0)) != 0 ||
	    (r = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
		 0)) != 0 ||
	    (r = posix_spawn_file_actions_adddup2(&fa, 1, 2)) != 0) {
		(void) posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	r = posix_spawn(&pid, MKFS_EXT4, &fa, NULL, argv, envp);
	(void) posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* A free loop device bound to img_fd, cleared by the kernel on the last
 * close/umount (LO_FLAGS_AUTOCLEAR). Its fd, or -errno. */
static int
loop_attach(int img_fd, int *ret_num)
{
	_cleanup_close_ int ctl = -1;
	struct loop_config cfg;

	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (uint32_t) img_fd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	/* Another worker may take the device between GET_FREE and
	 * CONFIGURE (EBUSY): ask again. */
	for (int tries = 0; tries < 64; tries++) {
		char dev[32];
		int n, fd;

		if ((n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
			return -errno;
		(void) snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		if ((fd = open(dev, O_RDWR | O_CLOEXEC)) < 0)
			return -errno;
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
			*ret_num = n;
			return fd;
		}
		n = -errno;
		(void) close(fd);
		if (n != -EBUSY)
			return n;
	}
	return -EBUSY;
}

/* Inodes: one per 16 KiB of disk_mb, at least 1024, at most 1 M. The
 * count bounds the files a job (and its inputs) can make. */
static uint64_t
workspace_inodes(uint64_t disk_mb)
{
	uint64_t n = disk_mb * 64;

	return n < 1024 ? 1024 : n > 1048576 ? 1048576 : n;
}

int
cell_workspace_create(const char *data_dir, const char *job_id, uid_t uid,
    gid_t gid, uint64_t disk_mb, struct cell_workspace **ret, char *msg,
    size_t size)
{
	_cleanup_close_ int img_fd = -1, loop_fd = -1;
	struct cell_workspace *ws;
	char dir[JC_PATH_MAX];
	const char *what;
	int loop_num = -1, r;

	if (!(ws = calloc(1, sizeof(*ws))))
		return -ENOMEM;
	ws->root_fd = -1;
	what = "cannot make DATA/work";
	if ((r = work_dir(data_dir, dir, sizeof(dir))) < 0)
		goto fail;
	what = "the workspace path is too long";
	r = -ENAMETOOLONG;
	if ((size_t) snprintf(ws->mnt, sizeof(ws->mnt), "%s/%s", dir, job_id) >=
		sizeof(ws->mnt) ||
	    (size_t) snprintf(ws->img, sizeof(ws->img), "%s/%s.img", dir,
		job_id) >= sizeof(ws->img))
		goto fail;
	/* Docker's Binds split on ':' and ','. */
	what = "the data directory's path holds ':' or ','";
	r = -EINVAL;
	if (strpbrk(ws->mnt, ":,"))
		goto fail;
	what = "cannot make the image";
	if ((img_fd = open(ws->img,
		 O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) <
	    0) {
		r = -errno;
		ws->img[0] = '\0'; /* not ours to unlink */
		goto fail;
	}
	if (ftruncate(img_fd, (off_t) (disk_mb << 20)) < 0) {
		r = -errno;
		goto fail;
	}
	what = "mkfs.ext4 failed";
	if ((r = run_mkfs(ws->img, uid, gid, workspace_inodes(disk_mb))) < 0)
		goto fail;
	what = "cannot attach a loop device";
	if ((loop_fd = loop_attach(img_fd, &loop_num)) < 0) {
		r = loop_fd;
		goto fail;
	}
	what = "cannot mount the workspace";
	if (mkdir(ws->mnt, 0700) < 0) {
		r = -errno;
		goto fail;
	}
	(void) snprintf(ws->dev, sizeof(ws->dev), "/dev/loop%d", loop_num);
	if (mount(ws->dev, ws->mnt, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME,
		"errors=remount-ro") < 0) {
		r = -errno;
		(void) rmdir(ws->mnt);
		goto fail;
	}
	ws->mounted = true;
	/* The loop device keeps the image; the name can go now, so a crash
	 * leaves only a mount, which the sweep ends. */
	(void) unlink(ws->img);
	ws->img[0] = '\0';
	what = "cannot prepare the workspace's root";
	if ((ws->root_fd = open(ws->mnt,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = -errno;
		goto fail_dir;
	}
	/* Empty at start: mkfs's lost+found goes (the job may not use it,
	 * and a fresh fs needs no fsck). */
	if (unlinkat(ws->root_fd, "lost+found", AT_REMOVEDIR) < 0 &&
	    errno != ENOENT) {
		r = -errno;
		goto fail_dir;
	}
	if (fchown(ws->root_fd, uid, gid) < 0 ||
	    fchmod(ws->root_fd, 0700) < 0) {
		r = -errno;
		goto fail_dir;
	}
	*ret = ws;
	return 0;
fail_dir:
	cell_workspace_destroy(ws);
	ws = NULL;
	(void) snprintf(msg, size, "the workspace could not be made: %s: %s",
	    what, strerror(-r));
	return r;
fail:
	if (ws->img[0])
		(void) unlink(ws->img);
	free(ws);
	(void) snprintf(msg, size, "the workspace could not be made: %s: %s",
	    what, strerror(-r));
	return r;
}

/* Unmounts path (lazily if something still holds it) and removes the
 * mount point. 0 or -errno. */
static int
workspace_unmount(const char *path)
{
	if (umount2(path, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
	    errno != ENOENT && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
		return -errno;
	if (rmdir(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

void
cell_workspace_destroy(struct cell_workspace *ws)
{
	int r;

	if (!ws)
		return;
	close_fd(&ws->root_fd);
	if (ws->mounted && (r = workspace_unmount(ws->mnt)) < 0)
		log_errno(r, "workspace '%s': cannot remove it", ws->mnt);
	if (ws->img[0])
		(void) unlink(ws->img);
	free(ws);
}

int
cell_workspace_sweep(const char *data_dir)
{
	char dir[JC_PATH_MAX];
	DIR *d;
	struct dirent *e;
	int n = 0, r;

	if ((size_t) snprintf(dir, sizeof(dir), "%s/work", data_dir) >=
	    sizeof(dir))
		return -ENAMETOOLONG;
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char p[JC_PATH_MAX];
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		if ((size_t) snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
		    sizeof(p))
			continue;
		if (e->d_type == DT_DIR) {
			if ((r = workspace_unmount(p)) < 0)
				log_errno(r,
				    "workspace '%s': cannot remove it, "
				    "ignoring",
				    p);
			else
				n++;
		} else if (e->d_type == DT_REG &&
		    (len = strlen(e->d_name)) > 4 &&
		    strcmp(e->d_name + len - 4, ".img") == 0) {
			if (unlink(p) < 0)
				log_errno(-errno,
				    "workspace image '%s': cannot "
				    "remove it, ignoring",
				    p);
			else
				n++;
		}
	}
	(void) closedir(d);
	return n;
}
