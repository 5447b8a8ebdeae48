/* workspace_int.h - private to workspace.c and workspace_pool.c: the disk
 * workspace's parts, for the pool's helper that makes them ahead of the
 * jobs and unmounts them after. Runs in a jobcell-worker process and its
 * workspace helper (root). */
#ifndef JOBCELL_WORKSPACE_INT_H
#define JOBCELL_WORKSPACE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cell.h"
#include "jc_limits.h"

struct cell_workspace {
	char mnt[JC_PATH_MAX]; /* DATA/work/<name>: the mount point */
	char img[JC_PATH_MAX]; /* DATA/work/<name>.img (unlinked once
				 * mounted) */
	char dev[32];	       /* /dev/loopN: the file system's device */
	int root_fd;	       /* the mounted root, O_DIRECTORY */
	bool img_made;	       /* img exists and is ours to unlink */
	bool mounted;
};

/* DATA/work into buf, made if missing. 0 or -errno. */
int ws_work_dir(const char *data_dir, char *buf, size_t size);
/* mkfs.ext4 on img (its inodes: ws_inodes), root owned by uid:gid. */
int ws_run_mkfs(const char *img, uid_t uid, gid_t gid, uint64_t inodes);
uint64_t ws_inodes(uint64_t disk_mb);
/* Unmounts path (lazily if held) and removes the mount point. */
int ws_unmount(const char *path);
/* Closes, unmounts, unlinks what ws holds (synchronously); frees it. */
void ws_discard(struct cell_workspace *ws);
/* Removes the workspaces and images under DATA/work whose names start
 * with prefix (NULL: all). The count, or -errno. */
int ws_sweep(const char *data_dir, const char *prefix);

/* A fresh, empty ext4 image of disk_mb made by mkfs.ext4 under
 * DATA/work/<name>.img, then unlinked: its fd (O_RDWR), or -errno. */
int ws_template(const char *data_dir, const char *name, uint64_t disk_mb);
/* A workspace at DATA/work/<name> whose image is a sparse copy of
 * tmpl_fd (made by ws_template for this disk_mb): no mkfs, no flush.
 * 0 with *ret, or -errno (msg, if not NULL, says why). */
int ws_make_from_template(const char *data_dir, const char *name, int tmpl_fd,
    uint64_t disk_mb, uid_t uid, gid_t gid, struct cell_workspace **ret,
    char *msg, size_t size);
/* The workspace mounted at path (made by another process of ours): 0
 * with *ret, -ENOTBLK if path is not a mount, -errno. */
int ws_adopt(const char *path, struct cell_workspace **ret);

/* workspace_pool.c: hands path to the helper to unmount; 0, or -errno
 * (no helper: the caller unmounts it). */
int ws_pool_unmount_async(const char *path);

#endif
