/* sdnotify.h - the two systemd service protocols jobcell uses, spoken
 * directly instead of through libsystemd (sd_notify(3), sd_listen_fds(3)):
 * systemd documents both as stable interfaces, and linking libsystemd for
 * them mapped it and libgcrypt into every process (about 0.7 MiB of the
 * supervisor's resident memory, issue 17). */
#ifndef JOBCELL_SDNOTIFY_H
#define JOBCELL_SDNOTIFY_H

#include <stdbool.h>

/* The first file descriptor systemd passes (SD_LISTEN_FDS_START). */
#define SDNOTIFY_LISTEN_FDS_START 3

/* Sends state ("READY=1", "STATUS=…", lines joined by '\n') as one
 * datagram to $NOTIFY_SOCKET (a path, or '@' for Linux's abstract
 * namespace). 0 if it was sent or no service manager listens (unset),
 * else -errno. */
int sdnotify_send(const char *state);
/* The same, formatted (printf); states longer than 4 KiB are -E2BIG. */
int sdnotify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* How many sockets systemd passed this process (from fd 3 on): 0 if none
 * or they were meant for another pid. LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES are unset so that children do not take them. -EINVAL if
 * the variables are malformed. */
int sdnotify_listen_fds(void);
/* Whether fd is a listening AF_UNIX stream socket. */
bool sdnotify_is_unix_listener(int fd);

#endif
