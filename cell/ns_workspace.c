/* ns_workspace.c - a disk workspace (workspace.c) as a namespace cell's
 * /work. The worker clones the workspace's mount into a detached tree
 * (open_tree(2), OPEN_TREE_CLONE) before clone(); the cell's init moves it
 * onto NEWROOT/work (move_mount(2)) in its own mount namespace. By fd, not
 * by path: the cell's uid could not walk to DATA/work (its parents may be
 * root's 0700), and nothing of the host's path is looked up in the cell.
 * Runs in a jobcell-worker process and, after clone(), in the cell (no
 * stdio, no logging there). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jc_limits.h"
#include "ns_int.h"
#include "banned.h"

int
ns_workspace_tree(const struct cell_spec *spec)
{
	int fd;

	if (!spec->workspace)
		return -1;
	fd = (int) syscall(SYS_open_tree, AT_FDCWD,
	    cell_workspace_path(spec->workspace),
	    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int
ns_mount_workspace(int work_fd)
{
	char dst[JC_PATH_MAX];
	int n = snprintf(dst, sizeof(dst), "%s/work", NEWROOT);

	if (n < 0 || (size_t) n >= sizeof(dst))
		return -ENAMETOOLONG;
	if (mkdir(dst, 0755) < 0)
		return -errno;
	if (syscall(SYS_move_mount, work_fd, "", AT_FDCWD, dst,
		MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

int
ns_swap_in_workspace(int work_fd)
{
	/* The warm cell's tmpfs /work is empty and only our cwd holds it:
	 * detached, it goes once we chdir away. The root is read-only, but
	 * mounting over its /work directory writes nothing to it. */
	if (chdir("/") < 0)
		return -errno;
	if (umount2("/work", MNT_DETACH) < 0)
		return -errno;
	if (syscall(SYS_move_mount, work_fd, "", AT_FDCWD, "/work",
		MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	if (chdir("/work") < 0)
		return -errno;
	return 0;
}
