/* docker_api.h - a small client of the Docker Engine API over its unix
 * socket (libcurl), and the decoder of Docker's multiplexed stream format.
 * Used by the docker cell (docker_cell.c), its sweep (docker_sweep.c) and
 * bench/dockerrun. Trusts nothing the daemon sends: replies are capped,
 * statuses checked before parsing, ids checked before use in a path.
 * Not thread-safe per client; single-threaded processes each own one. */
#ifndef JOBCELL_DOCKER_API_H
#define JOBCELL_DOCKER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cell.h"
#include "strbuf.h"

#define DOCKER_SOCKET_DEFAULT	CELL_DOCKER_SOCKET_DEFAULT
#define DOCKER_SOCKET_MAX	CELL_DOCKER_SOCKET_MAX
#define DOCKER_ID_LEN		64	/* hex characters of a container id */
#define DOCKER_REPLY_MAX	(1024u * 1024)	/* any reply body we read */
#define DOCKER_API_MAX_MINOR	41	/* newest API we speak: 1.41 */
#define DOCKER_API_MIN_MINOR	40	/* oldest with MaskedPaths (Docker 19.03) */
#define DOCKER_CALL_TIMEOUT_MS	30000	/* default bound of one call */

#define DOCKER_URL_BASE_MAX 256 /* "https://host:port" of a TCP endpoint */
#define DOCKER_TLS_PATH_MAX 256

struct docker {
	char socket_path[DOCKER_SOCKET_MAX];
	/* A TCP endpoint ("tcp://host:port", docker_init_endpoint) instead
	 * of the socket: the URL base, and the client's TLS files ("" none:
	 * plain HTTP, only for a trusted network). */
	char url_base[DOCKER_URL_BASE_MAX];
	char tls_ca[DOCKER_TLS_PATH_MAX];
	char tls_cert[DOCKER_TLS_PATH_MAX];
	char tls_key[DOCKER_TLS_PATH_MAX];
	int max_minor; /* newest API to negotiate; 0: DOCKER_API_MAX_MINOR */
	int api_minor;		/* negotiated 1.N; 0 before docker_negotiate */
	void *curl;		/* CURL *, made on first use, reused (keep-alive) */
	char err[256];		/* the daemon's message for the last failure */
	char api_header[16];	/* Api-Version header of the last answer */
};

/* Fills d; does no I/O. socket_path NULL or "" means the default.
 * -ENAMETOOLONG if the path does not fit a unix socket address. */
int docker_init(struct docker *d, const char *socket_path);
/* TLS client files of a TCP endpoint; any may be NULL. */
struct docker_tls {
	const char *ca;
	const char *cert;
	const char *key;
};
/* Fills d for an endpoint: "unix:///path" or a plain path (the socket),
 * or "tcp://host:port" (HTTPS when tls names a CA, a certificate or a
 * key; libcurl checks the daemon's certificate against the CA and sends
 * ours). -EINVAL for another scheme, -ENAMETOOLONG. No I/O. */
int docker_init_endpoint(struct docker *d, const char *endpoint,
    const struct docker_tls *tls);
/* Frees the curl handle (closing its connection); d can be inited again. */
void docker_release(struct docker *d);
/* For a child after fork(): forget (never use, never free) the parent's
 * curl handle, keep the socket path and the negotiated version. */
void docker_forget_handle(struct docker *d);

/* GET /_ping. 0 if the daemon answers OK, else -errno (-ECONNREFUSED,
 * -ENOENT no socket, -ETIMEDOUT, -EIO). */
int docker_ping(struct docker *d, int timeout_ms);
/* Picks min(daemon's API version, 1.41) for every later call, from the
 * Api-Version header of GET /_ping (cheap; the Docker CLI does the same),
 * else from GET /version (which makes the daemon ask containerd and run
 * runc and init for their versions: ~50 ms). -EPROTONOSUPPORT if the
 * daemon is older than 1.25; other -errno as for docker_call. */
int docker_negotiate(struct docker *d, int timeout_ms);

/* One request: method, path under the negotiated version (e.g.
 * "/containers/create"; must start with '/', callers escape what they put
 * into it), an optional JSON body, a bound on the whole call in ms. The
 * reply body goes to reply (which keeps its own max; NULL: discarded).
 * Returns the HTTP status (100..599), or -errno: -ECONNREFUSED/-ENOENT
 * the daemon is not there, -ETIMEDOUT, -E2BIG reply over reply->max,
 * -EPROTO no HTTP answer, -EIO other transport errors. d->err holds the
 * daemon's "message" for a status >= 400 if the reply had one. */
int docker_call(struct docker *d, const char *method, const char *path,
    const struct strbuf *body, int timeout_ms, struct strbuf *reply);
/* As docker_call for a GET whose body is handed to fn as it arrives (a
 * log stream, unbounded in size); a negative return of fn aborts the
 * call and is returned. */
int docker_get_stream(struct docker *d, const char *path, int timeout_ms,
    int (*fn)(const char *data, size_t len, void *arg), void *arg);

/* As docker_get_stream for a POST whose body is read from body_fd to its
 * end (sent chunked) with the header content_type ("Content-Type: ...");
 * a build's context (docker_build.c). */
int docker_post_stream(struct docker *d, const char *path, int body_fd,
    const char *content_type, int timeout_ms,
    int (*fn)(const char *data, size_t len, void *arg), void *arg);

/* 1 if s is DOCKER_ID_LEN lowercase hex characters. */
bool docker_id_ok(const char *s);
/* Appends s to sb escaped for a URL query value. 0 or -E2BIG/-ENOMEM. */
int docker_query_escape(struct strbuf *sb, const char *s);

/* Opens a hijacked attach connection to container id (stream=1, stdout,
 * stderr, and stdin if with_stdin) and reads the answer's header. On
 * success returns 0 with *ret_fd, a connected, non-blocking, close-on-exec
 * socket carrying the raw stream from now on; bytes of the stream that
 * came with the header are appended to early (capped by its max). */
int docker_attach(struct docker *d, const char *id, bool with_stdin,
    int timeout_ms, int *ret_fd, struct strbuf *early);

/* Docker's multiplexed stream (no TTY): frames of an 8-byte header
 * {stream: 0 stdin, 1 stdout, 2 stderr; 3 zero bytes; big-endian u32
 * length} followed by that many bytes. The decoder takes any split of the
 * stream and hands payload bytes to emit, in order, possibly in pieces. */
struct docker_demux {
	unsigned char hdr[8];
	size_t hdr_len;		/* header bytes gathered so far */
	int stream;		/* stream of the frame being read */
	uint32_t left;		/* payload bytes left in that frame */
};
void docker_demux_init(struct docker_demux *dm);
/* 0; -EPROTO on a header naming a stream other than 1 or 2 (or with
 * non-zero padding); a negative return of emit is passed on. After an
 * error the decoder is unusable. */
int docker_demux_feed(struct docker_demux *dm, const char *buf, size_t len,
    int (*emit)(int stream, const char *data, size_t len, void *arg),
    void *arg);
/* True between frames (a stream that ends now ended cleanly). */
bool docker_demux_idle(const struct docker_demux *dm);

#endif
