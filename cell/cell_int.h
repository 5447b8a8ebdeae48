/* cell_int.h - private to cell/: what both backends share, the host's
 * cgroup hierarchies and the cell's own cgroup (cell.c). */
#ifndef JOBCELL_CELL_INT_H
#define JOBCELL_CELL_INT_H

#include "cell.h"
#include "cgroup.h"
#include "strbuf.h"

/* What a cell never sees of the host's /proc: entries that tell about the
 * host (its kernel config, every process's locks, the disks and their
 * traffic, interrupts, loaded modules, kernel symbols and memory layout)
 * or reach its hardware, and that a job has no use for. Docker's default
 * masked paths and the ones a hostile review read (issue 12). Files are
 * covered by an empty read-only file, directories by an empty read-only
 * tmpfs; an entry this kernel lacks is skipped. */
extern const char *const cell_proc_masked[];
extern const size_t cell_proc_masked_n;

/* The cgroup hierarchies, found once per process by cell_host_init(). */
extern struct cgroup_root cell_cg_root;
/* The host's settings (cell_host_init()); fields NULL when not given. */
extern struct cell_host_config cell_host;

/* The cell's own cgroup, named after the job, with the spec's limits (the
 * pids limit counts the cell's init too). 0 or -errno. */
int cell_cgroup_create(const struct cell_spec *spec, struct cgroup *ret);
/* Reads the usage into *ret (a warning if it cannot). sigkilled: the
 * cell's main process died of SIGKILL, perhaps the OOM killer's, whose
 * count may lag its signal: the counter is then read again for a while
 * (cell.c). */
void cell_cgroup_usage(const char *job_id, const struct cgroup *cg,
    bool sigkilled, struct cell_usage *ret);
/* Removes the cgroup, killing anything left; with everywhere, also the
 * directories of that name in the hierarchies we do not use (docker's
 * runtime makes them). Logs what fails. */
void cell_cgroup_destroy(const char *job_id, struct cgroup *cg,
    bool everywhere);

/* inflate.c: for forked children that parse untrusted archives; no stdio,
 * no logging. cell_close_fds_except closes every fd but keep[0..n) (sorts
 * keep; -1 entries ignored): 0 or -errno. cell_confine, as root: its own
 * mount namespace, chrooted into root_fd (or, if root_fd < 0, an empty
 * read-only tmpfs), uid:gid (never 0) with no supplementary groups, no
 * capabilities and no_new_privs, RLIMIT_FSIZE fsize_bytes (SIGXFSZ
 * ignored) and RLIMIT_DATA data_bytes, the ids read back. 0, or -errno with
 * *step the sentence of the phase that failed. */
int cell_close_fds_except(int *keep, size_t n);
int cell_confine(int root_fd, uid_t uid, gid_t gid, uint64_t fsize_bytes,
    uint64_t data_bytes, const char **step);
/* Decompresses data[0..len) (gzip, xz, zstd or bzip2, possibly nested;
 * libarchive's filters alone) in a forked child confined by cell_confine
 * to uid:gid, appending the bytes to out. 0; -E2BIG past out's max,
 * -ETIMEDOUT past max_ms (the child killed); -EINVAL for a corrupt or
 * unknown stream; or -errno. On failure msg holds the reason as the end
 * of a sentence whose subject is the input ("decompresses to more than
 * N bytes"). */
int cell_inflate(const char *data, size_t len, uid_t uid, gid_t gid,
    int64_t max_ms, struct strbuf *out, char *msg, size_t size);

#endif
