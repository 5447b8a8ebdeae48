/* bench/load.c - an HTTP load generator for jobcell's benchmarks (libcurl
 * multi, one process, one thread): C concurrent transfers, each on its own
 * keep-alive connection (HTTP/2 where the server offers it through ALPN,
 * one stream per connection), so the client's own cost stays small and
 * does not hide the server's. Not installed.
 *
 *   bench/load --url URL --cacert CA [--key KEY] [--conns C]
 *              [--seconds S | --requests N] [--path P] [--body JSON]
 *              [--expect CODE] [--want TEXT] [--http1]
 *
 * Each connection POSTs --body to URL+--path again and again (GET when
 * --body is empty) until S seconds have passed or N requests have been
 * answered; an answer counts as good when its status is --expect and, with
 * --want, its body contains TEXT (e.g. '"status":"succeeded"' for
 * POST /v1/run, which answers when the job has ended). Prints one line:
 *   RESULT ok=N bad=B seconds=S rps=R p50_ms=… p99_ms=… http=2
 * rps counts only good answers; the latencies are of good answers. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

#define LOAD_MAX_CONNS 1024
#define LOAD_MAX_BODY (1024 * 1024) /* kept per answer, for --want */

struct conn {
	CURL *easy;
	char *reply; /* first LOAD_MAX_BODY bytes of the answer */
	size_t reply_len;
	uint64_t start_ns;
};

static const char *arg_url;
static const char *arg_cacert;
static const char *arg_key;
static const char *arg_path = "/v1/jobs";
static const char *arg_body = "{\"argv\":[\"/bin/true\"]}";
static const char *arg_want;
static long arg_expect = 201;
static long arg_conns = 4;
static double arg_seconds = 10;
static long arg_requests = -1;
static bool arg_http1;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static size_t
on_data(char *p, size_t size, size_t n, void *userdata)
{
	struct conn *c = userdata;
	size_t len = size * n, room = LOAD_MAX_BODY - c->reply_len;
	size_t take = len < room ? len : room;

	memcpy(c->reply + c->reply_len, p, take);
	c->reply_len += take;
	c->reply[c->reply_len] = '\0';
	return len;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return (x > y) - (x < y);
}

static double
pct_ms(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t) (p / 100.0 * (double) (n - 1) + 0.5);
	return (double) v[i < n ? i : n - 1] / 1e6;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: load --url URL --cacert CA [--key KEY] "
	    "[--conns C] [--seconds S | --requests N]\n"
	    "            [--path P] [--body JSON] [--expect CODE] "
	    "[--want TEXT] [--http1]\n");
}

static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "conns", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "requests", required_argument, NULL, 'r' },
		{ "path", required_argument, NULL, 'p' },
		{ "body", required_argument, NULL, 'b' },
		{ "expect", required_argument, NULL, 'e' },
		{ "want", required_argument, NULL, 'w' },
		{ "http1", no_argument, NULL, '1' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			arg_url = optarg;
			break;
		case 'c':
			arg_cacert = optarg;
			break;
		case 'k':
			arg_key = optarg;
			break;
		case 'p':
			arg_path = optarg;
			break;
		case 'b':
			arg_body = optarg;
			break;
		case 'w':
			arg_want = optarg;
			break;
		case '1':
			arg_http1 = true;
			break;
		case 'n':
			arg_conns = strtol(optarg, &end, 10);
			if (*end || arg_conns < 1 || arg_conns > LOAD_MAX_CONNS)
				return -EINVAL;
			break;
		case 'r':
			arg_requests = strtol(optarg, &end, 10);
			if (*end || arg_requests < 1)
				return -EINVAL;
			break;
		case 'e':
			arg_expect = strtol(optarg, &end, 10);
			if (*end || arg_expect < 100 || arg_expect > 599)
				return -EINVAL;
			break;
		case 's':
			arg_seconds = strtod(optarg, &end);
			if (*end || !(arg_seconds > 0))
				return -EINVAL;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (!arg_url || !arg_cacert || optind != argc)
		return -EINVAL;
	return 0;
}

static int
conn_setup(struct conn *c, const char *url, struct curl_slist *hdrs)
{
	CURL *e;

	if (!(c->reply = malloc(LOAD_MAX_BODY + 1)) || !(e = curl_easy_init()))
		return -ENOMEM;
	c->easy = e;
	if (curl_easy_setopt(e, CURLOPT_URL, url) ||
	    curl_easy_setopt(e, CURLOPT_CAINFO, arg_cacert) ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs) ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data) ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, c) ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, c) ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
		arg_http1 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_2TLS))
		return -EINVAL;
	if (*arg_body &&
	    (curl_easy_setopt(e, CURLOPT_POSTFIELDS, arg_body) ||
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
		    (long) strlen(arg_body))))
		return -EINVAL;
	return 0;
}

int
main(int argc, char **argv)
{
	static char url[4096], auth[512];
	struct curl_slist *hdrs = NULL;
	struct conn *conns;
	uint64_t *lat, t0, deadline;
	size_t nlat = 0, cap = 1 << 20;
	long ok = 0, bad = 0, started = 0, http2 = 0;
	int running = 0;
	CURLM *m;

	if (parse_args(argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	if ((size_t) snprintf(url, sizeof(url), "%s%s", arg_url, arg_path) >=
		sizeof(url) ||
	    (arg_key &&
		(size_t) snprintf(auth, sizeof(auth),
		    "Authorization: Bearer %s", arg_key) >= sizeof(auth))) {
		fprintf(stderr, "load: --url or --key too long\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (hdrs && arg_key)
		hdrs = curl_slist_append(hdrs, auth);
	conns = calloc((size_t) arg_conns, sizeof(*conns));
	lat = malloc(cap * sizeof(*lat));
	m = curl_multi_init();
	if (!hdrs || !conns || !lat || !m ||
	    curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_NOTHING) ||
	    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, arg_conns)) {
		fprintf(stderr, "load: out of memory\n");
		return 1;
	}
	t0 = now_ns();
	deadline = t0 + (uint64_t) (arg_seconds * 1e9);
	for (long i = 0; i < arg_conns; i++) {
		if (conn_setup(&conns[i], url, hdrs) < 0) {
			fprintf(stderr, "load: cannot set up a connection\n");
			return 1;
		}
		if (arg_requests >= 0 && started >= arg_requests)
			continue;
		conns[i].start_ns = now_ns();
		if (curl_multi_add_handle(m, conns[i].easy) != CURLM_OK)
			return 1;
		started++;
	}
	do {
		CURLMsg *msg;
		int left;
		bool readded = false;

		/* The answers perform() finished are read before any wait:
		 * polling first slept up to its timeout (100 ms) with an
		 * answer in hand, on every request of a lone connection. */
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			fprintf(stderr, "load: curl multi failed\n");
			return 1;
		}
		while ((msg = curl_multi_info_read(m, &left))) {
			struct conn *c;
			long code = 0, ver = 0;
			uint64_t t = now_ns();
			bool more;

			if (msg->msg != CURLMSG_DONE)
				continue;
			(void) curl_easy_getinfo(msg->easy_handle,
			    CURLINFO_PRIVATE, (char **) &c);
			(void) curl_easy_getinfo(c->easy,
			    CURLINFO_RESPONSE_CODE, &code);
			(void) curl_easy_getinfo(c->easy, CURLINFO_HTTP_VERSION,
			    &ver);
			if (ver == CURL_HTTP_VERSION_2_0)
				http2 = 1;
			(void) curl_multi_remove_handle(m, c->easy);
			if (msg->data.result == CURLE_OK &&
			    code == arg_expect &&
			    (!arg_want || strstr(c->reply, arg_want))) {
				ok++;
				if (nlat < cap)
					lat[nlat++] = t - c->start_ns;
			} else {
				if (bad < 3)
					fprintf(stderr,
					    "load: answer %ld (%s): "
					    "%.200s\n",
					    code,
					    curl_easy_strerror(
						msg->data.result),
					    c->reply);
				bad++;
			}
			c->reply_len = 0;
			c->reply[0] = '\0';
			more = arg_requests >= 0 ? started < arg_requests :
						   t < deadline;
			if (more) {
				c->start_ns = now_ns();
				if (curl_multi_add_handle(m, c->easy) !=
				    CURLM_OK)
					return 1;
				started++;
				running++;
				readded = true;
			}
		}
		if (!readded && running > 0 &&
		    curl_multi_poll(m, NULL, 0, 100, NULL) != CURLM_OK) {
			fprintf(stderr, "load: curl multi failed\n");
			return 1;
		}
	} while (running > 0);

	double secs = (double) (now_ns() - t0) / 1e9;

	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("RESULT ok=%ld bad=%ld seconds=%.2f rps=%.1f p50_ms=%.2f "
	       "p99_ms=%.2f http=%d\n",
	    ok, bad, secs, (double) ok / secs, pct_ms(lat, nlat, 50),
	    pct_ms(lat, nlat, 99), http2 ? 2 : 1);
	for (long i = 0; i < arg_conns; i++) {
		curl_easy_cleanup(conns[i].easy);
		free(conns[i].reply);
	}
	free(conns);
	free(lat);
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	return bad > 0 && ok == 0 ? 1 : 0;
}
