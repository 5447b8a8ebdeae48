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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "cell.h"
#include "cleanup.h"
#include "io.h"
#include "jc_limits.h"
#include "log.h"
#include "parse.h"
#include "workspace_int.h"
#include "banned.h"

#define MKFS_EXT4 "/sbin/mkfs.ext4"
/* a literal for an exec argv (which is char *const[], never written) */
#define S(lit) ((char *) (uintptr_t) (lit))
/* ext4 mount options. nobarrier: no cache flush on umount (ext4 without a
 * journal issues one from sync_fs, and the loop device turns it into an
 * fsync of the image: a disk write of data that dies with the job);
 * noinit_itable: no background zeroing of the inode tables (the image is
 * sparse, its holes read as zeros already). */
#define WS_MOUNT_OPTS "errors=remount-ro,nobarrier,noinit_itable"

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

/* ws->dev from the mounted root's device number: the block device's
 * name the kernel gives in /sys/dev/block/MAJ:MIN/uevent (DEVNAME=loopN).
 * 0 or -errno. */
static int
ws_note_device(struct cell_workspace *ws)
{
	_cleanup_close_ int fd = -1;
	char path[64], buf[512], *p, *end;
	struct stat st;
	ssize_t n;

	if (fstat(ws->root_fd, &st) < 0)
		return -errno;
	(void) snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent",
	    major(st.st_dev), minor(st.st_dev));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((n = read_full(fd, buf, sizeof(buf) - 1)) < 0)
		return (int) n;
	buf[n] = '\0';
	if (!(p = strstr(buf, "DEVNAME=")))
		return -ENODEV;
	p += strlen("DEVNAME=");
	end = p + strcspn(p, "\n");
	*end = '\0';
	if (strncmp(p, "loop", 4) != 0 || strchr(p, '/') ||
	    (size_t) snprintf(ws->dev, sizeof(ws->dev), "/dev/%s", p) >=
		sizeof(ws->dev))
		return -ENODEV;
	return 0;
}

/* DATA/work, made if missing (DATA too, not its parents): root's, 0711
 * (each workspace below is its slot's own, 0700). */
int
ws_work_dir(const char *data_dir, char *buf, size_t size)
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
int
ws_run_mkfs(const char *img, uid_t uid, gid_t gid, uint64_t inodes)
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
uint64_t
ws_inodes(uint64_t disk_mb)
{
	uint64_t n = disk_mb * 64;

	return n < 1024 ? 1024 : n > 1048576 ? 1048576 : n;
}

/* A workspace named name under DATA/work, nothing made yet but DATA/work:
 * 0 with *ret, or -errno with *what set. */
static int
ws_new(const char *data_dir, const char *name, struct cell_workspace **ret,
    const char **what)
{
	struct cell_workspace *ws;
	char dir[JC_PATH_MAX];
	int r;

	if (!(ws = calloc(1, sizeof(*ws))))
		return -ENOMEM;
	ws->root_fd = -1;
	*what = "cannot make DATA/work";
	if ((r = ws_work_dir(data_dir, dir, sizeof(dir))) < 0)
		goto fail;
	*what = "the workspace path is too long";
	r = -ENAMETOOLONG;
	if ((size_t) snprintf(ws->mnt, sizeof(ws->mnt), "%s/%s", dir, name) >=
		sizeof(ws->mnt) ||
	    (size_t) snprintf(ws->img, sizeof(ws->img), "%s/%s.img", dir,
		name) >= sizeof(ws->img))
		goto fail;
	/* Docker's Binds split on ':' and ','. */
	*what = "the data directory's path holds ':' or ','";
	r = -EINVAL;
	if (strpbrk(ws->mnt, ":,"))
		goto fail;
	ws->img_made = false;
	*ret = ws;
	return 0;
fail:
	free(ws);
	return r;
}

/* The image file, sparse, of disk_mb: its fd, or -errno. */
static int
ws_open_image(struct cell_workspace *ws, uint64_t disk_mb)
{
	_cleanup_close_ int fd = -1;

	if ((fd = open(ws->img,
		 O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return -errno;
	ws->img_made = true;
	if (ftruncate(fd, (off_t) (disk_mb << 20)) < 0)
		return -errno;
	return steal_fd(&fd);
}

/* Attaches the image to a loop device, mounts it at ws->mnt, unlinks the
 * image, opens the root and hands it to uid:gid, empty. 0 or -errno with
 * *what set; on failure nothing is left mounted (ws->img may remain: the
 * caller's to unlink). */
static int
ws_mount_image(struct cell_workspace *ws, int img_fd, uid_t uid, gid_t gid,
    const char **what)
{
	_cleanup_close_ int loop_fd = -1;
	char dev[64];
	int loop_num = -1, r;

	*what = "cannot attach a loop device";
	if ((loop_fd = loop_attach(img_fd, &loop_num)) < 0)
		return loop_fd;
	*what = "cannot mount the workspace";
	if (mkdir(ws->mnt, 0700) < 0)
		return -errno;
	(void) snprintf(dev, sizeof(dev), "/dev/loop%d", loop_num);
	if (mount(dev, ws->mnt, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME,
		WS_MOUNT_OPTS) < 0) {
		r = -errno;
		(void) rmdir(ws->mnt);
		return r;
	}
	ws->mounted = true;
	/* The loop device keeps the image; the name can go now, so a crash
	 * leaves only a mount, which the sweep ends. */
	(void) unlink(ws->img);
	ws->img_made = false;
	*what = "cannot prepare the workspace's root";
	if ((ws->root_fd = open(ws->mnt,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	if ((r = ws_note_device(ws)) < 0)
		return r;
	/* Empty at start: mkfs's lost+found goes (the job may not use it,
	 * and a fresh fs needs no fsck). */
	if (unlinkat(ws->root_fd, "lost+found", AT_REMOVEDIR) < 0 &&
	    errno != ENOENT)
		return -errno;
	if (fchown(ws->root_fd, uid, gid) < 0 || fchmod(ws->root_fd, 0700) < 0)
		return -errno;
	return 0;
}

/* Undoes a half-made workspace and writes the job's sentence. */
static int
ws_failed(struct cell_workspace *ws, const char *what, int r, char *msg,
    size_t size)
{
	ws_discard(ws);
	if (msg)
		(void) snprintf(msg, size,
		    "the workspace could not be made: %s: %s", what,
		    strerror(-r));
	return r;
}

void
ws_discard(struct cell_workspace *ws)
{
	int r;

	if (!ws)
		return;
	close_fd(&ws->root_fd);
	if (ws->mounted && (r = ws_unmount(ws->mnt)) < 0)
		log_errno(r, "workspace '%s': cannot remove it", ws->mnt);
	if (ws->img_made)
		(void) unlink(ws->img);
	free(ws);
}

int
cell_workspace_create(const char *data_dir, const char *job_id, uid_t uid,
    gid_t gid, uint64_t disk_mb, struct cell_workspace **ret, char *msg,
    size_t size)
{
	_cleanup_close_ int img_fd = -1;
	struct cell_workspace *ws = NULL;
	const char *what;
	int r;

	if ((r = ws_new(data_dir, job_id, &ws, &what)) < 0) {
		(void) snprintf(msg, size,
		    "the workspace could not be made: %s: %s", what,
		    strerror(-r));
		return r;
	}
	what = "cannot make the image";
	if ((img_fd = ws_open_image(ws, disk_mb)) < 0)
		return ws_failed(ws, what, img_fd, msg, size);
	what = "mkfs.ext4 failed";
	if ((r = ws_run_mkfs(ws->img, uid, gid, ws_inodes(disk_mb))) < 0)
		return ws_failed(ws, what, r, msg, size);
	if ((r = ws_mount_image(ws, img_fd, uid, gid, &what)) < 0)
		return ws_failed(ws, what, r, msg, size);
	*ret = ws;
	return 0;
}

/* Copies the written extents of tmpl_fd into fd (both of one size): an
 * empty ext4 is a few hundred KiB of metadata in a sparse file. */
static int
ws_copy_sparse(int tmpl_fd, int fd)
{
	off_t off = 0, data, hole;

	for (;;) {
		if ((data = lseek(tmpl_fd, off, SEEK_DATA)) < 0)
			return errno == ENXIO ? 0 : -errno;
		if ((hole = lseek(tmpl_fd, data, SEEK_HOLE)) < 0)
			return -errno;
		for (loff_t in = data, out = data; in < hole;) {
			ssize_t n = copy_file_range(tmpl_fd, &in, fd, &out,
			    (size_t) (hole - in), 0);

			if (n < 0)
				return -errno;
			if (n == 0)
				return -EIO;
		}
		off = hole;
	}
}

int
ws_make_from_template(const char *data_dir, const char *name, int tmpl_fd,
    uint64_t disk_mb, uid_t uid, gid_t gid, struct cell_workspace **ret,
    char *msg, size_t size)
{
	_cleanup_close_ int img_fd = -1;
	struct cell_workspace *ws = NULL;
	const char *what;
	int r;

	if ((r = ws_new(data_dir, name, &ws, &what)) < 0)
		return r;
	what = "cannot make the image";
	if ((img_fd = ws_open_image(ws, disk_mb)) < 0)
		return ws_failed(ws, what, img_fd, msg, size);
	what = "cannot copy the template";
	if ((r = ws_copy_sparse(tmpl_fd, img_fd)) < 0)
		return ws_failed(ws, what, r, msg, size);
	if ((r = ws_mount_image(ws, img_fd, uid, gid, &what)) < 0)
		return ws_failed(ws, what, r, msg, size);
	*ret = ws;
	return 0;
}

int
ws_template(const char *data_dir, const char *name, uint64_t disk_mb)
{
	_cleanup_close_ int fd = -1;
	struct cell_workspace *ws = NULL;
	const char *what;
	int r;

	if ((r = ws_new(data_dir, name, &ws, &what)) < 0)
		return r;
	if ((fd = ws_open_image(ws, disk_mb)) < 0 ||
	    (r = ws_run_mkfs(ws->img, 0, 0, ws_inodes(disk_mb))) < 0) {
		r = fd < 0 ? fd : r;
		ws_discard(ws);
		return r;
	}
	ws_discard(ws); /* unlinks the name; fd keeps the image */
	return steal_fd(&fd);
}

int
ws_adopt(const char *path, struct cell_workspace **ret)
{
	struct cell_workspace *ws;
	struct stat st, up;
	char parent[JC_PATH_MAX], *slash;
	int r;

	if (!(ws = calloc(1, sizeof(*ws))))
		return -ENOMEM;
	ws->root_fd = -1;
	if (str_copy(ws->mnt, sizeof(ws->mnt), path) < 0 ||
	    str_copy(parent, sizeof(parent), path) < 0 ||
	    !(slash = strrchr(parent, '/'))) {
		free(ws);
		return -ENAMETOOLONG;
	}
	*slash = '\0';
	ws->mounted = true; /* from here, ws_discard unmounts it */
	if ((ws->root_fd = open(ws->mnt,
		 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(ws->root_fd, &st) < 0 || stat(parent, &up) < 0) {
		r = -errno;
		ws_discard(ws);
		return r;
	}
	/* A mount of its own, or not ours to use. */
	if (st.st_dev == up.st_dev) {
		ws->mounted = false;
		ws_discard(ws);
		return -ENOTBLK;
	}
	if ((r = ws_note_device(ws)) < 0) {
		ws_discard(ws);
		return r;
	}
	*ret = ws;
	return 0;
}

/* Unmounts path (lazily if something still holds it) and removes the
 * mount point. 0 or -errno. */
int
ws_unmount(const char *path)
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
	if (!ws)
		return;
	/* Unmounting waits on the file system's writeback and the loop
	 * device's teardown: the pool's helper does it, off the job's path,
	 * when there is one (workspace_pool.c). */
	close_fd(&ws->root_fd);
	if (ws->mounted && !ws->img_made && ws_pool_unmount_async(ws->mnt) == 0)
		ws->mounted = false;
	ws_discard(ws);
}

int
cell_workspace_sweep(const char *data_dir)
{
	return ws_sweep(data_dir, NULL);
}

int
ws_sweep(const char *data_dir, const char *prefix)
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
		if (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if ((size_t) snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
		    sizeof(p))
			continue;
		if (e->d_type == DT_DIR) {
			if ((r = ws_unmount(p)) < 0)
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
