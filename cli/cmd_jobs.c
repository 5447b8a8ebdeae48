/* cmd_jobs.c - `jobcell submit | run | status | list | cancel | me | ping`:
 * builds job requests with jw_, reads replies with jr_, prints them for
 * people (control bytes escaped) or passes the server's JSON through. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_writer.h"
#include "parse.h"
#include "banned.h"

static const char *const job_statuses[] = {
	"queued", "running", "succeeded", "failed", "timed_out", "cancelled",
	"error", NULL,
};

bool
job_status_terminal(const char *status)
{
	return strcmp(status, "succeeded") == 0 ||
	    strcmp(status, "failed") == 0 ||
	    strcmp(status, "timed_out") == 0 ||
	    strcmp(status, "cancelled") == 0 ||
	    strcmp(status, "error") == 0;
}

int
job_exit_status(const char *status, bool have_code, int64_t exit_code,
    bool timed_out)
{
	if (strcmp(status, "error") == 0)
		return 125;
	if (timed_out || strcmp(status, "timed_out") == 0)
		return 124;
	if (have_code && exit_code >= 0 && exit_code <= 255)
		return (int) exit_code;
	return strcmp(status, "succeeded") == 0 ? 0 : 1;
}

/* Prints the body followed by a newline: --json passes the server's JSON
 * through unchanged (it parsed, so it is JSON). */
static void
print_body(const struct http_resp *resp)
{
	fwrite(resp->body.buf, 1, resp->body.len, stdout);
	if (resp->body.len == 0 || resp->body.buf[resp->body.len - 1] != '\n')
		fputc('\n', stdout);
}

/* GET path, expecting 200 with a JSON object. Prints errors. */
static int
get_json(struct http *h, const char *what, const char *path, unsigned flags,
    struct http_resp *resp, struct jr_doc **ret_doc)
{
	int r;

	r = http_request(h, "GET", path, NULL, flags, CLI_RESP_MAX, resp);
	if (r < 0)
		return cli_err(what, "%s", h->err), r;
	if (resp->status != 200)
		return http_report(what, resp), -EPROTO;
	return http_json(what, resp, ret_doc);
}

/* ---- submit and run ---- */

enum {
	OPT_COMMAND = 0x2000, OPT_COMMAND_FILE, OPT_STDIN, OPT_ARGV,
	OPT_WAIT, OPT_FOLLOW, OPT_TIMEOUT, OPT_ENV, OPT_NAME, OPT_INPUT,
	OPT_MEMORY, OPT_CPUS, OPT_PIDS, OPT_DISK, OPT_NETWORK, OPT_SANDBOX,
	OPT_LIMIT, OPT_STATUS, OPT_BEFORE,
};

static const char *arg_command;
static const char *arg_command_file;
static bool arg_stdin_script;
static bool arg_argv;
static bool arg_wait;
static bool arg_follow;
static const char *arg_name;
static const char *arg_input;
static const char *arg_sandbox;
static bool arg_network;
static int64_t arg_timeout_s = -1;
static int64_t arg_memory_mb = -1, arg_cpus = -1, arg_pids = -1;
static int64_t arg_disk_mb = -1;
static const char *arg_env[JC_MAX_ENV];
static size_t arg_n_env;
static int64_t arg_limit = -1;
static const char *arg_status;
static const char *arg_before;

static void
submit_usage(FILE *f, const char *cmd)
{
	fprintf(f, "Usage: jobcell %s (--command STR | --command-file FILE | "
	    "--stdin | --argv -- ARG...)\n"
	    "           [--name N] [--timeout S] [--env K=V]... "
	    "[--input FILE]\n"
	    "           [--memory-mb N] [--cpus N] [--pids N] [--disk-mb N] "
	    "[--network]\n"
	    "           [--sandbox namespace|docker] %s[--json]\n\n",
	    cmd, strcmp(cmd, "submit") == 0 ? "[--wait | --follow] " : "");
	if (strcmp(cmd, "submit") == 0)
		fprintf(f, "Submits a job and prints its id (--json: the job "
		    "object).\n"
		    "  --wait          poll until the job ends, then print "
		    "'ID STATUS exit_code=N ...';\n"
		    "                  exit 0 if it succeeded, 1 if not\n"
		    "  --follow        print the job's output as it runs, then "
		    "the status line\n");
	else
		fprintf(f, "Submits a job, prints its output as it runs and "
		    "exits with its exit code\n"
		    "(124 timed out, 125 the cell could not be built). "
		    "--json prints the output\n"
		    "records as NDJSON instead.\n");
	fprintf(f, "  --command STR       run STR with /bin/sh -c\n"
	    "  --command-file FILE the shell script in FILE\n"
	    "  --stdin             the shell script on standard input\n"
	    "  --argv -- ARG...    run ARG... directly (no shell)\n"
	    "  --name N            a name for the job\n"
	    "  --timeout S         wall-time limit in seconds\n"
	    "  --env K=V           an environment variable (repeatable)\n"
	    "  --input FILE        the job's standard input ('-': ours)\n"
	    "  --memory-mb, --cpus, --pids, --disk-mb N   limits\n"
	    "  --network           ask for network access\n"
	    "  --sandbox NAME      namespace or docker\n"
	    "  --json              machine-readable output\n"
	    "  --profile P         use profile P\n");
}

static int
opt_i64(const char *cmd, const char *opt, const char *s, int64_t min,
    int64_t max, int64_t *ret)
{
	if (parse_i64(s, min, max, ret) < 0)
		return cli_usage_err(cmd, "%s wants a whole number %" PRId64
		    "..%" PRId64 ", not '%s'", opt, min, max, s);
	return 0;
}

static int
opt_env(const char *cmd, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t) (eq - kv) : 0;

	if (n == 0)
		return cli_usage_err(cmd, "--env wants NAME=VALUE, not '%s'",
		    kv);
	for (size_t i = 0; i < arg_n_env; i++)
		if (strncmp(arg_env[i], kv, n + 1) == 0)
			return cli_usage_err(cmd, "--env %.*s given twice",
			    (int) n, kv);
	if (arg_n_env >= JC_MAX_ENV)
		return cli_usage_err(cmd, "more than %d --env options",
		    JC_MAX_ENV);
	arg_env[arg_n_env++] = kv;
	return 0;
}

/* Parses submit/run options; -1 to go on, else an exit status. */
static int
submit_opts(struct cli_global *g, const char *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "command", required_argument, NULL, OPT_COMMAND },
		{ "command-file", required_argument, NULL, OPT_COMMAND_FILE },
		{ "stdin", no_argument, NULL, OPT_STDIN },
		{ "argv", no_argument, NULL, OPT_ARGV },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "input", required_argument, NULL, OPT_INPUT },
		{ "memory-mb", required_argument, NULL, OPT_MEMORY },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "pids", required_argument, NULL, OPT_PIDS },
		{ "disk-mb", required_argument, NULL, OPT_DISK },
		{ "network", no_argument, NULL, OPT_NETWORK },
		{ "sandbox", required_argument, NULL, OPT_SANDBOX },
		{ NULL, 0, NULL, 0 },
	};
	bool is_submit = strcmp(cmd, "submit") == 0;
	int c, sources, r = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		switch (c) {
		case 'h':
			submit_usage(stdout, cmd);
			return EXIT_OK;
		case OPT_COMMAND:
			arg_command = optarg;
			break;
		case OPT_COMMAND_FILE:
			arg_command_file = optarg;
			break;
		case OPT_STDIN:
			arg_stdin_script = true;
			break;
		case OPT_ARGV:
			arg_argv = true;
			break;
		case OPT_WAIT:
		case OPT_FOLLOW:
			if (!is_submit)
				return cli_usage_err(cmd, "--%s is for "
				    "'jobcell submit'", c == OPT_WAIT ?
				    "wait" : "follow");
			if (c == OPT_WAIT)
				arg_wait = true;
			else
				arg_follow = true;
			break;
		case OPT_TIMEOUT:
			r = opt_i64(cmd, "--timeout", optarg, 1, INT32_MAX,
			    &arg_timeout_s);
			break;
		case OPT_ENV:
			r = opt_env(cmd, optarg);
			break;
		case OPT_NAME:
			arg_name = optarg;
			break;
		case OPT_INPUT:
			arg_input = optarg;
			break;
		case OPT_MEMORY:
			r = opt_i64(cmd, "--memory-mb", optarg, 1, INT32_MAX,
			    &arg_memory_mb);
			break;
		case OPT_CPUS:
			r = opt_i64(cmd, "--cpus", optarg, 1, 1024, &arg_cpus);
			break;
		case OPT_PIDS:
			r = opt_i64(cmd, "--pids", optarg, 1, INT32_MAX,
			    &arg_pids);
			break;
		case OPT_DISK:
			r = opt_i64(cmd, "--disk-mb", optarg, 1, INT32_MAX,
			    &arg_disk_mb);
			break;
		case OPT_NETWORK:
			arg_network = true;
			break;
		case OPT_SANDBOX:
			arg_sandbox = optarg;
			break;
		default:
			return cli_bad_option(cmd);
		}
		if (r != 0)
			return r;
	}
	sources = !!arg_command + !!arg_command_file + arg_stdin_script +
	    arg_argv;
	if (sources != 1)
		return cli_usage_err(cmd, "give exactly one of --command, "
		    "--command-file, --stdin, --argv");
	if (arg_argv && optind >= argc)
		return cli_usage_err(cmd, "--argv needs the program after "
		    "'--'");
	if (!arg_argv && optind < argc)
		return cli_usage_err(cmd, "unexpected argument '%s' (use "
		    "--argv -- ARG... to pass a program and its arguments)",
		    argv[optind]);
	if (arg_argv && argc - optind > JC_MAX_ARGV)
		return cli_usage_err(cmd, "more than %d arguments",
		    JC_MAX_ARGV);
	if (arg_stdin_script && arg_input && strcmp(arg_input, "-") == 0)
		return cli_usage_err(cmd, "--stdin and --input - both want "
		    "standard input");
	if (arg_wait && arg_follow)
		return cli_usage_err(cmd, "--wait and --follow do not mix");
	if (arg_sandbox && strcmp(arg_sandbox, "namespace") != 0 &&
	    strcmp(arg_sandbox, "docker") != 0)
		return cli_usage_err(cmd, "--sandbox is namespace or docker, "
		    "not '%s'", arg_sandbox);
	return -1;
}

/* Reads a --command-file/--stdin/--input file, with a clear error. */
static int
read_input(const char *cmd, const char *what, const char *path, size_t max,
    char **ret, size_t *ret_len)
{
	int r = cli_read_file(path, max, ret, ret_len);

	if (r == -E2BIG)
		cli_err(cmd, "%s '%s' is larger than %zu bytes", what, path,
		    max);
	else if (r < 0)
		cli_err(cmd, "cannot read %s '%s': %s", what,
		    strcmp(path, "-") == 0 ? "standard input" : path,
		    strerror(-r));
	return r;
}

/* The job request body (DESIGN section 4, "The job request"). */
static int
build_request(const char *cmd, char **argv_rest, int n_rest,
    struct strbuf *body)
{
	_cleanup_free_ char *script = NULL;
	_cleanup_free_ char *input = NULL;
	size_t script_len = 0, input_len = 0;
	struct jw w;
	int r;

	if (arg_command_file &&
	    read_input(cmd, "command file", arg_command_file,
	    JC_MAX_COMMAND_BYTES, &script, &script_len) < 0)
		return -EINVAL;
	if (arg_stdin_script &&
	    read_input(cmd, "script", "-", JC_MAX_COMMAND_BYTES, &script,
	    &script_len) < 0)
		return -EINVAL;
	if (arg_input &&
	    read_input(cmd, "input", arg_input, JC_MAX_STDIN_BYTES, &input,
	    &input_len) < 0)
		return -EINVAL;
	if (script && memchr(script, '\0', script_len))
		return cli_err(cmd, "the script contains a NUL byte"), -EINVAL;

	jw_init(&w, body);
	jw_obj_open(&w);
	if (arg_argv) {
		jw_key(&w, "argv");
		jw_arr_open(&w);
		for (int i = 0; i < n_rest; i++)
			jw_str(&w, argv_rest[i]);
		jw_arr_close(&w);
	} else {
		jw_key(&w, "command");
		if (script)
			jw_strn(&w, script, script_len);
		else
			jw_str(&w, arg_command);
	}
	if (arg_name)
		jw_kv_str(&w, "name", arg_name);
	if (input) {
		jw_key(&w, "stdin");
		jw_strn(&w, input, input_len);
	}
	if (arg_n_env > 0) {
		jw_key(&w, "env");
		jw_obj_open(&w);
		for (size_t i = 0; i < arg_n_env; i++) {
			const char *eq = strchr(arg_env[i], '=');
			char name[JC_MAX_ENV_NAME + 1];

			if ((size_t) (eq - arg_env[i]) > JC_MAX_ENV_NAME)
				return cli_err(cmd, "--env name longer than "
				    "%d bytes", JC_MAX_ENV_NAME), -EINVAL;
			memcpy(name, arg_env[i], (size_t) (eq - arg_env[i]));
			name[eq - arg_env[i]] = '\0';
			jw_kv_str(&w, name, eq + 1);
		}
		jw_obj_close(&w);
	}
	if (arg_timeout_s > 0)
		jw_kv_i64(&w, "timeout", arg_timeout_s);
	if (arg_memory_mb > 0)
		jw_kv_i64(&w, "memory_mb", arg_memory_mb);
	if (arg_cpus > 0)
		jw_kv_i64(&w, "cpus", arg_cpus);
	if (arg_pids > 0)
		jw_kv_i64(&w, "pids", arg_pids);
	if (arg_disk_mb > 0)
		jw_kv_i64(&w, "disk_mb", arg_disk_mb);
	if (arg_network)
		jw_kv_bool(&w, "network", true);
	if (arg_sandbox)
		jw_kv_str(&w, "sandbox", arg_sandbox);
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0) {
		cli_err(cmd, r == -E2BIG ? "the job request is larger than "
		    "%u bytes" : "cannot build the job request (%u)",
		    JC_MAX_BODY_BYTES);
		return r;
	}
	return 0;
}

/* POSTs the job; on success copies its id and (if ret_resp) leaves the
 * 201 reply there. */
static int
submit_job(struct http *h, const char *cmd, const struct strbuf *body,
    char *ret_id, size_t id_size, struct http_resp *resp)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	int r;

	r = http_request(h, "POST", "/v1/jobs", body, 0, CLI_RESP_MAX, resp);
	if (r < 0)
		return cli_err(cmd, "%s", h->err), r;
	if (resp->status != 201 && resp->status != 200)
		return http_report(cmd, resp), -EPROTO;
	if ((r = http_json(cmd, resp, &doc)) < 0)
		return r;
	cli_json_str(doc, jr_root(doc), "id", ret_id, id_size, "");
	if (!cli_id_valid(ret_id))
		return cli_err(cmd, "the server's reply has no valid job id"),
		    -EPROTO;
	return 0;
}

/* "ID STATUS exit_code=N duration_ms=M [error='...']" */
static void
print_status_line(FILE *f, const struct jr_doc *doc, int job)
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
static int
wait_job(struct http *h, const char *cmd, const char *id,
    struct http_resp *resp, struct jr_doc **ret_doc)
{
	char path[128], status[32];
	long delay_ms = 10;
	int r;

	(void) snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	for (;;) {
		*ret_doc = jr_free(*ret_doc);
		if ((r = get_json(h, cmd, path, 0, resp, ret_doc)) < 0)
			return r;
		cli_json_str(*ret_doc, jr_root(*ret_doc), "status", status,
		    sizeof(status), "");
		if (job_status_terminal(status))
			return 0;
		cli_sleep_ms(delay_ms);
		delay_ms = delay_ms * 2 > 500 ? 500 : delay_ms * 2;
	}
}

static void
reset_submit_args(void)
{
	arg_command = arg_command_file = arg_name = arg_input = NULL;
	arg_sandbox = NULL;
	arg_stdin_script = arg_argv = arg_wait = arg_follow = false;
	arg_network = false;
	arg_timeout_s = arg_memory_mb = arg_cpus = arg_pids = -1;
	arg_disk_mb = -1;
	arg_n_env = 0;
}

static int
submit_or_run(struct cli_global *g, const char *cmd, int argc, char **argv)
{
	_cleanup_strbuf_ struct strbuf body = { 0 };
	_cleanup_jr_ struct jr_doc *doc = NULL;
	struct http_resp resp;
	struct http h;
	char id[CLI_ID_MAX + 1], status[32];
	int r, code = EXIT_FAIL;

	reset_submit_args();
	if ((r = submit_opts(g, cmd, argc, argv)) >= 0)
		return r;
	strbuf_init(&body, JC_MAX_BODY_BYTES);
	if (build_request(cmd, argv + optind, argc - optind, &body) < 0)
		return EXIT_FAIL;
	if (http_open(g, cmd, NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_RESP_MAX);
	if (submit_job(&h, cmd, &body, id, sizeof(id), &resp) < 0)
		goto out;

	if (strcmp(cmd, "run") == 0) {
		if (logs_follow(&h, cmd, id, 0, g->json, &code) < 0)
			code = EXIT_FAIL;
		goto out;
	}
	if (!arg_wait && !arg_follow) {
		if (g->json)
			print_body(&resp);
		else
			printf("%s\n", id);
		code = EXIT_OK;
		goto out;
	}
	if (arg_follow) {
		int ignored;

		if (logs_follow(&h, cmd, id, 0, false, &ignored) < 0)
			goto out;
	}
	if (wait_job(&h, cmd, id, &resp, &doc) < 0)
		goto out;
	if (g->json)
		print_body(&resp);
	else
		print_status_line(stdout, doc, jr_root(doc));
	cli_json_str(doc, jr_root(doc), "status", status, sizeof(status), "");
	code = strcmp(status, "succeeded") == 0 ? EXIT_OK : EXIT_FAIL;
out:
	http_resp_release(&resp);
	http_release(&h);
	return code;
}

int
cmd_submit(struct cli_global *g, int argc, char **argv)
{
	return submit_or_run(g, "submit", argc, argv);
}

int
cmd_run(struct cli_global *g, int argc, char **argv)
{
	return submit_or_run(g, "run", argc, argv);
}

/* ---- status, cancel, me: one request, one object ---- */

static void
ping_usage(FILE *f)
{
	fprintf(f, "Usage: jobcell ping [--json]\n\n"
	    "Checks that the server answers (GET /v1/health, no key) and "
	    "that the key\nworks (GET /v1/me); says which step failed.\n");
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
		    "object).\n");
	else if (strcmp(cmd, "cancel") == 0)
		fprintf(f, "Usage: jobcell cancel ID [--json]\n\n"
		    "Cancels a queued or running job and prints its status "
		    "line.\n");
	else
		fprintf(f, "Usage: jobcell me [--json]\n\n"
		    "Shows who the key belongs to, its limits and usage.\n");
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
		cli_err(cmd, "%s", h.err);
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		http_report(cmd, &resp);
		goto out;
	}
	if (http_json(cmd, &resp, &doc) < 0)
		goto out;
	if (g->json)
		print_body(&resp);
	else if (strcmp(cmd, "cancel") == 0)
		print_status_line(stdout, doc, jr_root(doc));
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

static void
list_usage(FILE *f)
{
	fprintf(f, "Usage: jobcell list [--limit N] [--status S] "
	    "[--before ID] [--json]\n\n"
	    "Lists your jobs, newest first. S is one of queued, running, "
	    "succeeded,\nfailed, timed_out, cancelled, error.\n");
}

static void
list_table(const struct jr_doc *doc, int jobs)
{
	size_t idw = 2;
	char id[CLI_ID_MAX + 1], status[32], created[40], name[512];
	char exit_s[24], dur[32];

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
		/* id and status are checked shapes; the rest is escaped */
		printf("%-*s  ", (int) idw, cli_id_valid(id) ? id : "?");
		printf("%-9s  %4s  ", status, exit_s);
		printf("%-24s  %10s  ", created, dur);
		cli_put_safe(stdout, name);
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
	struct http_resp resp;
	struct http h;
	char next[CLI_ID_MAX + 1];
	int c, jobs, r, code = EXIT_FAIL;
	bool known = false;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		switch (c) {
		case 'h':
			list_usage(stdout);
			return EXIT_OK;
		case OPT_LIMIT:
			if ((r = opt_i64("list", "--limit", optarg, 1,
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
	for (size_t i = 0; arg_status && job_statuses[i]; i++)
		known |= strcmp(arg_status, job_statuses[i]) == 0;
	if (arg_status && !known)
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
	if (get_json(&h, "list", path.buf, 0, &resp, &doc) < 0)
		goto out;
	if (g->json) {
		print_body(&resp);
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
	if (get_json(&h, "ping: server", "/v1/health", HTTP_NOAUTH, &resp,
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
	if (get_json(&h, "ping: key", "/v1/me", 0, &resp, &me) < 0)
		goto out;
	cli_json_str(me, jr_root(me), "name", name, sizeof(name), "?");
	if (g->json) {
		printf("{\"server\":\"ok\",\"auth\":\"ok\"}\n");
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
