/* archive_dl.h - libarchive, loaded on first use (dlopen) instead of
 * linked, for jobcell-api and jobcell-worker.
 *
 * Linked, libarchive brings its own dependencies (libxml2, ICU, libstdc++,
 * nettle, …) into every process at start: 2.2 MiB of the supervisor's and
 * 2.6 MiB of the API's idle resident memory (bench/memory; issue 17's
 * goals are 8 and 16 MiB), although only a job with a tar input, an image
 * build or an image context check reads an archive. The types come from
 * libarchive's own headers (__typeof__), so a call cannot disagree with
 * the library's prototype.
 *
 * Load it BEFORE a chroot or a seccomp filter: a confined child cannot
 * open the library, so the parent loads and the child inherits the
 * mapping across fork(). The command-line client links libarchive
 * normally (it is short-lived and always packs). */
#ifndef JOBCELL_ARCHIVE_DL_H
#define JOBCELL_ARCHIVE_DL_H

#include <archive.h>
#include <archive_entry.h>

#define ARCHIVE_DL_SONAME "libarchive.so.13"

/* Every libarchive function the daemons call, without "archive_". */
/* clang-format off */
#define ARCHIVE_DL_FUNCTIONS(X) \
	X(read_new) \
	X(read_free) \
	X(read_support_filter_gzip) \
	X(read_support_filter_xz) \
	X(read_support_filter_zstd) \
	X(read_support_filter_bzip2) \
	X(read_support_format_tar) \
	X(read_support_format_raw) \
	X(read_open_fd) \
	X(read_open_memory) \
	X(read_next_header) \
	X(read_data) \
	X(read_data_block) \
	X(write_new) \
	X(write_free) \
	X(write_close) \
	X(write_set_format_pax_restricted) \
	X(write_open_fd) \
	X(write_header) \
	X(write_data) \
	X(error_string) \
	X(entry_pathname) \
	X(entry_hardlink) \
	X(entry_symlink) \
	X(entry_filetype) \
	X(entry_perm) \
	X(entry_size) \
	X(entry_size_is_set) \
	X(entry_set_size)
/* clang-format on */

struct archive_dl {
#define ARCHIVE_DL_MEMBER(name) __typeof__(archive_##name) *name;
	ARCHIVE_DL_FUNCTIONS(ARCHIVE_DL_MEMBER)
#undef ARCHIVE_DL_MEMBER
};

/* Loads the library once per process (thread-safe) and returns its
 * function table, or NULL; then *ret_why (if given) says why, in words
 * fit for a job's error or a log line. Later calls return the same
 * result without loading again, so a forked child may call it after
 * its parent did. */
const struct archive_dl *archive_dl_load(const char **ret_why);

#endif
