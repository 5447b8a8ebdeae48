/* sdnotify.c - sd_notify(3) and sd_listen_fds(3) without libsystemd.
 *
 * Notify: one datagram, the state text, to the AF_UNIX socket named by
 * $NOTIFY_SOCKET; a leading '@' names Linux's abstract namespace (the '@'
 * becomes a NUL). The service manager reads the sender's credentials from
 * the socket itself. Socket activation: systemd passes LISTEN_FDS sockets
 * from fd 3 on and sets LISTEN_PID to the pid they are for. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "parse.h"
#include "sdnotify.h"

#include "banned.h"

#define SDNOTIFY_STATE_MAX 4096

int
sdnotify_send(const char *state)
{
	const char *path = secure_getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	size_t len, slen = strlen(state);
	socklen_t salen;
	ssize_t n;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return -EAFNOSUPPORT; /* vsock and such: not ours */
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	/* An abstract name's length is its address length (no NUL ending);
	 * a path's NUL is counted. */
	salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	n = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *) &sa,
	    salen);
	if (n < 0)
		return -errno;
	return (size_t) n == slen ? 0 : -EMSGSIZE;
}

int
sdnotify_sendf(const char *fmt, ...)
{
	char buf[SDNOTIFY_STATE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t) n >= sizeof(buf))
		return -E2BIG;
	return sdnotify_send(buf);
}

int
sdnotify_listen_fds(void)
{
	const char *pid_s = secure_getenv("LISTEN_PID");
	const char *fds_s = secure_getenv("LISTEN_FDS");
	int64_t pid, n;
	int r = 0;

	if (pid_s && fds_s) {
		if (parse_i64(pid_s, 1, INT32_MAX, &pid) < 0 ||
		    parse_i64(fds_s, 0, 1024, &n) < 0)
			r = -EINVAL;
		else if ((pid_t) pid == getpid())
			r = (int) n;
	}
	(void) unsetenv("LISTEN_PID");
	(void) unsetenv("LISTEN_FDS");
	(void) unsetenv("LISTEN_FDNAMES");
	return r;
}

bool
sdnotify_is_unix_listener(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int v = 0;
	socklen_t vlen = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vlen) < 0 ||
	    v != SOCK_STREAM)
		return false;
	vlen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen) < 0 || !v)
		return false;
	if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
		return false;
	return ss.ss_family == AF_UNIX;
}
