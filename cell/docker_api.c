/* docker_api.c - Docker Engine API calls over the daemon's unix socket with
 * libcurl (one easy handle per client, reused so calls share a keep-alive
 * connection), the hijacked attach connection, and the decoder of the
 * multiplexed stdout/stderr stream. Runs in jobcell-worker processes, the
 * docker cell's helper and bench/dockerrun. Trusts nothing from the
 * daemon: every reply is capped, the status is checked before any parsing.
 *
 * The attach connection is opened with CURLOPT_CONNECT_ONLY (libcurl does
 * the connecting, to the same socket path as every call) and then spoken
 * raw: after "101 UPGRADED" (or "200 OK") the socket carries the stream
 * both ways, which libcurl's transfer API cannot express (the stdin half
 * must be shut down separately for the job to see EOF). */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "docker_api.h"
#include "json_reader.h"
#include "jc_limits.h"
#include "parse.h"
#include "timefmt.h"
#include "banned.h"

#define DOCKER_URL_HOST		"http://docker"	/* any name: the socket decides */
#define DOCKER_URL_MAX		2048
#define DOCKER_ERRBODY_MAX	(64u * 1024)	/* error bodies we read for a message */
#define ATTACH_HEADER_MAX	8192		/* the attach answer's header */

/* libcurl is loaded on first use (dlopen), not linked: only the
 * processes that talk to a Docker daemon map it and its ~20 libraries
 * (TLS, Kerberos, LDAP, SSH...: ~3.7 MiB of resident pages in every
 * jobcell-worker process otherwise; bench/README.md, issue 17). */
#define LIBCURL_SONAME "libcurl.so.4"

static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	CURLcode (*easy_perform)(CURL *h);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} cu;
static bool curl_ready;

/* The symbol name of libcurl, or NULL. A cast from dlsym's void * to a
 * function pointer: POSIX requires it to work (dlsym(3)). */
#define CU_LOAD(lib, field, sym) \
	((*(void **) (void *) &cu.field = dlsym((lib), (sym))) != NULL)

static int
curl_setup(void)
{
	void *lib;

	/* Single-threaded callers: the first use loads and initialises
	 * libcurl. The library stays loaded for the process's life. */
	if (curl_ready)
		return 0;
	if (!(lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL)))
		return -ELIBACC;
	if (!CU_LOAD(lib, global_init, "curl_global_init") ||
	    !CU_LOAD(lib, easy_init, "curl_easy_init") ||
	    !CU_LOAD(lib, easy_setopt, "curl_easy_setopt") ||
	    !CU_LOAD(lib, easy_getinfo, "curl_easy_getinfo") ||
	    !CU_LOAD(lib, easy_perform, "curl_easy_perform") ||
	    !CU_LOAD(lib, easy_cleanup, "curl_easy_cleanup") ||
	    !CU_LOAD(lib, easy_reset, "curl_easy_reset") ||
	    !CU_LOAD(lib, slist_append, "curl_slist_append") ||
	    !CU_LOAD(lib, slist_free_all, "curl_slist_free_all")) {
		(void) dlclose(lib);
		return -ELIBBAD;
	}
	if (cu.global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
		return -ENOMEM;
	curl_ready = true;
	return 0;
}

int
docker_init(struct docker *d, const char *socket_path)
{
	*d = (struct docker) { 0 };
	d->max_minor = DOCKER_API_MAX_MINOR;
	if (!socket_path || !socket_path[0])
		socket_path = DOCKER_SOCKET_DEFAULT;
	if (str_copy(d->socket_path, sizeof(d->socket_path), socket_path) < 0)
		return -ENAMETOOLONG;
	return 0;
}

static int
copy_opt(char *dst, size_t size, const char *src)
{
	return str_copy(dst, size, src ? src : "") < 0 ? -ENAMETOOLONG : 0;
}

int
docker_init_endpoint(struct docker *d, const char *endpoint,
    const struct docker_tls *tls)
{
	const char *hostport;
	bool use_tls;
	int n, r;

	if (!endpoint || !endpoint[0] || endpoint[0] == '/')
		return docker_init(d, endpoint);
	if (strncmp(endpoint, "unix://", 7) == 0)
		return docker_init(d, endpoint + 7);
	if (strncmp(endpoint, "tcp://", 6) != 0)
		return -EINVAL;
	hostport = endpoint + 6;
	/* host:port only: no path, no user part, nothing curl would read
	 * as more than an address. */
	if (!hostport[0] || strpbrk(hostport, "/@?# \t\r\n"))
		return -EINVAL;
	if ((r = docker_init(d, NULL)) < 0)
		return r;
	use_tls = tls &&
	    ((tls->ca && tls->ca[0]) || (tls->cert && tls->cert[0]) ||
		(tls->key && tls->key[0]));
	n = snprintf(d->url_base, sizeof(d->url_base), "%s://%s",
	    use_tls ? "https" : "http", hostport);
	if (n < 0 || (size_t) n >= sizeof(d->url_base))
		return -ENAMETOOLONG;
	if (tls &&
	    ((r = copy_opt(d->tls_ca, sizeof(d->tls_ca), tls->ca)) < 0 ||
		(r = copy_opt(d->tls_cert, sizeof(d->tls_cert), tls->cert)) <
		    0 ||
		(r = copy_opt(d->tls_key, sizeof(d->tls_key), tls->key)) < 0))
		return r;
	return 0;
}

void
docker_release(struct docker *d)
{
	if (d->curl)
		cu.easy_cleanup(d->curl);
	d->curl = NULL;
	d->api_minor = 0;
}

void
docker_forget_handle(struct docker *d)
{
	d->curl = NULL;
}

struct sink {
	struct strbuf *sb;
	int err;
	int (*fn)(const char *data, size_t len, void *arg); /* or sb */
	void *arg;
	long status; /* of a streamed answer, once known */
	CURL *h;
	/* An upload only if upload_type is set (so a zeroed sink never
	 * reads fd 0): a POST's body read from upload_fd, sent with the
	 * header upload_type ("Content-Type: ..."). */
	int upload_fd;
	const char *upload_type;
};

/* CURLOPT_READFUNCTION of an upload from an fd. */
static size_t
upload_read(char *buf, size_t size, size_t nitems, void *arg)
{
	const struct sink *s = arg;
	ssize_t n;

	do
		n = read(s->upload_fd, buf, size * nitems);
	while (n < 0 && errno == EINTR);
	return n < 0 ? CURL_READFUNC_ABORT : (size_t) n;
}

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;	/* curl guarantees no overflow */
	int r;

	if (s->fn) {
		if (!s->status &&
		    cu.easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status) !=
			CURLE_OK)
			s->status = 0;
		/* An error answer is a message, not the stream: kept (its
		 * head) for take_message. */
		if (s->status >= 400 || s->status < 100) {
			if (s->sb)
				(void) strbuf_add(s->sb, data,
				    n < s->sb->max - s->sb->len ?
					n :
					s->sb->max - s->sb->len);
			return n;
		}
		if ((r = s->fn(data, n, s->arg)) < 0) {
			s->err = r;
			return 0;
		}
		return n;
	}
	if (!s->sb)
		return n;
	if ((r = strbuf_add(s->sb, data, n)) < 0) {
		s->err = r;
		return 0;	/* CURLE_WRITE_ERROR */
	}
	return n;
}

/* Keeps the Api-Version header (every answer of the daemon has one). */
static size_t
header_line(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "api-version:";
	struct docker *d = arg;
	size_t n = size * nmemb, i, len;

	if (n <= sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1))
		return n;
	for (i = sizeof(name) - 1; i < n && (data[i] == ' ' || data[i] == '\t');
	    i++)
		;
	for (len = 0; i + len < n && data[i + len] != '\r' &&
	    data[i + len] != '\n'; len++)
		;
	if (len > 0 && len < sizeof(d->api_header)) {
		memcpy(d->api_header, data + i, len);
		d->api_header[len] = '\0';
	}
	return n;
}

/* -errno for a failed transfer. */
static int
curl_errno(CURL *h, CURLcode rc, const struct sink *s)
{
	long os = 0;

	/* An if chain: CURLcode has ~100 values and -Wswitch-enum. */
	if (rc == CURLE_WRITE_ERROR)
		return s->err ? s->err : -EIO;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return -ETIMEDOUT;
	if (rc == CURLE_COULDNT_CONNECT) {
		(void) cu.easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
		return os == ENOENT ? -ENOENT : -ECONNREFUSED;
	}
	if (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE)
		return -ECONNRESET;
	if (rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_UNSUPPORTED_PROTOCOL)
		return -EPROTO;
	if (rc == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	return -EIO;
}

/* The "message" of an error reply into d->err (best effort). */
static void
take_message(struct docker *d, const struct strbuf *body)
{
	struct jr_doc *doc = NULL;
	int tok;

	d->err[0] = '\0';
	if (body->len == 0 || jr_parse(body->buf, body->len, 64, &doc) < 0)
		return;
	if (jr_type(doc, jr_root(doc)) == JR_OBJECT &&
	    (tok = jr_obj_get(doc, jr_root(doc), "message")) >= 0 &&
	    jr_str(doc, tok, d->err, sizeof(d->err), NULL) == -E2BIG)
		d->err[sizeof(d->err) - 1] = '\0';
	doc = jr_free(doc);
	/* The message goes into logs and job errors: no control bytes. */
	for (char *p = d->err; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* A TCP endpoint: no socket path, HTTPS with the client's files. */
static int
set_tcp(struct docker *d, CURL *h)
{
	if (cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
		return -EINVAL;
	if (d->tls_ca[0] &&
	    cu.easy_setopt(h, CURLOPT_CAINFO, d->tls_ca) != CURLE_OK)
		return -EINVAL;
	if (d->tls_cert[0] &&
	    cu.easy_setopt(h, CURLOPT_SSLCERT, d->tls_cert) != CURLE_OK)
		return -EINVAL;
	if (d->tls_key[0] &&
	    cu.easy_setopt(h, CURLOPT_SSLKEY, d->tls_key) != CURLE_OK)
		return -EINVAL;
	return 0;
}

static int
set_common(struct docker *d, CURL *h, const char *url, int timeout_ms)
{
	if (d->url_base[0])
		return cu.easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
			set_tcp(d, h) < 0 ||
			cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
			cu.easy_setopt(h, CURLOPT_TIMEOUT_MS,
			    (long) timeout_ms) != CURLE_OK ||
			cu.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			    (long) (timeout_ms < 5000 ? timeout_ms : 5000)) !=
			    CURLE_OK ?
		    -EINVAL :
		    0;
	if (cu.easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    cu.easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, d->socket_path) !=
		CURLE_OK ||
	    cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
	    cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    cu.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) timeout_ms) !=
		CURLE_OK ||
	    cu.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
		(long) (timeout_ms < 5000 ? timeout_ms : 5000)) != CURLE_OK)
		return -EINVAL;
	return 0;
}

/* One transfer to an absolute path (no version prefix added). */
static int
call_raw(struct docker *d, const char *method, const char *abspath,
    const struct strbuf *body, int timeout_ms, struct strbuf *reply,
    struct sink *stream)
{
	_cleanup_strbuf_ struct strbuf url, errbody;
	struct curl_slist *hdrs = NULL, *t;
	struct sink s = { .sb = reply };
	CURLcode rc;
	CURL *h;
	long status = 0;
	int r;

	strbuf_init(&url, DOCKER_URL_MAX);
	strbuf_init(&errbody, DOCKER_ERRBODY_MAX);
	d->err[0] = '\0';
	d->api_header[0] = '\0';
	if (abspath[0] != '/' || timeout_ms <= 0)
		return -EINVAL;
	if ((r = curl_setup()) < 0)
		return r;
	if (!d->curl && !(d->curl = cu.easy_init()))
		return -ENOMEM;
	h = d->curl;
	cu.easy_reset(h); /* keeps the connection cache */
	if ((r = strbuf_addf(&url, "%s%s",
		 d->url_base[0] ? d->url_base : DOCKER_URL_HOST, abspath)) < 0)
		return r;
	if (!reply)
		s.sb = &errbody;
	else
		strbuf_reset(reply);
	if (stream) {
		s.fn = stream->fn;
		s.arg = stream->arg;
		s.h = h;
		s.upload_fd = stream->upload_fd;
		s.upload_type = stream->upload_type;
	}
	if ((r = set_common(d, h, url.buf, timeout_ms)) < 0)
		return r;
	/* "Expect:" off: curl would wait up to 1 s for 100-continue. */
	if (!(t = cu.slist_append(hdrs, "Expect:")))
		return -ENOMEM;
	hdrs = t;
	if (body || s.upload_type) {
		if (!(t = cu.slist_append(hdrs,
			  s.upload_type ? s.upload_type :
					  "Content-Type: application/json"))) {
			cu.slist_free_all(hdrs);
			return -ENOMEM;
		}
		hdrs = t;
	}
	if (cu.easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    cu.easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK ||
	    cu.easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    cu.easy_setopt(h, CURLOPT_HEADERFUNCTION, header_line) !=
		CURLE_OK ||
	    cu.easy_setopt(h, CURLOPT_HEADERDATA, d) != CURLE_OK) {
		cu.slist_free_all(hdrs);
		return -EINVAL;
	}
	if (strcmp(method, "POST") == 0 && s.upload_type) {
		/* Chunked: the length is not known ahead (a pipe works too). */
		r = cu.easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
		    cu.easy_setopt(h, CURLOPT_READFUNCTION, upload_read) !=
			CURLE_OK ||
		    cu.easy_setopt(h, CURLOPT_READDATA, &s) != CURLE_OK;
		if (!r &&
		    !(t = cu.slist_append(hdrs, "Transfer-Encoding: chunked")))
			r = 1;
		else if (!r) {
			hdrs = t;
			r = cu.easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) !=
			    CURLE_OK;
		}
	} else if (strcmp(method, "POST") == 0) {
		r = cu.easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
		    cu.easy_setopt(h, CURLOPT_POSTFIELDS,
			body ? body->buf : "") != CURLE_OK ||
		    cu.easy_setopt(h, CURLOPT_POSTFIELDSIZE,
			(long) (body ? body->len : 0)) != CURLE_OK;
	} else if (strcmp(method, "GET") == 0 && !body)
		r = cu.easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	else if (strcmp(method, "DELETE") == 0 && !body)
		r = cu.easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE") !=
		    CURLE_OK;
	else
		r = 1;
	if (r) {
		cu.slist_free_all(hdrs);
		return -EINVAL;
	}
	rc = cu.easy_perform(h);
	cu.slist_free_all(hdrs);
	(void) cu.easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	if (rc != CURLE_OK)
		return curl_errno(h, rc, &s);
	if (stream)
		s.sb = &errbody; /* an error answer was not streamed */
	if (cu.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
	    status < 100 || status > 599)
		return -EPROTO;
	if (status >= 400)
		take_message(d, s.sb);
	return (int) status;
}

int
docker_call(struct docker *d, const char *method, const char *path,
    const struct strbuf *body, int timeout_ms, struct strbuf *reply)
{
	char abspath[DOCKER_URL_MAX];
	int n;

	if (path[0] != '/')
		return -EINVAL;
	if (d->api_minor > 0)
		n = snprintf(abspath, sizeof(abspath), "/v1.%d%s", d->api_minor,
		    path);
	else
		n = snprintf(abspath, sizeof(abspath), "%s", path);
	if (n < 0 || (size_t) n >= sizeof(abspath))
		return -E2BIG;
	return call_raw(d, method, abspath, body, timeout_ms, reply, NULL);
}

int
docker_get_stream(struct docker *d, const char *path, int timeout_ms,
    int (*fn)(const char *data, size_t len, void *arg), void *arg)
{
	struct sink stream = { .fn = fn, .arg = arg };
	char abspath[DOCKER_URL_MAX];
	int n;

	if (path[0] != '/' || d->api_minor <= 0)
		return -EINVAL;
	n = snprintf(abspath, sizeof(abspath), "/v1.%d%s", d->api_minor, path);
	if (n < 0 || (size_t) n >= sizeof(abspath))
		return -E2BIG;
	return call_raw(d, "GET", abspath, NULL, timeout_ms, NULL, &stream);
}

int
docker_post_stream(struct docker *d, const char *path, int body_fd,
    const char *content_type, int timeout_ms,
    int (*fn)(const char *data, size_t len, void *arg), void *arg)
{
	struct sink stream = { .fn = fn,
		.arg = arg,
		.upload_fd = body_fd,
		.upload_type = content_type };
	char abspath[DOCKER_URL_MAX];
	int n;

	if (path[0] != '/' || d->api_minor <= 0 || body_fd < 0 || !content_type)
		return -EINVAL;
	n = snprintf(abspath, sizeof(abspath), "/v1.%d%s", d->api_minor, path);
	if (n < 0 || (size_t) n >= sizeof(abspath))
		return -E2BIG;
	return call_raw(d, "POST", abspath, NULL, timeout_ms, NULL, &stream);
}

int
docker_ping(struct docker *d, int timeout_ms)
{
	_cleanup_strbuf_ struct strbuf reply;
	int r;

	strbuf_init(&reply, 64);
	r = call_raw(d, "GET", "/_ping", NULL, timeout_ms, &reply, NULL);
	if (r < 0)
		return r;
	return r == 200 && strcmp(reply.buf, "OK") == 0 ? 0 : -EIO;
}

/* "1.41" -> 41 (major must be 1). */
static int
parse_api_minor(const char *s, int *ret)
{
	int64_t v;

	if (strncmp(s, "1.", 2) != 0 || parse_i64(s + 2, 0, 999, &v) < 0)
		return -EPROTO;
	*ret = (int) v;
	return 0;
}

int
docker_negotiate(struct docker *d, int timeout_ms)
{
	_cleanup_strbuf_ struct strbuf reply;
	struct jr_doc *doc = NULL;
	char ver[16];
	int r, tok, minor, max;

	strbuf_init(&reply, 64 * 1024);
	d->api_minor = 0;
	if ((r = call_raw(d, "GET", "/_ping", NULL, timeout_ms, &reply, NULL)) <
	    0)
		return r;
	if (r == 200 && str_copy(ver, sizeof(ver), d->api_header) == 0 &&
	    parse_api_minor(ver, &minor) == 0)
		goto found;
	/* A daemon without the header: ask /version. */
	if ((r = call_raw(d, "GET", "/version", NULL, timeout_ms, &reply,
		 NULL)) < 0)
		return r;
	if (r != 200)
		return -EIO;
	if ((r = jr_parse(reply.buf, reply.len, 4096, &doc)) < 0)
		return -EPROTO;
	r = -EPROTO;
	if (jr_type(doc, jr_root(doc)) == JR_OBJECT &&
	    (tok = jr_obj_get(doc, jr_root(doc), "ApiVersion")) >= 0 &&
	    jr_str(doc, tok, ver, sizeof(ver), NULL) >= 0 &&
	    parse_api_minor(ver, &minor) >= 0)
		r = 0;
	doc = jr_free(doc);
	if (r < 0)
		return r;
found:
	if (minor < DOCKER_API_MIN_MINOR) {
		(void) snprintf(d->err, sizeof(d->err), "the docker daemon "
		    "speaks API %s; jobcell needs 1.%d or newer", ver,
		    DOCKER_API_MIN_MINOR);
		return -EPROTONOSUPPORT;
	}
	max = d->max_minor > 0 ? d->max_minor : DOCKER_API_MAX_MINOR;
	d->api_minor = minor < max ? minor : max;
	return 0;
}

bool
docker_id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == DOCKER_ID_LEN;
}

int
docker_query_escape(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r;

	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			r = strbuf_addch(sb, (char) c);
		else
			r = strbuf_addf(sb, "%%%c%c", hex[c >> 4], hex[c & 15]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Writes all of buf to the non-blocking fd before deadline (not write_full,
 * which would spin on EAGAIN past the deadline). */
static int
send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		struct pollfd p = { fd, POLLOUT, 0 };
		int64_t left = deadline - time_mono_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int) left) < 0 && errno != EINTR)
			return -errno;
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t) n;
	}
	return 0;
}

/* Reads the answer's header (up to the blank line) into hdr; what follows
 * the blank line (stream bytes, may hold NULs) stays in hdr past *ret_end. */
static int
recv_header(int fd, struct strbuf *hdr, int64_t deadline, size_t *ret_end)
{
	char buf[2048];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - time_mono_ms();
		const char *end;
		ssize_t n;
		int r;

		if ((end = memmem(hdr->buf, hdr->len, "\r\n\r\n", 4))) {
			*ret_end = (size_t) (end - hdr->buf) + 4;
			return 0;
		}
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int) left) < 0 && errno != EINTR)
			return -errno;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if ((r = strbuf_add(hdr, buf, (size_t) n)) < 0)
			return r == -E2BIG ? -EPROTO : r;
	}
}

int
docker_attach(struct docker *d, const char *id, bool with_stdin,
    int timeout_ms, int *ret_fd, struct strbuf *early)
{
	_cleanup_strbuf_ struct strbuf req, hdr, body;
	_cleanup_close_ int fd = -1;
	int64_t deadline = time_mono_ms() + timeout_ms;
	curl_socket_t sock = CURL_SOCKET_BAD;
	size_t end = 0;
	int64_t status;
	char code[4];
	CURLcode rc;
	CURL *h;
	int r;

	strbuf_init(&req, 1024);
	strbuf_init(&hdr, ATTACH_HEADER_MAX);
	strbuf_init(&body, DOCKER_ERRBODY_MAX);
	d->err[0] = '\0';
	if (!docker_id_ok(id) || d->api_minor <= 0)
		return -EINVAL;
	if ((r = curl_setup()) < 0)
		return r;
	if (!(h = cu.easy_init()))
		return -ENOMEM;
	if ((r = set_common(d, h, DOCKER_URL_HOST "/", timeout_ms)) < 0 ||
	    cu.easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK) {
		cu.easy_cleanup(h);
		return r < 0 ? r : -EINVAL;
	}
	rc = cu.easy_perform(h);
	if (rc == CURLE_OK &&
	    cu.easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock) == CURLE_OK &&
	    sock != CURL_SOCKET_BAD)
		fd = fcntl(sock, F_DUPFD_CLOEXEC, 3);
	if (rc != CURLE_OK) {
		struct sink none = { 0 };

		r = curl_errno(h, rc, &none);
		cu.easy_cleanup(h);
		return r;
	}
	r = fd < 0 ? -errno : 0;
	cu.easy_cleanup(h); /* closes curl's fd; ours stays connected */
	if (r < 0)
		return r;
	/* The dup shares curl's O_NONBLOCK: we poll before every call. */
	if ((r = strbuf_addf(&req, "POST /v1.%d/containers/%s/attach?stream=1"
	    "&stdout=1&stderr=1%s HTTP/1.1\r\nHost: docker\r\n"
	    "Content-Type: text/plain\r\nConnection: Upgrade\r\n"
	    "Upgrade: tcp\r\n\r\n", d->api_minor, id,
	    with_stdin ? "&stdin=1" : "")) < 0)
		return r;
	if ((r = send_all(fd, req.buf, req.len, deadline)) < 0 ||
	    (r = recv_header(fd, &hdr, deadline, &end)) < 0)
		return r;
	/* "HTTP/1.1 101 UPGRADED" (or 200 without the upgrade). */
	if (strncmp(hdr.buf, "HTTP/1.", 7) != 0 || hdr.len < 12 ||
	    hdr.buf[8] != ' ')
		return -EPROTO;
	memcpy(code, hdr.buf + 9, 3);
	code[3] = '\0';
	if (parse_i64(code, 100, 599, &status) < 0)
		return -EPROTO;
	if (status != 101 && status != 200) {
		/* The message, if it came along with the header. */
		if (strbuf_add(&body, hdr.buf + end, hdr.len - end) == 0)
			take_message(d, &body);
		return status == 404 ? -ENOENT : -EIO;
	}
	if (early && hdr.len > end &&
	    (r = strbuf_add(early, hdr.buf + end, hdr.len - end)) < 0)
		return r;
	*ret_fd = steal_fd(&fd);
	return 0;
}

void
docker_demux_init(struct docker_demux *dm)
{
	*dm = (struct docker_demux) { 0 };
}

bool
docker_demux_idle(const struct docker_demux *dm)
{
	return dm->hdr_len == 0 && dm->left == 0;
}

int
docker_demux_feed(struct docker_demux *dm, const char *buf, size_t len,
    int (*emit)(int stream, const char *data, size_t len, void *arg),
    void *arg)
{
	int r;

	while (len > 0) {
		if (dm->left == 0) {
			size_t n = sizeof(dm->hdr) - dm->hdr_len;

			if (n > len)
				n = len;
			memcpy(dm->hdr + dm->hdr_len, buf, n);
			dm->hdr_len += n;
			buf += n;
			len -= n;
			if (dm->hdr_len < sizeof(dm->hdr))
				return 0;
			dm->hdr_len = 0;
			if ((dm->hdr[0] != 1 && dm->hdr[0] != 2) || dm->hdr[1] ||
			    dm->hdr[2] || dm->hdr[3])
				return -EPROTO;
			dm->stream = dm->hdr[0];
			dm->left = (uint32_t) dm->hdr[4] << 24 |
			    (uint32_t) dm->hdr[5] << 16 |
			    (uint32_t) dm->hdr[6] << 8 | (uint32_t) dm->hdr[7];
			continue;
		}
		size_t n = dm->left < len ? dm->left : len;

		if ((r = emit(dm->stream, buf, n, arg)) < 0)
			return r;
		dm->left -= (uint32_t) n;
		buf += n;
		len -= n;
	}
	return 0;
}
