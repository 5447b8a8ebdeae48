/* cmd_logs.c - `jobcell logs | tail` and the output follower `run` uses.
 * Job output is written to our stdout/stderr as the job produced it (it is
 * the user's data, not escaped); everything else from the server is read
 * through jr_ with caps.
 *
 * How following works: GET /v1/jobs/{id}/logs?follow=1&after=N answers an
 * NDJSON stream of {"type":"stdout"|"stderr","seq","data"} records ending
 * with {"type":"exit",...}. A stream that ends early (proxy timeout,
 * network) is reopened with after= the last seq seen, so nothing is shown
 * twice. A server without follow (404/400 on the first request) is polled
 * instead: pages of GET .../logs?after=N until the job is final. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json_writer.h"
#include "parse.h"
#include "banned.h"

#define LOGS_PAGE_LIMIT	64	/* entries per page we ask for */
#define FOLLOW_RETRIES	5	/* early ends in a row, no progress */
#define FOLLOW_LONG_MS	5000	/* a longer stream did not end early */

/* ---- writing entries ---- */

struct sink {
	const char *what;	/* the command, for messages */
	const char *id;		/* the job, for messages */
	bool json;		/* NDJSON records on stdout */
	int only;		/* 0 both, 1 stdout only, 2 stderr only */
	int err;		/* first write error */
	bool lossy;		/* a chunk was left out (see entry_data) */
};

static void
sink_data(struct sink *k, const char *stream, int64_t seq, const char *data,
    size_t len)
{
	/* stderr, and the compile step's output (issue 14): stderr */
	FILE *f = strcmp(stream, "stdout") == 0 ? stdout : stderr;

	if ((k->only == 1 && f != stdout) || (k->only == 2 && f != stderr))
		return;
	if (k->json) {
		_cleanup_strbuf_ struct strbuf sb = { 0 };
		struct jw w;

		strbuf_init(&sb, CLI_LINE_MAX);
		jw_init(&w, &sb);
		jw_obj_open(&w);
		jw_kv_str(&w, "type", stream);
		jw_kv_i64(&w, "seq", seq);
		jw_key(&w, "data");
		jw_strn(&w, data, len);
		jw_obj_close(&w);
		if (jw_finish(&w) == 0) {
			fwrite(sb.buf, 1, sb.len, stdout);
			fputc('\n', stdout);
		}
		f = stdout;
	} else if (fwrite(data, 1, len, f) != len && !k->err) {
		k->err = -EIO;
	}
	(void) fflush(f);	/* live output; and keeps the order visible */
}

/* Reads "data" of an entry/record as bytes: a NUL in the output arrives
 * as \u0000 and is written out as the NUL byte it was. */
static int
entry_data(struct sink *k, const struct jr_doc *doc, int obj,
    int64_t seq, char **ret, size_t *ret_len)
{
	int t = jr_obj_get(doc, obj, "data");
	int r;

	*ret = NULL;
	if (t < 0) {
		cli_err(k->what, "entry %" PRId64 " has no data", seq);
		return -EPROTO;
	}
	r = jr_bytes_dup(doc, t, CLI_LINE_MAX, ret, ret_len);
	if (r < 0)
		cli_err(k->what, "entry %" PRId64 " has unreadable data", seq);
	return r;
}

/* ---- paged logs ---- */

struct page {
	int64_t next_after;
	bool complete;
	int n;			/* entries in this page */
};

/* Fetches one page after `after` and writes its entries to k. */
static int
logs_page(struct http *h, const char *id, int64_t after, struct sink *k,
    struct page *ret)
{
	const char *what = k->what;
	_cleanup_jr_ struct jr_doc *doc = NULL;
	struct http_resp resp;
	char path[192];
	int entries, r;

	(void) snprintf(path, sizeof(path), "/v1/jobs/%s/logs?after=%" PRId64
	    "&limit=%d", id, after, LOGS_PAGE_LIMIT);
	http_resp_init(&resp, CLI_LOGS_RESP_MAX);
	r = http_request(h, "GET", path, NULL, 0, CLI_LOGS_RESP_MAX, &resp);
	if (r < 0) {
		http_err(what, h, r);
		goto out;
	}
	if (resp.status != 200) {
		http_report(what, &resp);
		r = -EPROTO;
		goto out;
	}
	if ((r = http_json(what, &resp, &doc)) < 0)
		goto out;
	entries = jr_obj_get(doc, jr_root(doc), "entries");
	if (entries < 0 || jr_type(doc, entries) != JR_ARRAY) {
		cli_err(what, "the server's logs page has no 'entries' array");
		r = -EPROTO;
		goto out;
	}
	*ret = (struct page) { .next_after = after };
	for (int i = 0; i < jr_len(doc, entries); i++) {
		_cleanup_free_ char *data = NULL;
		int e = jr_child(doc, entries, i);
		char stream[16];
		int64_t seq = 0;
		size_t len = 0;

		if (e < 0 || jr_type(doc, e) != JR_OBJECT)
			continue;
		(void) cli_json_i64(doc, e, "seq", &seq);
		cli_json_str(doc, e, "stream", stream, sizeof(stream),
		    "stdout");
		if ((r = entry_data(k, doc, e, seq, &data, &len)) < 0)
			goto out;
		if (data)
			sink_data(k, stream, seq, data, len);
		if (seq > ret->next_after)
			ret->next_after = seq;
		ret->n++;
	}
	{
		int64_t na;

		if (cli_json_i64(doc, jr_root(doc), "next_after", &na) == 0 &&
		    na > ret->next_after)
			ret->next_after = na;
	}
	ret->complete = cli_json_bool(doc, jr_root(doc), "complete");
	r = k->err;
out:
	http_resp_release(&resp);
	return r;
}

/* How a job ended, from its job object. */
struct job_end {
	char status[32];
	bool have_code;
	int64_t exit_code;
	bool timed_out;
	int exit_status;	/* what `run` exits with */
};

/* GET the job; its status and exit details. */
static int
job_final(struct http *h, const char *what, const char *id,
    struct job_end *ret)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	struct http_resp resp;
	char path[128];
	int root, r;

	(void) snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	http_resp_init(&resp, CLI_RESP_MAX);
	r = http_request(h, "GET", path, NULL, 0, CLI_RESP_MAX, &resp);
	if (r < 0) {
		http_err(what, h, r);
	} else if (resp.status != 200) {
		http_report(what, &resp);
		r = -EPROTO;
	} else if ((r = http_json(what, &resp, &doc)) == 0) {
		root = jr_root(doc);
		*ret = (struct job_end) { 0 };
		cli_json_str(doc, root, "status", ret->status,
		    sizeof(ret->status), "");
		ret->have_code = cli_json_i64(doc, root, "exit_code",
		    &ret->exit_code) == 0;
		ret->timed_out = cli_json_bool(doc, root, "timed_out");
		ret->exit_status = job_exit_status(ret->status, ret->have_code,
		    ret->exit_code, ret->timed_out);
	}
	http_resp_release(&resp);
	return r;
}

/* The {"type":"exit",...} record the follow stream would have sent. */
static void
print_exit_record(const struct job_end *end)
{
	_cleanup_strbuf_ struct strbuf sb = { 0 };
	struct jw w;

	strbuf_init(&sb, 4096);
	jw_init(&w, &sb);
	jw_obj_open(&w);
	jw_kv_str(&w, "type", "exit");
	jw_kv_str(&w, "status", end->status);
	if (end->have_code)
		jw_kv_i64(&w, "exit_code", end->exit_code);
	else
		jw_kv_null(&w, "exit_code");
	jw_kv_bool(&w, "timed_out", end->timed_out);
	jw_obj_close(&w);
	if (jw_finish(&w) == 0)
		printf("%s\n", sb.buf);
}

/* Follows by polling pages (servers without ?follow=1). */
static int
follow_poll(struct http *h, const char *id, int64_t after, struct sink *k,
    int *ret_exit)
{
	struct job_end end;
	long delay_ms = 10;
	struct page pg;
	int r;

	for (;;) {
		if ((r = logs_page(h, id, after, k, &pg)) < 0)
			return r;
		after = pg.next_after;
		if (pg.n > 0 && !pg.complete) {
			delay_ms = 10;
			continue;
		}
		if (pg.complete)
			break;
		/* Nothing new: is the job over? Its status turns final only
		 * after its output is stored, so one more page ends it. */
		if ((r = job_final(h, k->what, id, &end)) < 0)
			return r;
		if (cli_status_final(end.status)) {
			do {
				if ((r = logs_page(h, id, after, k, &pg)) < 0)
					return r;
				after = pg.next_after;
			} while (pg.n > 0 && !pg.complete);
			break;
		}
		if ((r = cli_sleep_ms(delay_ms)) < 0)
			return r;
		delay_ms = delay_ms * 2 > 500 ? 500 : delay_ms * 2;
	}
	if ((r = job_final(h, k->what, id, &end)) < 0)
		return r;
	if (k->json)
		print_exit_record(&end);
	*ret_exit = end.exit_status;
	return 0;
}

/* ---- the NDJSON follow stream ---- */

struct follow {
	struct sink *k;
	int64_t last_seq;	/* highest seq written */
	bool done;		/* the exit record arrived */
	bool progress;		/* a record arrived on this connection */
	int exit_status;
	struct ndjson nd;
	int err;		/* why our data callback stopped the stream */
};

/* The http_data_fn of a follow stream: splits lines, remembers why it
 * stopped so a callback error is not mistaken for a network one. */
static int
follow_data(const char *data, size_t len, void *p)
{
	struct follow *fo = p;
	int r = ndjson_feed(data, len, &fo->nd);

	if (r == -E2BIG)
		cli_err(fo->k->what, "the server sent a record longer than "
		    "%u bytes", CLI_LINE_MAX);
	if (r < 0)
		fo->err = r;
	else if (fo->done)
		r = -ECANCELED;	/* the exit record is the end: hang up */
	return r;
}

static int
follow_line(const char *line, size_t len, void *p)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	_cleanup_free_ char *data = NULL;
	struct follow *fo = p;
	char type[16], status[32];
	int64_t seq = 0, code = 0;
	size_t dlen = 0;
	bool have;
	int root, r;

	if (fo->done)
		return 0;
	if (jr_parse(line, len, 64, &doc) < 0 ||
	    jr_type(doc, jr_root(doc)) != JR_OBJECT) {
		cli_err(fo->k->what, "the server sent a malformed record");
		return -EPROTO;
	}
	root = jr_root(doc);
	cli_json_str(doc, root, "type", type, sizeof(type), "");
	if (strcmp(type, "exit") == 0) {
		cli_json_str(doc, root, "status", status, sizeof(status),
		    "error");
		have = cli_json_i64(doc, root, "exit_code", &code) == 0;
		fo->exit_status = job_exit_status(status, have, code,
		    cli_json_bool(doc, root, "timed_out"));
		fo->done = true;
		if (fo->k->json) {
			fwrite(line, 1, len, stdout);
			fputc('\n', stdout);
			(void) fflush(stdout);
		}
		return 0;
	}
	if (strcmp(type, "stdout") != 0 && strcmp(type, "stderr") != 0 &&
	    strcmp(type, "compile_stdout") != 0 &&
	    strcmp(type, "compile_stderr") != 0)
		return 0;	/* a record type newer than us: not progress */
	fo->progress = true;
	(void) cli_json_i64(doc, root, "seq", &seq);
	if (seq != 0 && seq <= fo->last_seq)
		return 0;	/* seen before a reconnect */
	if ((r = entry_data(fo->k, doc, root, seq, &data, &dlen)) < 0)
		return r;
	if (data)
		sink_data(fo->k, type, seq, data, dlen);
	if (seq > fo->last_seq)
		fo->last_seq = seq;
	return fo->k->err;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
logs_follow(struct http *h, const char *what, const char *id, int64_t after,
    bool json, int *ret_exit)
{
	struct sink k = { .what = what, .id = id, .json = json };
	struct follow fo = { .k = &k, .last_seq = after };
	struct http_resp resp;
	int retries = 0, r = 0;
	bool first = true;

	http_resp_init(&resp, CLI_RESP_MAX);
	ndjson_init(&fo.nd, follow_line, &fo);
	while (!fo.done) {
		char path[192];
		int64_t t0 = mono_ms();

		(void) snprintf(path, sizeof(path), "/v1/jobs/%s/logs?follow=1"
		    "&after=%" PRId64, id, fo.last_seq);
		fo.progress = false;
		strbuf_reset(&fo.nd.line);
		r = http_stream(h, path, follow_data, &fo, &resp);
		if (fo.done) {
			r = 0;
			break;
		}
		if (fo.err < 0) {
			r = fo.err;	/* reported where it happened */
			goto out;
		}
		if (r == -EINTR)
			goto out;	/* Ctrl-C: the caller handles it */
		if (r == 0 && first &&
		    (resp.status == 404 || resp.status == 400)) {
			/* We can see the job, so 404/400 here means this
			 * server has no follow stream: poll pages instead. */
			r = follow_poll(h, id, fo.last_seq, &k, ret_exit);
			goto out;
		}
		if (r == 0 && (resp.status < 200 || resp.status > 299)) {
			http_report(what, &resp);
			r = -EPROTO;
			goto out;
		}
		first = false;
		if (fo.progress || mono_ms() - t0 > FOLLOW_LONG_MS)
			retries = 0;
		if (++retries > FOLLOW_RETRIES) {
			if (r < 0) {
				http_err(what, h, r);
				goto out;
			}
			/* the stream keeps closing at once: poll instead */
			r = follow_poll(h, id, fo.last_seq, &k, ret_exit);
			goto out;
		}
		if ((r = cli_sleep_ms(100L * retries)) < 0)
			goto out;
	}
	*ret_exit = fo.exit_status;
out:
	ndjson_release(&fo.nd);
	http_resp_release(&resp);
	return r < 0 ? r : k.lossy;
}

/* ---- logs ---- */

#define OPT_STREAM	0x2000
#define OPT_RAW		0x2001
#define OPT_AFTER	0x2002
#define OPT_CANCEL_ON_INT	0x2003

static const char *arg_stream;
static bool arg_raw;
static int64_t arg_after;
static bool arg_cancel_on_interrupt;

static void
logs_usage(FILE *f, const char *cmd)
{
	if (strcmp(cmd, "tail") == 0)
		fprintf(f, "Usage: jobcell tail ID [--after SEQ] "
		    "[--cancel-on-interrupt] [--json]\n\n"
		    "Prints the job's output as it is produced, until the job "
		    "ends\n(reconnecting when the stream breaks).\n"
		    "  --after SEQ         only the output after record SEQ\n"
		    "  --cancel-on-interrupt\n"
		    "                      on Ctrl-C, cancel the job (default: "
		    "leave it running)\n"
		    "  --json              NDJSON records, ending with the "
		    "exit record\n"
		    "  --profile P         use profile P\n"
		    "  --help              this help\n"
		    "Exit status: 0 (1 on errors, 130 interrupted); "
		    "'jobcell run' exits with the\njob's code.\n");
	else
		fprintf(f, "Usage: jobcell logs ID [--stream stdout|stderr] "
		    "[--raw] [--after SEQ] [--json]\n\n"
		    "Prints the job's output so far, each chunk to our stdout "
		    "or stderr as the\njob wrote it. --raw: the exact bytes of "
		    "one stream (default stdout),\nunrepaired.\n"
		    "  --stream S          only stdout or stderr\n"
		    "  --raw               the exact bytes of that stream\n"
		    "  --after SEQ         only the output after record SEQ\n"
		    "  --json              one record per line (NDJSON)\n"
		    "  --profile P         use profile P\n"
		    "  --help              this help\n");
}

static int
logs_opts(struct cli_global *g, const char *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "stream", required_argument, NULL, OPT_STREAM },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "after", required_argument, NULL, OPT_AFTER },
		{ "cancel-on-interrupt", no_argument, NULL,
		  OPT_CANCEL_ON_INT },
		{ NULL, 0, NULL, 0 },
	};
	bool is_logs = strcmp(cmd, "logs") == 0;
	int c;

	arg_stream = NULL;
	arg_raw = false;
	arg_after = 0;
	arg_cancel_on_interrupt = false;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		switch (c) {
		case 'h':
			logs_usage(stdout, cmd);
			return EXIT_OK;
		case OPT_STREAM:
		case OPT_RAW:
			if (!is_logs)
				return cli_usage_err(cmd, "--stream and --raw "
				    "are for 'jobcell logs'");
			if (c == OPT_RAW)
				arg_raw = true;
			else
				arg_stream = optarg;
			break;
		case OPT_CANCEL_ON_INT:
			if (is_logs)
				return cli_usage_err(cmd, "--cancel-on-"
				    "interrupt is for 'jobcell tail'");
			arg_cancel_on_interrupt = true;
			break;
		case OPT_AFTER:
			if (parse_i64(optarg, 0, INT64_MAX, &arg_after) < 0)
				return cli_usage_err(cmd, "--after wants a "
				    "sequence number, not '%s'", optarg);
			break;
		default:
			return cli_bad_option(cmd);
		}
	}
	if (optind >= argc)
		return cli_usage_err(cmd, "missing the job ID");
	if (argc - optind > 1)
		return cli_usage_err(cmd, "unexpected argument '%s'",
		    argv[optind + 1]);
	if (!cli_id_valid(argv[optind]))
		return cli_usage_err(cmd, "'%s' is not a job id", argv[optind]);
	if (arg_stream && strcmp(arg_stream, "stdout") != 0 &&
	    strcmp(arg_stream, "stderr") != 0)
		return cli_usage_err(cmd, "--stream is stdout or stderr, not "
		    "'%s'", arg_stream);
	if (arg_raw && g->json)
		return cli_usage_err(cmd, "--raw and --json do not mix");
	return -1;
}

static int
raw_out(const char *data, size_t len, void *p)
{
	bool *write_failed = p;

	if (fwrite(data, 1, len, stdout) != len) {
		*write_failed = true;
		return -EIO;
	}
	return 0;
}

static int
logs_raw(struct http *h, const char *id)
{
	struct http_resp resp;
	bool write_failed = false;
	char path[192];
	int r;

	(void) snprintf(path, sizeof(path), "/v1/jobs/%s/output?stream=%s",
	    id, arg_stream ? arg_stream : "stdout");
	http_resp_init(&resp, CLI_RESP_MAX);
	r = http_stream(h, path, raw_out, &write_failed, &resp);
	if (write_failed) {
		cli_err("logs", "cannot write standard output: %s",
		    strerror(errno));
	} else if (r < 0) {
		http_err("logs", h, r);
	} else if (resp.status < 200 || resp.status > 299) {
		http_report("logs", &resp);
		r = -EPROTO;
	}
	http_resp_release(&resp);
	return r;
}

int
cmd_logs(struct cli_global *g, int argc, char **argv)
{
	struct sink k = { .what = "logs" };
	struct http h;
	struct page pg;
	const char *id;
	int64_t after;
	int r;

	if ((r = logs_opts(g, "logs", argc, argv)) >= 0)
		return r;
	id = argv[optind];
	k.id = id;
	k.json = g->json;	/* known only once the options are read */
	if (arg_stream)
		k.only = strcmp(arg_stream, "stdout") == 0 ? 1 : 2;
	if (http_open(g, "logs", NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	if (arg_raw) {
		r = logs_raw(&h, id);
		goto out;
	}
	after = arg_after;
	for (;;) {
		if ((r = logs_page(&h, id, after, &k, &pg)) < 0)
			break;
		/* stop at the end, or if the server stops moving forward */
		if (pg.complete || pg.n == 0 || pg.next_after <= after)
			break;
		after = pg.next_after;
	}
out:
	http_release(&h);
	return r < 0 || k.lossy ? EXIT_FAIL : EXIT_OK;
}

int
cmd_tail(struct cli_global *g, int argc, char **argv)
{
	struct http h;
	int r, code = 0;

	if ((r = logs_opts(g, "tail", argc, argv)) >= 0)
		return r;
	if (http_open(g, "tail", NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	if ((r = cli_interrupt_catch()) < 0) {
		http_release(&h);
		return cli_err("tail", "cannot catch Ctrl-C: %s",
		    strerror(-r));
	}
	r = logs_follow(&h, "tail", argv[optind], arg_after, g->json, &code);
	if (r == -EINTR)
		code = job_interrupted(g, &h, "tail", argv[optind],
		    arg_cancel_on_interrupt);
	else
		code = r != 0 ? EXIT_FAIL : EXIT_OK;	/* 1: chunk left out */
	http_release(&h);
	return code;
}
