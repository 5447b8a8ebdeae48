/* io.h - whole reads and writes on a file descriptor: EINTR retried,
 * short counts continued, errors as -errno. Plain libc only (no other
 * lib/ module), so the static in-cell helper can link it too. */
#ifndef JOBCELL_IO_H
#define JOBCELL_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads until len bytes are in buf or the end of the file. Returns the
 * count read (less than len only at the end of the file), or -errno
 * (-EAGAIN on an empty non-blocking fd; what was read before is lost). */
ssize_t read_full(int fd, void *buf, size_t len);
/* Writes all len bytes. 0, or -errno (-EIO if write(2) returns 0). */
int write_full(int fd, const void *buf, size_t len);
/* Reads fd to its end into a new buffer of at most max bytes plus a NUL
 * (caller frees; *ret_len, if given, excludes the NUL). 0, -E2BIG if fd
 * holds more than max bytes, -ENOMEM, or -errno. The fd is not closed. */
int read_all(int fd, size_t max, char **ret, size_t *ret_len);

#endif
