/* test_docker_api.c - unit tests for the pure parts of cell/docker_api.c:
 * the multiplexed-stream decoder fed in every split, hostile headers,
 * container id checks and query escaping. No daemon needed. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cleanup.h"
#include "docker_api.h"
#include "strbuf.h"
#include "tap.h"
#include "banned.h"

struct collect {
	struct strbuf out, err;
	int calls;
	int fail_at;	/* return -EPIPE on this call (0: never) */
};

static int
collect(int stream, const char *data, size_t len, void *arg)
{
	struct collect *c = arg;

	if (++c->calls == c->fail_at)
		return -EPIPE;
	if (len == 0)
		return -EINVAL;	/* the decoder never emits empty pieces */
	return strbuf_add(stream == 1 ? &c->out : &c->err, data, len);
}

static void
collect_init(struct collect *c)
{
	memset(c, 0, sizeof(*c));
	strbuf_init(&c->out, 1 << 20);
	strbuf_init(&c->err, 1 << 20);
}

static void
collect_release(struct collect *c)
{
	strbuf_release(&c->out);
	strbuf_release(&c->err);
}

/* Appends one frame (header + payload) to sb. */
static void
frame(struct strbuf *sb, int stream, const char *data, size_t len)
{
	unsigned char h[8] = { (unsigned char) stream, 0, 0, 0,
		(unsigned char) (len >> 24), (unsigned char) (len >> 16),
		(unsigned char) (len >> 8), (unsigned char) len };

	(void) strbuf_add(sb, h, sizeof(h));
	(void) strbuf_add(sb, data, len);
}

static void
test_demux_splits(void)
{
	struct strbuf s;
	char big[70000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char) (i * 7);	/* NULs and high bytes included */
	strbuf_init(&s, 1 << 20);
	frame(&s, 1, "hello ", 6);
	frame(&s, 2, "oops\n", 5);
	frame(&s, 1, "", 0);		/* empty frame: nothing emitted */
	frame(&s, 1, "world\n", 6);
	frame(&s, 2, big, sizeof(big));
	frame(&s, 1, "\0x", 2);

	/* Every chunk size from 1 byte to the whole stream. */
	static const size_t chunks[] = { 1, 2, 3, 7, 8, 9, 4096, 65536, 1 << 20 };
	for (size_t k = 0; k < ARRAY_SIZE(chunks); k++) {
		struct docker_demux dm;
		struct collect c;
		int r = 0;

		collect_init(&c);
		docker_demux_init(&dm);
		for (size_t off = 0; off < s.len && r == 0; off += chunks[k]) {
			size_t n = s.len - off < chunks[k] ? s.len - off : chunks[k];

			r = docker_demux_feed(&dm, s.buf + off, n, collect, &c);
		}
		is_int(r, 0, "chunks of %zu: no error", chunks[k]);
		ok(c.out.len == 14 && memcmp(c.out.buf, "hello world\n\0x", 14) == 0,
		    "chunks of %zu: stdout byte-exact", chunks[k]);
		ok(c.err.len == 5 + sizeof(big) &&
		    memcmp(c.err.buf, "oops\n", 5) == 0 &&
		    memcmp(c.err.buf + 5, big, sizeof(big)) == 0,
		    "chunks of %zu: stderr byte-exact", chunks[k]);
		ok(docker_demux_idle(&dm), "chunks of %zu: idle at the end",
		    chunks[k]);
		collect_release(&c);
	}
	strbuf_release(&s);
}

static void
test_demux_hostile(void)
{
	static const struct {
		const char *what;
		unsigned char hdr[8];
		int r;
	} rows[] = {
		{ "stdin frame", { 0, 0, 0, 0, 0, 0, 0, 1 }, -EPROTO },
		{ "stream 3", { 3, 0, 0, 0, 0, 0, 0, 1 }, -EPROTO },
		{ "stream 255", { 255, 0, 0, 0, 0, 0, 0, 1 }, -EPROTO },
		{ "padding set", { 1, 0, 1, 0, 0, 0, 0, 1 }, -EPROTO },
		{ "text (a TTY stream)", { 'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o' },
		  -EPROTO },
		{ "huge length, no payload yet", { 1, 0, 0, 0, 0xff, 0xff, 0xff,
		  0xff }, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct docker_demux dm;
		struct collect c;

		collect_init(&c);
		docker_demux_init(&dm);
		is_int(docker_demux_feed(&dm, (const char *) rows[i].hdr, 8,
		    collect, &c), rows[i].r, "%s", rows[i].what);
		is_int(c.calls, 0, "%s: nothing emitted", rows[i].what);
		collect_release(&c);
	}

	/* A cut inside a header or a payload is not idle. */
	struct docker_demux dm;
	struct collect c;
	struct strbuf s;

	strbuf_init(&s, 64);
	frame(&s, 1, "abc", 3);
	collect_init(&c);
	docker_demux_init(&dm);
	(void) docker_demux_feed(&dm, s.buf, 5, collect, &c);
	ok(!docker_demux_idle(&dm), "cut in a header: not idle");
	(void) docker_demux_feed(&dm, s.buf + 5, 4, collect, &c);
	ok(!docker_demux_idle(&dm), "cut in a payload: not idle");
	collect_release(&c);

	/* The sink's error is passed on. */
	collect_init(&c);
	c.fail_at = 1;
	docker_demux_init(&dm);
	is_int(docker_demux_feed(&dm, s.buf, s.len, collect, &c), -EPIPE,
	    "an emit error is returned");
	collect_release(&c);
	strbuf_release(&s);
}

static void
test_id(void)
{
	static const struct { const char *in; bool ok; } rows[] = {
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true },
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", false },
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", false },
		{ "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false },
		{ "../../../../../../../../../../../../../../../../../../../../../..", false },
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd/f", false },
		{ "", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		is_int(docker_id_ok(rows[i].in), rows[i].ok, "id '%s'", rows[i].in);
}

static void
test_escape(void)
{
	static const struct { const char *in, *out; } rows[] = {
		{ "abc-_.~09", "abc-_.~09" },
		{ "{\"label\":[\"jobcell.job\"]}",
		  "%7B%22label%22%3A%5B%22jobcell.job%22%5D%7D" },
		{ "a b&c=d/e?f#", "a%20b%26c%3Dd%2Fe%3Ff%23" },
		{ "\xc3\xa9\x01", "%C3%A9%01" },
		{ "", "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct strbuf sb;

		strbuf_init(&sb, 1024);
		is_int(docker_query_escape(&sb, rows[i].in), 0, "escape row %zu", i);
		is_str(sb.buf, rows[i].out, "escape row %zu", i);
		strbuf_release(&sb);
	}
	struct strbuf small;

	strbuf_init(&small, 4);
	is_int(docker_query_escape(&small, "{{"), -E2BIG, "escape past max");
	strbuf_release(&small);
}

static void
test_init(void)
{
	struct docker d;
	char longp[200];

	is_int(docker_init(&d, NULL), 0, "default socket");
	is_str(d.socket_path, DOCKER_SOCKET_DEFAULT, "default socket path");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	is_int(docker_init(&d, longp), -ENAMETOOLONG, "a path past sun_path");
}

static void
test_no_daemon(void)
{
	struct docker d;

	/* A socket path where nothing listens: a clear errno, no hang. */
	(void) docker_init(&d, "/nonexistent/jobcell-test/docker.sock");
	is_int(docker_ping(&d, 2000), -ENOENT, "ping without a socket");
	is_int(docker_negotiate(&d, 2000), -ENOENT, "negotiate without a socket");
	docker_release(&d);
}

int
main(void)
{
	test_demux_splits();
	test_demux_hostile();
	test_id();
	test_escape();
	test_init();
	test_no_daemon();
	return done_testing();
}
