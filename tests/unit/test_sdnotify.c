/* test_sdnotify.c - lib/sdnotify.c against real sockets: a notification
 * reaches a datagram socket bound at a path and one in the abstract
 * namespace, byte for byte; no $NOTIFY_SOCKET is not an error; the
 * LISTEN_* variables count only for their pid and are unset after. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "sdnotify.h"
#include "tap.h"
#include "banned.h"

/* Binds a datagram socket at name ('@' = abstract) and returns it. */
static int
bind_dgram(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || len >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	if (bind(fd, (struct sockaddr *) &sa,
		(socklen_t) (offsetof(struct sockaddr_un, sun_path) + len)) <
	    0) {
		(void) close(fd);
		return -1;
	}
	return fd;
}

static void
check_receive(const char *name, const char *what)
{
	_cleanup_close_ int fd = bind_dgram(name);
	char buf[256];
	ssize_t n;

	ok(fd >= 0, "%s: bound", what);
	if (fd < 0)
		return;
	is_int(setenv("NOTIFY_SOCKET", name, 1), 0, "%s: set", what);
	is_int(sdnotify_sendf("READY=1\nSTATUS=running %d slot(s)", 2), 0,
	    "%s: sent", what);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ok(n > 0, "%s: one datagram arrived", what);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "READY=1\nSTATUS=running 2 slot(s)", "%s: its text", what);
}

int
main(void)
{
	char path[64], abstract[64], pid[32];

	(void) snprintf(path, sizeof(path), "/tmp/test-sdnotify.%ld",
	    (long) getpid());
	(void) snprintf(abstract, sizeof(abstract), "@test-sdnotify.%ld",
	    (long) getpid());
	(void) unlink(path);
	check_receive(path, "path");
	(void) unlink(path);
	check_receive(abstract, "abstract");

	/* Nobody listens at the path: the caller hears it. */
	is_int(setenv("NOTIFY_SOCKET", path, 1), 0, "set to a missing path");
	is_int(sdnotify_send("READY=1"), -ENOENT, "a missing socket: -ENOENT");
	is_int(setenv("NOTIFY_SOCKET", "vsock:2:1", 1), 0, "set to vsock");
	is_int(sdnotify_send("READY=1"), -EAFNOSUPPORT, "vsock: refused");
	is_int(unsetenv("NOTIFY_SOCKET"), 0, "unset");
	is_int(sdnotify_send("READY=1"), 0, "no service manager: 0");

	(void) snprintf(pid, sizeof(pid), "%ld", (long) getpid());
	is_int(setenv("LISTEN_PID", pid, 1) | setenv("LISTEN_FDS", "1", 1), 0,
	    "LISTEN_* for this pid");
	is_int(sdnotify_listen_fds(), 1, "one socket passed");
	ok(!secure_getenv("LISTEN_PID") && !secure_getenv("LISTEN_FDS"),
	    "LISTEN_* unset after");
	is_int(sdnotify_listen_fds(), 0, "a second call: none");
	is_int(setenv("LISTEN_PID", "1", 1) | setenv("LISTEN_FDS", "1", 1), 0,
	    "LISTEN_* for another pid");
	is_int(sdnotify_listen_fds(), 0, "another pid's sockets: none");
	is_int(setenv("LISTEN_PID", pid, 1) | setenv("LISTEN_FDS", "x", 1), 0,
	    "malformed LISTEN_FDS");
	is_int(sdnotify_listen_fds(), -EINVAL, "malformed: -EINVAL");

	{
		_cleanup_close_ int s = socket(AF_UNIX,
		    SOCK_STREAM | SOCK_CLOEXEC, 0);
		_cleanup_close_ int d = bind_dgram(abstract);

		ok(s >= 0 && !sdnotify_is_unix_listener(s),
		    "an unbound stream socket is not a listener");
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		(void) snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
		    "test-sdnotify-listen.%ld", (long) getpid());
		ok(s >= 0 &&
			bind(s, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
			listen(s, 1) == 0 && sdnotify_is_unix_listener(s),
		    "a listening unix stream socket is");
		ok(d >= 0 && !sdnotify_is_unix_listener(d),
		    "a datagram socket is not");
	}
	return done_testing();
}
