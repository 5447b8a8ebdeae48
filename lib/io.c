/* io.c - read_full, write_full, read_all: the one place that loops over
 * read(2)/write(2) for EINTR and short counts (signal(7): a handler
 * without SA_RESTART interrupts a blocking read; pipes, sockets and
 * terminals return short counts). Used by every program; trusts nothing
 * it reads, bounding it by the caller's max. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "banned.h"

ssize_t
read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t) n;
	}
	return (ssize_t) done;
}

int
write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* no progress; do not spin */
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

int
read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0, alloc = 0;

	if (max > SIZE_MAX - 2)
		return -EINVAL;
	/* One byte past max tells "exactly max" from "more than max". */
	for (;;) {
		size_t want;
		ssize_t n;

		if (len + 1 >= alloc) {
			size_t next = alloc ? alloc * 2 : 16384;
			char *nb;

			if (next > max + 2 || next < alloc)
				next = max + 2;	/* max + 1 bytes + NUL */
			if (next <= alloc) {	/* max + 1 bytes read */
				free(buf);
				return -E2BIG;
			}
			if (!(nb = realloc(buf, next))) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			alloc = next;
		}
		want = alloc - 1 - len;	/* leave room for the NUL */
		n = read_full(fd, buf + len, want);
		if (n < 0) {
			free(buf);
			return (int) n;
		}
		len += (size_t) n;
		if (len > max) {
			free(buf);
			return -E2BIG;
		}
		if ((size_t) n < want)
			break;	/* the end of the file */
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = buf;
	return 0;
}
