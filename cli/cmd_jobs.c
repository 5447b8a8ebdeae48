/* cmd_jobs.c - `jobcell status | list | cancel | me | ping` and the job
 * helpers submit and run share: reads replies with jr_, prints them for
 * people (control bytes escaped) or passes the server's JSON through. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "job_status.h"
#include "json_writer.h"
#include "parse.h"
#include "banned.h"

bool
cli_status_final(const char *status)
{
	enum job_status st;

	return job_status_from_string(status, &st) == 0 &&
	    job_status_is_final(st);
}

int
job_exit_status(const char *status, bool have_code, int64_t exit_code,
    bool timed_out)
{
	enum job_status st;
	bool known = job_status_from_string(status, &st) == 0;

	if (known && st == JOB_ERROR)
		return 125;
	if (timed_out || (known && st == JOB_TIMED_OUT))
		return 124;
	if (have_code && exit_code >= 0 && exit_code <= 255)
		return (int) exit_code;
	return known && st == JOB_SUCCEEDED ? 0 : 1;
}

/* Prints the body followed by a newline: --json passes the server's JSON
 * through unchanged (it parsed, so it is JSON). */
void
cli_print_body(const struct http_resp *resp)
{
	fwrite(resp->body.buf, 1, resp->body.len, stdout);
	if (resp->body.len == 0 || resp->body.buf[resp->body.len - 1] != '\n')
		fputc('\n', stdout);
}

/* GET path, expecting 200 with a JSON object. Prints errors. */
int
cli_get_json(struct http *h, const char *what, const char *path, unsigned flags,
    struct http_resp *resp, struct jr_doc **ret_doc)
{
	int r;

	r = http_request(h, "GET", path, NULL, flags, CLI_RESP_MAX, resp);
	if (r < 0)
		return http_err(what, h, r), r;
	if (resp->status != 200)
		return http_report(what, resp), -EPROTO;
	return http_json(what, resp, ret_doc);
}

/* "ID STATUS exit_code=N duration_ms=M [error='...']" */
void
job_print_status_line(FILE *f, const struct jr_doc *doc, int job)
{
	char id[CLI_ID_MAX + 1], status[32], err[512];
	int64_t v;

	cli_json_str(doc, job, "id", id, sizeof(id), "?");
	cli_json_str(doc, job, "status", status, sizeof(status), "?");
	cli_put_safe(f, id);
	fputc(' ', f);
	cli_put_safe(f, status);
	if (cli_json_i64(doc, job, "exit_code", &v) == 0)
		fprintf(f, " exit_code=%" PRId64, v);
	if (cli_json_i64(doc, job, "signal", &v) == 0)
		fprintf(f, " signal=%" PRId64, v);
	if (cli_json_bool(doc, job, "timed_out"))
		fputs(" timed_out=true", f);
	if (cli_json_bool(doc, job, "oom_killed"))
		fputs(" oom_killed=true", f);
	if (cli_json_i64(doc, job, "duration_ms", &v) == 0)
		fprintf(f, " duration_ms=%" PRId64, v);
	cli_json_str(doc, job, "error", err, sizeof(err), "");
	if (err[0]) {
		fputs(" error='", f);
		cli_put_safe(f, err);
		fputc('\'', f);
	}
	fputc('\n', f);
}

/* Polls the job until its status is terminal: 10 ms, growing to 500 ms.
 * Leaves the last reply in resp and its parse in *ret_doc. */
int
job_wait(struct http *h, const char *cmd, const char *id,
    struct http_resp *resp, struct jr_doc **ret_doc)
{
	char path[128], status[32];
	long delay_ms = 10;
	int r;

	(void) snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	for (;;) {
		*ret_doc = jr_free(*ret_doc);
		if ((r = cli_get_json(h, cmd, path, 0, resp, ret_doc)) < 0)
			return r;
		cli_json_str(*ret_doc, jr_root(*ret_doc), "status", status,
		    sizeof(status), "");
		if (cli_status_final(status))
			return 0;
		if ((r = cli_sleep_ms(delay_ms)) < 0)
			return r;
		delay_ms = delay_ms * 2 > 500 ? 500 : delay_ms * 2;
	}
}

/* ---- status, cancel, me: one request, one object ---- */

static void
ping_usage(FILE *f)
{
	fprintf(f, "Usage: jobcell ping [--json]\n\n"
	    "Checks that the server answers (GET /v1/health, no key) and "
	    "that the key\nworks (GET /v1/me); says which step failed.\n"
	    "  --json        {\"server\",\"version\",\"auth\","
	    "\"consumer\"}\n"
	    "  --profile P   use profile P\n"
	    "  --help        this help\n");
}

static void
one_usage(FILE *f, const char *cmd)
{
	if (strcmp(cmd, "ping") == 0) {
		ping_usage(f);
		return;
	}
	if (strcmp(cmd, "status") == 0)
		fprintf(f, "Usage: jobcell status ID [--json]\n\n"
		    "Shows a job as 'key: value' lines (--json: the job "
		    "object).\n"
	    "  --json        the API's JSON\n"
	    "  --profile P   use profile P\n"
	    "  --help        this help\n");
	else if (strcmp(cmd, "cancel") == 0)
		fprintf(f, "Usage: jobcell cancel ID [--json]\n\n"
		    "Cancels a queued or running job and prints its status "
		    "line.\n"
	    "  --json        the API's JSON\n"
	    "  --profile P   use profile P\n"
	    "  --help        this help\n");
	else
		fprintf(f, "Usage: jobcell me [--json]\n\n"
		    "Shows who the key belongs to, its limits and usage.\n"
	    "  --json        the API's JSON\n"
	    "  --profile P   use profile P\n"
	    "  --help        this help\n");
}

/* Options of status/cancel/me; want: positional ids. -1 to go on. */
static int
one_opts(struct cli_global *g, const char *cmd, int argc, char **argv,
    int want)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		if (c == 'h') {
			one_usage(stdout, cmd);
			return EXIT_OK;
		}
		return cli_bad_option(cmd);
	}
	if (argc - optind < want)
		return cli_usage_err(cmd, "missing the job ID");
	if (argc - optind > want)
		return cli_usage_err(cmd, "unexpected argument '%s'",
		    argv[optind + want]);
	if (want == 1 && !cli_id_valid(argv[optind]))
		return cli_usage_err(cmd, "'%s' is not a job id",
		    argv[optind]);
	return -1;
}

/* method prefix[ID]suffix: ID is the operand when want is 1. */
static int
one_request(struct cli_global *g, const char *cmd, const char *method,
    const char *prefix, const char *suffix, int argc, char **argv, int want)
{
	char path[128];
	_cleanup_jr_ struct jr_doc *doc = NULL;
	struct http_resp resp;
	struct http h;
	int r, code = EXIT_FAIL;

	if ((r = one_opts(g, cmd, argc, argv, want)) >= 0)
		return r;
	/* ids are checked: at most CLI_ID_MAX of [A-Za-z0-9_-] */
	(void) snprintf(path, sizeof(path), "%s%s%s", prefix,
	    want ? argv[optind] : "", suffix);
	if (http_open(g, cmd, NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_RESP_MAX);
	r = http_request(&h, method, path, NULL, 0, CLI_RESP_MAX, &resp);
	if (r < 0) {
		http_err(cmd, &h, r);
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		http_report(cmd, &resp);
		goto out;
	}
	if (http_json(cmd, &resp, &doc) < 0)
		goto out;
	if (g->json)
		cli_print_body(&resp);
	else if (strcmp(cmd, "cancel") == 0)
		job_print_status_line(stdout, doc, jr_root(doc));
	else
		cli_print_kv(stdout, doc, jr_root(doc));
	code = EXIT_OK;
out:
	http_resp_release(&resp);
	http_release(&h);
	return code;
}

int
cmd_status(struct cli_global *g, int argc, char **argv)
{
	return one_request(g, "status", "GET", "/v1/jobs/", "", argc, argv,
	    1);
}

int
cmd_cancel(struct cli_global *g, int argc, char **argv)
{
	return one_request(g, "cancel", "POST", "/v1/jobs/", "/cancel", argc,
	    argv, 1);
}

int
cmd_me(struct cli_global *g, int argc, char **argv)
{
	return one_request(g, "me", "GET", "/v1/me", "", argc, argv, 0);
}

/* ---- list ---- */

enum { OPT_LIMIT = 0x2000, OPT_STATUS, OPT_BEFORE };

static int64_t arg_limit = -1;
static const char *arg_status;
static const char *arg_before;

static void
list_usage(FILE *f)
{
	fprintf(f, "Usage: jobcell list [--limit N] [--status S] "
	    "[--before ID] [--json]\n\n"
	    "Lists your jobs, newest first, as an aligned table.\n"
	    "  --limit N     at most N jobs, 1..%d (default %d)\n"
	    "  --status S    only jobs in status S: queued, running, "
	    "succeeded,\n"
	    "                failed, timed_out, cancelled, error\n"
	    "  --before ID   the page after job ID (as printed under the "
	    "table)\n"
	    "  --json        the API's JSON\n"
	    "  --profile P   use profile P\n"
	    "  --help        this help\n", JC_LIST_MAX, JC_LIST_DEFAULT);
}

static void
list_table(const struct jr_doc *doc, int jobs)
{
	size_t idw = 2;
	char id[CLI_ID_MAX + 1], status[32], created[40], name[512];
	char exit_s[24], dur[32];
	enum job_status st;

	for (int i = 0; i < jr_len(doc, jobs); i++) {
		cli_json_str(doc, jr_child(doc, jobs, i), "id", id, sizeof(id),
		    "?");
		if (strlen(id) > idw)
			idw = strlen(id);
	}
	printf("%-*s  %-9s  %4s  %-24s  %10s  %s\n", (int) idw, "ID",
	    "STATUS", "EXIT", "CREATED", "DURATION", "NAME");
	for (int i = 0; i < jr_len(doc, jobs); i++) {
		int j = jr_child(doc, jobs, i);
		int64_t v;

		if (j < 0 || jr_type(doc, j) != JR_OBJECT)
			continue;
		cli_json_str(doc, j, "id", id, sizeof(id), "?");
		cli_json_str(doc, j, "status", status, sizeof(status), "?");
		cli_json_str(doc, j, "created_at", created, sizeof(created),
		    "-");
		cli_json_str(doc, j, "name", name, sizeof(name), "");
		if (cli_json_i64(doc, j, "exit_code", &v) == 0)
			(void) snprintf(exit_s, sizeof(exit_s), "%" PRId64, v);
		else
			(void) str_copy(exit_s, sizeof(exit_s), "-");
		if (cli_json_i64(doc, j, "duration_ms", &v) == 0)
			(void) snprintf(dur, sizeof(dur), "%" PRId64 ".%03ds",
			    v / 1000, (int) (v % 1000));
		else
			(void) str_copy(dur, sizeof(dur), "-");
		/* padded columns hold only checked shapes; the name is
		 * escaped */
		printf("%-*s  ", (int) idw, cli_id_valid(id) ? id : "?");
		printf("%-9s  %4s  ", job_status_from_string(status, &st) == 0 ?
		    job_status_to_string(st) : "?", exit_s);
		printf("%-24s  %10s", strspn(created, "0123456789-:.TZ+") ==
		    strlen(created) ? created : "?", dur);
		if (name[0]) {
			fputs("  ", stdout);
			cli_put_safe(stdout, name);
		}
		fputc('\n', stdout);
	}
}

int
cmd_list(struct cli_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "status", required_argument, NULL, OPT_STATUS },
		{ "before", required_argument, NULL, OPT_BEFORE },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_jr_ struct jr_doc *doc = NULL;
	_cleanup_strbuf_ struct strbuf path = { 0 };
	enum job_status want;
	struct http_resp resp;
	struct http h;
	char next[CLI_ID_MAX + 1];
	int c, jobs, r, code = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		switch (c) {
		case 'h':
			list_usage(stdout);
			return EXIT_OK;
		case OPT_LIMIT:
			if ((r = cli_opt_i64("list", "--limit", optarg, 1,
			    JC_LIST_MAX, &arg_limit)) != 0)
				return r;
			break;
		case OPT_STATUS:
			arg_status = optarg;
			break;
		case OPT_BEFORE:
			arg_before = optarg;
			break;
		default:
			return cli_bad_option("list");
		}
	}
	if (optind < argc)
		return cli_usage_err("list", "unexpected argument '%s'",
		    argv[optind]);
	if (arg_status && job_status_from_string(arg_status, &want) < 0)
		return cli_usage_err("list", "unknown status '%s'", arg_status);
	if (arg_before && !cli_id_valid(arg_before))
		return cli_usage_err("list", "'%s' is not a job id",
		    arg_before);

	strbuf_init(&path, 512);
	r = strbuf_addf(&path, "/v1/jobs?limit=%" PRId64,
	    arg_limit > 0 ? arg_limit : (int64_t) JC_LIST_DEFAULT);
	if (r == 0 && arg_status)
		r = strbuf_addf(&path, "&status=%s", arg_status);
	if (r == 0 && arg_before)
		r = strbuf_addf(&path, "&before=%s", arg_before);
	if (r < 0)
		return cli_err("list", "out of memory");

	if (http_open(g, "list", NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_RESP_MAX);
	if (cli_get_json(&h, "list", path.buf, 0, &resp, &doc) < 0)
		goto out;
	if (g->json) {
		cli_print_body(&resp);
		code = EXIT_OK;
		goto out;
	}
	jobs = jr_obj_get(doc, jr_root(doc), "jobs");
	if (jobs < 0 || jr_type(doc, jobs) != JR_ARRAY) {
		cli_err("list", "the server's reply has no 'jobs' array");
		goto out;
	}
	list_table(doc, jobs);
	cli_json_str(doc, jr_root(doc), "next", next, sizeof(next), "");
	if (next[0] && cli_id_valid(next))
		fprintf(stderr, "more: jobcell list --before %s\n", next);
	code = EXIT_OK;
out:
	http_resp_release(&resp);
	http_release(&h);
	return code;
}

/* ---- ping ---- */

int
cmd_ping(struct cli_global *g, int argc, char **argv)
{
	_cleanup_jr_ struct jr_doc *health = NULL;
	_cleanup_jr_ struct jr_doc *me = NULL;
	struct http_resp resp;
	struct http h;
	char version[64], db[32], name[JC_CONSUMER_NAME_MAX + 1];
	int r, code = EXIT_FAIL;

	if ((r = one_opts(g, "ping", argc, argv, 0)) >= 0)
		return r;
	if (http_open(g, "ping", NEED_SERVER, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_RESP_MAX);
	if (cli_get_json(&h, "ping: server", "/v1/health", HTTP_NOAUTH, &resp,
	    &health) < 0)
		goto out;
	cli_json_str(health, jr_root(health), "version", version,
	    sizeof(version), "?");
	cli_json_str(health, jr_root(health), "db", db, sizeof(db), "?");
	if (!g->json) {
		printf("server: ok (%s, version ", h.base);
		cli_put_safe(stdout, version);
		printf(", db ");
		cli_put_safe(stdout, db);
		printf(")\n");
	}
	if (strlen(h.auth) == strlen("Authorization: Bearer ")) {
		cli_err("ping: key", "no key configured: run 'jobcell init' "
		    "or set JOBCELL_KEY");
		goto out;
	}
	if (cli_get_json(&h, "ping: key", "/v1/me", 0, &resp, &me) < 0)
		goto out;
	cli_json_str(me, jr_root(me), "name", name, sizeof(name), "?");
	if (g->json) {
		_cleanup_strbuf_ struct strbuf sb = { 0 };
		struct jw w;

		strbuf_init(&sb, 4096);
		jw_init(&w, &sb);
		jw_obj_open(&w);
		jw_kv_str(&w, "server", "ok");
		jw_kv_str(&w, "url", h.base);
		jw_kv_str(&w, "version", version);
		jw_kv_str(&w, "auth", "ok");
		jw_kv_str(&w, "consumer", name);
		jw_obj_close(&w);
		if (jw_finish(&w) < 0) {
			cli_err("ping", "cannot format JSON");
			goto out;
		}
		printf("%s\n", sb.buf);
	} else {
		printf("key:    ok (consumer '");
		cli_put_safe(stdout, name);
		printf("')\n");
	}
	code = EXIT_OK;
out:
	http_resp_release(&resp);
	http_release(&h);
	return code;
}
