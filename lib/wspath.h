/* wspath.h - workspace paths: the one set of rules for a path a job names
 * inside its workspace ("files" keys, cwd, --file, --cwd), and the one way
 * to open such a path under a directory fd without ever following a
 * symlink. Job code is hostile and may have planted links in the
 * workspace (DESIGN 8: the host never follows a path the job controls).
 * Plain libc only, no other lib/ module and no logging, so the static
 * in-cell helper (jobcell-cell-unpack) and code between clone() and exec
 * can use it: nothing here allocates. Thread-safe. */
#ifndef JOBCELL_WSPATH_H
#define JOBCELL_WSPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jc_limits.h"

/* The limits, in bytes without the NUL: a whole path, and one part
 * (NAME_MAX, so every valid part can be created on Linux). */
#define WSPATH_MAX		JC_MAX_FILE_PATH	/* 1024 */
#define WSPATH_PART_MAX		JC_MAX_FILE_PART	/* 255 */
#define WSPATH_DIR_MODE		0755	/* what WSPATH_MKDIR makes */

/* Checks the len bytes at path against the rules: 1..WSPATH_MAX bytes,
 * relative (no leading '/'), parts of 1..WSPATH_PART_MAX bytes split by
 * single '/' (no empty part, so no "a//b" and no trailing '/'), no part
 * "." or "..", no NUL and no control byte (0x01-0x1f, 0x7f). Refused,
 * never repaired. 0; -EINVAL (a rule broken); -ENAMETOOLONG (the path or
 * a part too long). Use this form for bytes with a length (JSON strings,
 * a length-prefixed stream): an embedded NUL is then refused. */
int wspath_check_len(const char *path, size_t len);
/* The same for a C string (reads at most WSPATH_MAX + 1 bytes). */
int wspath_check(const char *path);
static inline bool
wspath_valid(const char *path)
{
	return wspath_check(path) == 0;
}

/* Flags of the openers. */
#define WSPATH_MKDIR		(1u << 0)	/* create missing directories */
#define WSPATH_NO_OPENAT2	(1u << 1)	/* always walk part by part
						 * (tests use it to reach the
						 * fallback) */

/* The openers check path first (the wspath_check errors), then resolve it
 * under dirfd (an open directory fd, not AT_FDCWD), which they neither
 * close nor move. No symlink is followed,
 * anywhere in the path (-ELOOP, or -ENOTDIR for a link where a directory
 * should be); nothing outside dirfd is reached. Every fd returned is
 * O_CLOEXEC and the caller's to close. Where the kernel has openat2(2)
 * (Linux 5.6), a lookup without WSPATH_MKDIR is one call with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS; where it
 * is missing or filtered (ENOSYS, EPERM), each part is opened with
 * openat(O_NOFOLLOW) under the fd of the one before. With WSPATH_MKDIR,
 * missing directories are made (WSPATH_DIR_MODE, umask applies) part by
 * part; an existing link in their place fails as above. */

/* Opens the file path with open(2) flags oflags (O_NOFOLLOW and O_CLOEXEC
 * are added; mode as for open(2) with O_CREAT). WSPATH_MKDIR makes its
 * parent directories. fd >= 0 or -errno. */
int wspath_open(int dirfd, const char *path, int oflags, mode_t mode,
    unsigned flags);
/* Opens the directory path (O_RDONLY | O_DIRECTORY), making it and its
 * parents with WSPATH_MKDIR: fd >= 0 or -errno. */
int wspath_open_dir(int dirfd, const char *path, unsigned flags);
/* Opens the directory holding path's last part (a new fd of dirfd itself
 * for a one-part path) and points *ret_leaf at that last part inside
 * path: for callers that create the leaf themselves (mkfifoat, O_TMPFILE,
 * linkat). fd >= 0 or -errno; *ret_leaf is set only on success. */
int wspath_open_parent(int dirfd, const char *path, unsigned flags,
    const char **ret_leaf);
/* Opens the one entry name of dirfd (as readdir(3) gave it: any bytes
 * but '/' and NUL, not "." or ".."; the path rules above do not apply)
 * with oflags (no O_CREAT), the same way: openat2 beneath dirfd with no
 * link, else openat with O_NOFOLLOW. For walkers of a tree the job
 * wrote (artifact collection). fd >= 0 or -errno (-ELOOP: a symlink). */
int wspath_open_name(int dirfd, const char *name, int oflags);

#endif
