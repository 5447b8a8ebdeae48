/* http.c - the client's HTTP(S) requests through libcurl: one easy handle
 * (so polling reuses the connection), the server's CA file, a bearer key,
 * timeouts, capped reply bodies, and a streaming mode for NDJSON follow.
 * Trusts nothing in the replies; callers parse them with jr_. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "wspath.h"
#include "banned.h"

#define HTTP_CONNECT_TIMEOUT_MS	10000L
#define HTTP_TIMEOUT_MS		60000L

void
http_resp_init(struct http_resp *r, size_t max)
{
	*r = (struct http_resp) { 0 };
	strbuf_init(&r->body, max);
}

void
http_resp_release(struct http_resp *r)
{
	strbuf_release(&r->body);
}

int
http_init(struct http *h, const struct settings *s)
{
	_cleanup_close_ int fd = -1;
	size_t n;
	int r;

	*h = (struct http) { 0 };
	h->connect_timeout_ms = HTTP_CONNECT_TIMEOUT_MS;
	h->timeout_ms = HTTP_TIMEOUT_MS;
	if (str_copy(h->base, sizeof(h->base), s->server) < 0)
		return -E2BIG;
	n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	if (s->cacert[0]) {
		/* Check here: curl's own message for a missing CA file does
		 * not name the file. */
		fd = open(s->cacert, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			r = -errno;
			(void) snprintf(h->err, sizeof(h->err),
			    "cannot read CA file '%s': %s", s->cacert,
			    strerror(-r));
			return r;
		}
		if (str_copy(h->cacert, sizeof(h->cacert), s->cacert) < 0)
			return -E2BIG;
	}
	r = snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s",
	    s->key);
	if (r < 0 || (size_t) r >= sizeof(h->auth))
		return -E2BIG;
	h->curl = curl_easy_init();
	if (!h->curl) {
		(void) str_copy(h->err, sizeof(h->err),
		    "cannot initialise libcurl");
		return -ENOMEM;
	}
	return 0;
}

int
http_open(struct cli_global *g, const char *what, unsigned need,
    struct http *h)
{
	struct settings s;
	int r;

	*h = (struct http) { 0 };
	if ((r = settings_resolve(g, need, &s)) < 0)
		return r;
	r = http_init(h, &s);
	settings_wipe(&s);
	if (r < 0) {
		cli_err(what, "%s", h->err[0] ? h->err : strerror(-r));
		http_release(h);
	}
	return r;
}

void
http_release(struct http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
	explicit_bzero(h->auth, sizeof(h->auth));
}

/* State shared with the curl callbacks of one transfer. */
struct xfer {
	struct http *h;
	struct http_resp *resp;
	http_data_fn fn;	/* streaming: 2xx chunks go here */
	void *userdata;
	int err;		/* why a callback stopped the transfer */
	int put_fd;		/* PUT: the body, read with pread from 0 */
	uint64_t put_size;
	uint64_t put_off;
	uint64_t range_from;   /* GET: "Range: bytes=N-" when > 0 */
	struct progress *prog; /* NULL: no bar */
	bool bulk;	       /* no total timeout, a low-speed limit */
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *p)
{
	struct xfer *x = p;
	size_t len = size * nmemb;	/* curl: size is always 1 */
	long status = 0;
	int r;

	if (x->fn) {
		(void) curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE,
		    &status);
		if (status >= 200 && status < 300) {
			if ((r = x->fn(data, len, x->userdata)) < 0) {
				x->err = r;
				return CURL_WRITEFUNC_ERROR;
			}
			return len;
		}
	}
	if ((r = strbuf_add(&x->resp->body, data, len)) < 0) {
		x->err = r;
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *p)
{
	struct xfer *x = p;
	size_t len = size * nmemb;
	static const char loc[] = "Location:";
	size_t i, j;

	if (len > sizeof(loc) && strncasecmp(data, loc, sizeof(loc) - 1) == 0) {
		i = sizeof(loc) - 1;
		while (i < len && (data[i] == ' ' || data[i] == '\t'))
			i++;
		j = len;
		while (j > i && (data[j - 1] == '\r' || data[j - 1] == '\n'))
			j--;
		if (j - i < sizeof(x->resp->location)) {
			memcpy(x->resp->location, data + i, j - i);
			x->resp->location[j - i] = '\0';
		}
	}
	return len;
}

/* Describes a failed transfer in h->err: the server and curl's words,
 * with a hint for the TLS failures people actually meet. */
static int
http_fail(struct http *h, CURLcode rc, const char *errbuf, int cb_err)
{
	const char *hint = "";

	if (cb_err == -E2BIG) {
		(void) snprintf(h->err, sizeof(h->err),
		    "%s: reply too large", h->base);
		return -E2BIG;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK && cb_err == 0) {
		/* only on_progress aborts without a reason of its own */
		(void) snprintf(h->err, sizeof(h->err), "%s: interrupted",
		    h->base);
		return -EINTR;
	}
	if (cb_err < 0) {
		(void) snprintf(h->err, sizeof(h->err), "%s: %s", h->base,
		    strerror(-cb_err));
		return cb_err;
	}
	switch ((int) rc) {
	case CURLE_SSL_CACERT_BADFILE:
		hint = h->cacert[0] ? " (is the CA file a PEM certificate?)" :
		    "";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		hint = h->cacert[0] ? " (is it signed by the CA file?)" :
		    " (a private CA needs --cacert or JOBCELL_CACERT)";
		break;
	default:
		break;
	}
	if (rc == CURLE_SSL_CACERT_BADFILE && h->cacert[0])
		(void) snprintf(h->err, sizeof(h->err),
		    "%s: bad CA file '%s': %s%s", h->base, h->cacert,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc), hint);
	else
		(void) snprintf(h->err, sizeof(h->err), "%s: %s%s", h->base,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc), hint);
	return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
}

/* libcurl calls this about once a second even on an idle stream, and
 * often while data flows: the place to notice Ctrl-C without a timeout. */
static int
on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = p;

	(void) dltotal;
	(void) ultotal;
	if (x && x->prog) {
		if (x->put_fd >= 0)
			progress_update(x->prog, (uint64_t) ulnow);
		else if (dlnow > 0)
			progress_update(x->prog,
			    x->range_from + (uint64_t) dlnow);
	}
	return cli_interrupted() ? 1 : 0;
}

/* PUT body: the file's bytes, by offset (the fd's position is not ours). */
static size_t
on_read(char *buf, size_t size, size_t nmemb, void *p)
{
	struct xfer *x = p;
	size_t want = size * nmemb;
	ssize_t n;

	if (x->put_off >= x->put_size)
		return 0;
	if (want > x->put_size - x->put_off)
		want = (size_t) (x->put_size - x->put_off);
	do
		n = pread(x->put_fd, buf, want, (off_t) x->put_off);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		/* the file shrank under us, or cannot be read */
		x->err = n < 0 ? -errno : -EIO;
		return CURL_READFUNC_ABORT;
	}
	x->put_off += (uint64_t) n;
	return (size_t) n;
}

static int
headers_build(const struct http *h, const char *accept, const char *ctype,
    bool auth, struct curl_slist **ret)
{
	const char *lines[4];
	struct curl_slist *l = NULL, *t;
	size_t n = 0;

	lines[n++] = accept;
	/* no "Expect: 100-continue" round trip before larger bodies */
	lines[n++] = "Expect:";
	if (ctype)
		lines[n++] = ctype;
	if (auth)
		lines[n++] = h->auth;
	for (size_t i = 0; i < n; i++) {
		t = curl_slist_append(l, lines[i]);
		if (!t) {
			curl_slist_free_all(l);
			return -ENOMEM;
		}
		l = t;
	}
	*ret = l;
	return 0;
}

static int
http_perform(struct http *h, const char *method, const char *path,
    const struct strbuf *body, unsigned flags, struct xfer *x)
{
	char url[PROFILE_SERVER_MAX + 4 * WSPATH_MAX + 256];
	char range[48];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	CURL *c = h->curl;
	int n, r = 0;

	h->err[0] = '\0';
	n = snprintf(url, sizeof(url), "%s%s", h->base, path);
	if (n < 0 || (size_t) n >= sizeof(url)) {
		(void) str_copy(h->err, sizeof(h->err), "URL too long");
		return -E2BIG;
	}
	strbuf_reset(&x->resp->body);
	x->resp->status = 0;
	x->resp->location[0] = '\0';

	curl_easy_reset(c);	/* keeps the connection cache */
	if ((r = headers_build(h,
		 x->fn ? "Accept: */*" : "Accept: application/json",
		 body		    ? "Content-Type: application/json" :
		     x->put_fd >= 0 ? "Content-Type: application/octet-stream" :
				      NULL,
		 !(flags & HTTP_NOAUTH), &hdrs)) < 0) {
		(void) str_copy(h->err, sizeof(h->err), "out of memory");
		return r;
	}

	rc = CURLE_OK;
	/* Each setopt can only fail on OOM or an unknown option; collect. */
	rc |= curl_easy_setopt(c, CURLOPT_URL, url);
	rc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc |= curl_easy_setopt(c, CURLOPT_USERAGENT,
	    "jobcell/" PACKAGE_VERSION);
	rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    h->connect_timeout_ms);
	rc |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	rc |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	rc |= curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	rc |= curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	rc |= curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	rc |= curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (x->bulk) {
		/* big bodies: no total timeout, but not stalled for a minute */
		rc |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		rc |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	} else if (!x->fn) {
		rc |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	}
	if (strcmp(method, "HEAD") == 0)
		rc |= curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (strcmp(method, "PUT") == 0) {
		rc |= curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		rc |= curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		rc |= curl_easy_setopt(c, CURLOPT_READDATA, x);
		rc |= curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t) x->put_size);
	}
	if (x->range_from > 0) {
		(void) snprintf(range, sizeof(range), "%llu-",
		    (unsigned long long) x->range_from);
		rc |= curl_easy_setopt(c, CURLOPT_RANGE, range);
	}
	if (h->cacert[0])
		rc |= curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
	if (strcmp(method, "POST") == 0) {
		rc |= curl_easy_setopt(c, CURLOPT_POST, 1L);
		rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    body ? body->buf : "");
		rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t) (body ? body->len : 0));
	} else if (strcmp(method, "DELETE") == 0)
		rc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	if (rc != CURLE_OK) {
		(void) str_copy(h->err, sizeof(h->err),
		    "cannot set up the request (libcurl)");
		r = -ENOMEM;
		goto out;
	}
	rc = curl_easy_perform(c);
	(void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->resp->status);
	if (rc != CURLE_OK)
		r = http_fail(h, rc, errbuf, x->err);
out:
	/* The handle keeps pointers to url, errbuf and hdrs: drop them. */
	(void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	(void) curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	return r;
}

int
http_request(struct http *h, const char *method, const char *path,
    const struct strbuf *body, unsigned flags, size_t max,
    struct http_resp *ret)
{
	struct xfer x = { .h = h, .resp = ret, .put_fd = -1 };

	ret->body.max = max;
	return http_perform(h, method, path, body, flags, &x);
}

int
http_stream(struct http *h, const char *path, http_data_fn fn,
    void *userdata, struct http_resp *ret)
{
	struct xfer x = { .h = h,
		.resp = ret,
		.fn = fn,
		.userdata = userdata,
		.put_fd = -1 };
	int r;

	ret->body.max = CLI_RESP_MAX;
	r = http_perform(h, "GET", path, NULL, 0, &x);
	/* Our own callback's reason beats curl's "write error". */
	if (r < 0 && x.err < 0)
		return x.err;
	return r;
}

int
http_put_fd(struct http *h, const char *path, int fd, uint64_t size,
    struct progress *prog, struct http_resp *ret)
{
	struct xfer x = { .h = h,
		.resp = ret,
		.put_fd = fd,
		.put_size = size,
		.prog = prog,
		.bulk = true };
	int r;

	ret->body.max = CLI_RESP_MAX;
	r = http_perform(h, "PUT", path, NULL, 0, &x);
	if (r < 0 && x.err < 0 && x.err != -EINTR)
		return x.err;
	return r;
}

int
http_get_range(struct http *h, const char *path, uint64_t from, http_data_fn fn,
    void *userdata, struct progress *prog, struct http_resp *ret)
{
	struct xfer x = { .h = h,
		.resp = ret,
		.fn = fn,
		.userdata = userdata,
		.put_fd = -1,
		.range_from = from,
		.prog = prog,
		.bulk = true };
	int r;

	ret->body.max = CLI_RESP_MAX;
	r = http_perform(h, "GET", path, NULL, 0, &x);
	if (r < 0 && x.err < 0)
		return x.err;
	return r;
}

long
http_status_now(struct http *h)
{
	long status = 0;

	(void) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

int
http_report(const char *what, const struct http_resp *r)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	char code[64], msg[1024];
	int e;

	if (r->body.len > 0 &&
	    jr_parse(r->body.buf, r->body.len, CLI_JSON_TOKENS, &doc) == 0 &&
	    (e = jr_obj_get(doc, jr_root(doc), "error")) >= 0 &&
	    jr_type(doc, e) == JR_OBJECT) {
		cli_json_str(doc, e, "code", code, sizeof(code), "error");
		cli_json_str(doc, e, "message", msg, sizeof(msg), "");
		(void) fflush(stdout);
		fprintf(stderr, "jobcell: %s: ", what);
		cli_put_safe(stderr, code);
		fputs(": ", stderr);
		cli_put_safe(stderr, msg[0] ? msg : "(no message)");
		fprintf(stderr, " (HTTP %ld)\n", r->status);
		if (r->status == 401)
			fprintf(stderr, "jobcell: %s: check the key: 'jobcell "
			    "config' shows which one is used\n", what);
		return EXIT_FAIL;
	}
	return cli_err(what, "HTTP %ld: unexpected reply from the server",
	    r->status);
}

int
http_err(const char *what, const struct http *h, int r)
{
	if (r == -EINTR)
		return EXIT_FAIL;
	return cli_err(what, "%s", h->err[0] ? h->err : strerror(-r));
}

int
http_json(const char *what, const struct http_resp *r,
    struct jr_doc **ret_doc)
{
	int rc;

	rc = jr_parse(r->body.buf, r->body.len, CLI_JSON_TOKENS, ret_doc);
	if (rc < 0) {
		cli_err(what, "the server sent a malformed reply (HTTP %ld)",
		    r->status);
		return rc;
	}
	if (jr_type(*ret_doc, jr_root(*ret_doc)) != JR_OBJECT) {
		*ret_doc = jr_free(*ret_doc);
		cli_err(what, "the server's reply is not a JSON object");
		return -EINVAL;
	}
	return 0;
}

void
ndjson_init(struct ndjson *nd,
    int (*fn)(const char *line, size_t len, void *userdata), void *userdata)
{
	strbuf_init(&nd->line, CLI_LINE_MAX);
	nd->fn = fn;
	nd->userdata = userdata;
}

void
ndjson_release(struct ndjson *nd)
{
	strbuf_release(&nd->line);
}

int
ndjson_feed(const char *data, size_t len, void *p)
{
	struct ndjson *nd = p;
	int r;

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t part = nl ? (size_t) (nl - data) : len;

		if ((r = strbuf_add(&nd->line, data, part)) < 0)
			return r;
		if (!nl)
			return 0;
		/* empty lines are keep-alives */
		if (nd->line.len > 0 &&
		    (r = nd->fn(nd->line.buf, nd->line.len, nd->userdata)) < 0)
			return r;
		strbuf_reset(&nd->line);
		data += part + 1;
		len -= part + 1;
	}
	return 0;
}
