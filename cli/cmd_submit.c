/* cmd_submit.c - `jobcell submit | run`: turns options and local files into
 * a job request (jw_), posts it, and optionally waits for or follows the
 * job (Ctrl-C then: interrupt.c). Local files are read here; nothing the
 * server sends is trusted. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "job_status.h"
#include "json_writer.h"
#include "parse.h"
#include "utf8.h"
#include "wspath.h"
#include "banned.h"

enum {
	OPT_COMMAND = 0x2000,
	OPT_COMMAND_FILE,
	OPT_STDIN,
	OPT_ARGV,
	OPT_WAIT,
	OPT_FOLLOW,
	OPT_TIMEOUT,
	OPT_ENV,
	OPT_NAME,
	OPT_STDIN_FILE,
	OPT_INPUT,
	OPT_MEMORY,
	OPT_MEMORY_MB,
	OPT_CPUS,
	OPT_PIDS,
	OPT_DISK,
	OPT_DISK_MB,
	OPT_NETWORK,
	OPT_SANDBOX,
	OPT_FILE,
	OPT_CWD,
	OPT_IMAGE,
	OPT_CONSTRAINT,
	OPT_CANCEL_ON_INT,
	OPT_ARTIFACT,
	OPT_ARTIFACTS_REQUIRED,
	OPT_FILE_EXEC,
	OPT_RUNTIME,
	OPT_CODE_FILE,
};

static const char *arg_command;
static const char *arg_command_file;
static bool arg_stdin_script;
static bool arg_argv;
static bool arg_wait;
static bool arg_follow;
static bool arg_cancel_on_interrupt;
static const char *arg_name;
static const char *arg_stdin_file;
static const char *arg_sandbox;
static const char *arg_image;
static const char *arg_constraints[JC_MAX_CONSTRAINTS];
static size_t arg_n_constraints;
static const char *arg_cwd;
static bool arg_network;
static int64_t arg_timeout_s = -1;
static int64_t arg_memory_mb = -1, arg_cpus = -1, arg_pids = -1;
static int64_t arg_disk_mb = -1;
static const char *arg_env[JC_MAX_ENV];
static size_t arg_n_env;
static const char *arg_files[CLI_FILES_MAX];	/* LOCAL[:PATH] as given */
static bool arg_files_exec[CLI_FILES_MAX];	/* --file-exec */
static size_t arg_n_files;
static const char *arg_inputs[CLI_INPUTS_MAX]; /* PATH[:DEST] as given */
static size_t arg_n_inputs;
static const char *arg_artifacts[JC_MAX_ARTIFACT_GLOBS];
static size_t arg_n_artifacts;
static bool arg_artifacts_required;
/* the uploaded inputs, filled after the options are read */
static struct cli_input inputs[CLI_INPUTS_MAX];
/* Code jobs (issue 14): --runtime R with --code-file F, or exec's FILE. */
static const char *arg_runtime;
static const char *arg_code_file;
static bool arg_exec; /* jobcell exec: FILE [ARGS...] operands */

static void
submit_usage(FILE *f, const char *cmd)
{
	bool is_submit = strcmp(cmd, "submit") == 0;

	if (strcmp(cmd, "exec") == 0) {
		fprintf(f,
		    "Usage: jobcell exec --runtime R [OPTION]... FILE "
		    "[ARG]...\n\n"
		    "Runs the source FILE with runtime R (a name, alias or "
		    "NAME@VERSION from\n'jobcell runtimes'): compiled first "
		    "if R compiles, the compiler's output on\nstderr; then run "
		    "with ARGs and this program's standard input (unless it\n"
		    "is a terminal). Exits with the program's exit code (124 "
		    "timed out, 125 the\ncell could not be built, 1 the "
		    "compile failed). Options as for 'jobcell run'.\n");
		return;
	}
	fprintf(f,
	    "Usage: jobcell %s (--command STR | --command-file FILE | "
	    "--stdin | --argv -- ARG... |\n"
	    "           --runtime R --code-file FILE)\n"
	    "           [--name N] [--timeout S] [--env K=V]... "
	    "[--stdin-file FILE]\n"
	    "           [--file LOCAL[:PATH]]... [--file-exec LOCAL[:PATH]]...\n"
	    "           [--input PATH[:DEST]]... [--artifact GLOB]... "
	    "[--artifacts-required]\n"
	    "           [--cwd DIR] [--memory SIZE] [--cpus N]\n"
	    "           [--pids N] [--disk SIZE] [--network] "
	    "[--sandbox namespace|docker|swarm]\n"
	    "           [--image IMAGE] %s[--cancel-on-interrupt] "
	    "[--json]\n\n",
	    cmd, is_submit ? "[--wait | --follow] " : "");
	if (is_submit)
		fprintf(f, "Submits a job and prints its id (--json: the job "
		    "object).\n"
		    "  --wait              wait for the job's end, print 'ID "
		    "STATUS exit_code=N ...'\n"
		    "                      and exit 0 if it succeeded, 1 if "
		    "not\n"
		    "  --follow            print the job's output as it runs, "
		    "then as --wait\n");
	else
		fprintf(f, "Submits a job, prints its output as it runs and "
		    "exits with its exit code\n"
		    "(124 timed out, 125 the cell could not be built, 130 "
		    "interrupted). --json\nprints the output records as NDJSON "
		    "instead.\n");
	fprintf(f,
	    "  --command STR       run STR with /bin/sh -c\n"
	    "  --command-file FILE the shell script in FILE\n"
	    "  --stdin             the shell script on standard input\n"
	    "  --argv -- ARG...    run ARG... directly (no shell)\n"
	    "  --runtime R --code-file FILE\n"
	    "                      run the source FILE with runtime R (see "
	    "'jobcell runtimes')\n"
	    "  --name N            a name for the job\n"
	    "  --timeout S         wall-time limit in seconds\n"
	    "  --env K=V           an environment variable (repeatable)\n"
	    "  --stdin-file FILE   the job's standard input ('-': ours)\n"
	    "  --file LOCAL[:PATH] put the local file LOCAL in the workspace "
	    "as PATH\n"
	    "                      (default: its base name; repeatable; "
	    "executable if LOCAL is)\n"
	    "  --file-exec LOCAL[:PATH]\n"
	    "                      the same, always executable\n"
	    "  --input PATH[:DEST] upload the directory (packed, without "
	    ".git and what its\n"
	    "                      .jobcellignore lists) or file PATH and put "
	    "it at DEST\n"
	    "                      (default: its base name; at most 16)\n"
	    "  --artifact GLOB     collect the files matching GLOB when the "
	    "job ends\n"
	    "                      (relative to the workspace; *, ?, [...], "
	    "**; at most 32)\n"
	    "  --artifacts-required\n"
	    "                      fail the job if a --artifact matches "
	    "nothing\n"
	    "  --cwd DIR           run in DIR, relative to the workspace\n"
	    "  --memory SIZE       memory limit: MiB, or with an M or G "
	    "suffix\n"
	    "  --memory-mb N       the same, in MiB\n"
	    "  --cpus N            CPUs\n"
	    "  --pids N            processes\n"
	    "  --disk SIZE         workspace size: MiB, or with M or G\n"
	    "  --disk-mb N         the same, in MiB\n"
	    "  --network           ask for network access\n"
	    "  --sandbox NAME      namespace, docker or swarm\n"
	    "  --image IMAGE       the container image (docker, swarm)\n"
	    "  --constraint EXPR   a swarm placement constraint the server\n"
	    "                      allows (repeatable; swarm sandbox)\n"
	    "  --cancel-on-interrupt\n"
	    "                      on Ctrl-C while %s, cancel the job\n"
	    "                      (default: leave it running and print how "
	    "to reattach)\n"
	    "  --json              machine-readable output\n"
	    "  --profile P         use profile P\n"
	    "  --help              this help\n",
	    is_submit ? "waiting or following" : "running");
}

static int
opt_env(const char *cmd, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t) (eq - kv) : 0;

	if (n == 0)
		return cli_usage_err(cmd, "--env wants NAME=VALUE, not '%s'",
		    kv);
	if (n > JC_MAX_ENV_NAME)
		return cli_usage_err(cmd, "--env name longer than %d bytes",
		    JC_MAX_ENV_NAME);
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

static int
opt_input(const char *cmd, const char *spec)
{
	char local[JC_PATH_MAX], dest[WSPATH_MAX + 1], other[WSPATH_MAX + 1];

	if (cli_input_spec(spec, local, sizeof(local), dest, sizeof(dest)) < 0)
		return cli_usage_err(cmd,
		    "--input wants PATH[:DEST] with DEST "
		    "relative, without '.' or '..' parts, not '%s'",
		    spec);
	for (size_t i = 0; i < arg_n_inputs; i++) {
		(void) cli_input_spec(arg_inputs[i], local, sizeof(local),
		    other, sizeof(other));
		if (strcmp(other, dest) == 0)
			return cli_usage_err(cmd,
			    "two --input options put "
			    "inputs at '%s'",
			    dest);
	}
	if (arg_n_inputs >= CLI_INPUTS_MAX)
		return cli_usage_err(cmd, "more than %d --input options",
		    CLI_INPUTS_MAX);
	arg_inputs[arg_n_inputs++] = spec;
	return 0;
}

static int
opt_artifact(const char *cmd, const char *glob)
{
	if (!*glob || glob[0] == '/' || strlen(glob) > WSPATH_MAX)
		return cli_usage_err(cmd,
		    "--artifact wants a glob relative to "
		    "the workspace, not '%s'",
		    glob);
	if (arg_n_artifacts >= JC_MAX_ARTIFACT_GLOBS)
		return cli_usage_err(cmd, "more than %d --artifact options",
		    JC_MAX_ARTIFACT_GLOBS);
	arg_artifacts[arg_n_artifacts++] = glob;
	return 0;
}

static int
opt_file(const char *cmd, const char *spec, bool exec)
{
	char local[JC_PATH_MAX], path[JC_PATH_MAX], other[JC_PATH_MAX];

	if (cli_file_spec(spec, local, sizeof(local), path,
	    sizeof(path)) < 0)
		return cli_usage_err(cmd, "--file wants LOCAL[:PATH] with PATH "
		    "relative, without '.' or '..' parts, not '%s'", spec);
	for (size_t i = 0; i < arg_n_files; i++) {
		(void) cli_file_spec(arg_files[i], local, sizeof(local), other,
		    sizeof(other));
		if (strcmp(other, path) == 0)
			return cli_usage_err(cmd, "two --file options put "
			    "files at '%s'", path);
	}
	if (arg_n_files >= CLI_FILES_MAX)
		return cli_usage_err(cmd, "more than %d --file options",
		    CLI_FILES_MAX);
	arg_files_exec[arg_n_files] = exec;
	arg_files[arg_n_files++] = spec;
	return 0;
}

static int
opt_size_mb(const char *cmd, const char *opt, const char *s, int64_t *ret)
{
	if (cli_parse_size_mb(s, INT32_MAX, ret) < 0)
		return cli_usage_err(cmd, "%s wants a size in MiB (e.g. 512, "
		    "512M or 2G), not '%s'", opt, s);
	return 0;
}

static void
reset_submit_args(void)
{
	arg_command = arg_command_file = arg_name = arg_stdin_file = NULL;
	arg_sandbox = arg_image = arg_cwd = NULL;
	arg_stdin_script = arg_argv = arg_wait = arg_follow = false;
	arg_network = arg_cancel_on_interrupt = false;
	arg_timeout_s = arg_memory_mb = arg_cpus = arg_pids = -1;
	arg_disk_mb = -1;
	arg_n_env = arg_n_files = arg_n_inputs = arg_n_artifacts = 0;
	arg_n_constraints = 0;
	arg_artifacts_required = false;
	arg_runtime = arg_code_file = NULL;
	arg_exec = false;
}

/* exec's and --code-file's part of submit_check: -1 or an exit status. */
static int
code_check(const char *cmd, int argc, char **argv)
{
	if (arg_exec) {
		if (!arg_runtime)
			return cli_usage_err(cmd, "--runtime is required");
		if (optind >= argc)
			return cli_usage_err(cmd, "missing the source FILE");
		if (arg_code_file || arg_command || arg_command_file ||
		    arg_stdin_script || arg_argv)
			return cli_usage_err(cmd,
			    "give the source as FILE, "
			    "without --code-file, --command or --argv");
		arg_code_file = argv[optind++];
		if (argc - optind > JC_MAX_ARGV - 64)
			return cli_usage_err(cmd, "more than %d arguments",
			    JC_MAX_ARGV - 64);
		return -1;
	}
	if (!!arg_runtime != !!arg_code_file)
		return cli_usage_err(cmd,
		    "--runtime and --code-file go "
		    "together");
	return -1;
}

/* Checks the combination of options once all are read. */
static int
submit_check(const char *cmd, int argc, char **argv)
{
	int sources, r;

	if ((r = code_check(cmd, argc, argv)) >= 0)
		return r;
	sources = !!arg_command + !!arg_command_file + arg_stdin_script +
	    arg_argv + !!arg_code_file;
	if (sources != 1)
		return cli_usage_err(cmd,
		    "give exactly one of --command, "
		    "--command-file, --stdin, --argv, --code-file");
	if (arg_argv && optind >= argc)
		return cli_usage_err(cmd, "--argv needs the program after "
		    "'--'");
	if (!arg_argv && !arg_exec && optind < argc)
		return cli_usage_err(cmd, "unexpected argument '%s' (use "
		    "--argv -- ARG... to pass a program and its arguments)",
		    argv[optind]);
	if (arg_argv && argc - optind > JC_MAX_ARGV)
		return cli_usage_err(cmd, "more than %d arguments",
		    JC_MAX_ARGV);
	if (arg_stdin_script && arg_stdin_file &&
	    strcmp(arg_stdin_file, "-") == 0)
		return cli_usage_err(cmd, "--stdin and --stdin-file - both "
		    "want standard input");
	if (arg_wait && arg_follow)
		return cli_usage_err(cmd, "--wait and --follow do not mix");
	if (arg_cancel_on_interrupt && strcmp(cmd, "submit") == 0 &&
	    !arg_wait && !arg_follow)
		return cli_usage_err(cmd, "--cancel-on-interrupt needs --wait "
		    "or --follow");
	if (arg_sandbox && strcmp(arg_sandbox, "namespace") != 0 &&
	    strcmp(arg_sandbox, "docker") != 0 &&
	    strcmp(arg_sandbox, "swarm") != 0)
		return cli_usage_err(cmd,
		    "--sandbox is namespace, docker or "
		    "swarm, not '%s'",
		    arg_sandbox);
	if (arg_n_constraints > 0 &&
	    (!arg_sandbox || strcmp(arg_sandbox, "swarm") != 0))
		return cli_usage_err(cmd, "--constraint needs --sandbox swarm");
	if (arg_cwd && !wspath_valid(arg_cwd))
		return cli_usage_err(cmd, "--cwd wants a path relative to the "
		    "workspace, without '.' or '..' parts, not '%s'", arg_cwd);
	if (arg_image && !*arg_image)
		return cli_usage_err(cmd, "--image wants an image name");
	if (arg_artifacts_required && arg_n_artifacts == 0)
		return cli_usage_err(cmd,
		    "--artifacts-required needs "
		    "--artifact");
	return -1;
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
		{ "stdin-file", required_argument, NULL, OPT_STDIN_FILE },
		{ "input", required_argument, NULL, OPT_INPUT },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "file-exec", required_argument, NULL, OPT_FILE_EXEC },
		{ "artifact", required_argument, NULL, OPT_ARTIFACT },
		{ "artifacts-required", no_argument, NULL,
		    OPT_ARTIFACTS_REQUIRED },
		{ "cwd", required_argument, NULL, OPT_CWD },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "memory-mb", required_argument, NULL, OPT_MEMORY_MB },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "pids", required_argument, NULL, OPT_PIDS },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "disk-mb", required_argument, NULL, OPT_DISK_MB },
		{ "network", no_argument, NULL, OPT_NETWORK },
		{ "sandbox", required_argument, NULL, OPT_SANDBOX },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "constraint", required_argument, NULL, OPT_CONSTRAINT },
		{ "cancel-on-interrupt", no_argument, NULL, OPT_CANCEL_ON_INT },
		{ "runtime", required_argument, NULL, OPT_RUNTIME },
		{ "code-file", required_argument, NULL, OPT_CODE_FILE },
		{ NULL, 0, NULL, 0 },
	};
	bool is_submit = strcmp(cmd, "submit") == 0;
	int c, r = 0;

	/* "+": exec's operands end the options (its ARGS are the
	 * program's, dashes and all). */
	while ((c = getopt_long(argc, argv, arg_exec ? "+h" : "h", longopts,
		    NULL)) != -1) {
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
			r = cli_opt_i64(cmd, "--timeout", optarg, 1, INT32_MAX,
			    &arg_timeout_s);
			break;
		case OPT_ENV:
			r = opt_env(cmd, optarg);
			break;
		case OPT_NAME:
			arg_name = optarg;
			break;
		case OPT_STDIN_FILE:
			arg_stdin_file = optarg;
			break;
		case OPT_INPUT:
			/* --input FILE was the job's stdin until 0.3 (now
			 * --stdin-file); it is a workspace input since 0.4 */
			r = opt_input(cmd, optarg);
			break;
		case OPT_FILE:
		case OPT_FILE_EXEC:
			r = opt_file(cmd, optarg, c == OPT_FILE_EXEC);
			break;
		case OPT_ARTIFACT:
			r = opt_artifact(cmd, optarg);
			break;
		case OPT_ARTIFACTS_REQUIRED:
			arg_artifacts_required = true;
			break;
		case OPT_CWD:
			arg_cwd = optarg;
			break;
		case OPT_MEMORY:
			r = opt_size_mb(cmd, "--memory", optarg,
			    &arg_memory_mb);
			break;
		case OPT_MEMORY_MB:
			r = cli_opt_i64(cmd, "--memory-mb", optarg, 1,
			    INT32_MAX, &arg_memory_mb);
			break;
		case OPT_CPUS:
			r = cli_opt_i64(cmd, "--cpus", optarg, 1, 1024,
			    &arg_cpus);
			break;
		case OPT_PIDS:
			r = cli_opt_i64(cmd, "--pids", optarg, 1, INT32_MAX,
			    &arg_pids);
			break;
		case OPT_DISK:
			r = opt_size_mb(cmd, "--disk", optarg, &arg_disk_mb);
			break;
		case OPT_DISK_MB:
			r = cli_opt_i64(cmd, "--disk-mb", optarg, 1, INT32_MAX,
			    &arg_disk_mb);
			break;
		case OPT_NETWORK:
			arg_network = true;
			break;
		case OPT_SANDBOX:
			arg_sandbox = optarg;
			break;
		case OPT_IMAGE:
			arg_image = optarg;
			break;
		case OPT_CONSTRAINT:
			if (arg_n_constraints >= JC_MAX_CONSTRAINTS)
				return cli_usage_err(cmd,
				    "more than %d "
				    "--constraint",
				    JC_MAX_CONSTRAINTS);
			arg_constraints[arg_n_constraints++] = optarg;
			break;
		case OPT_CANCEL_ON_INT:
			arg_cancel_on_interrupt = true;
			break;
		case OPT_RUNTIME:
			arg_runtime = optarg;
			break;
		case OPT_CODE_FILE:
			if (arg_exec)
				return cli_usage_err(cmd,
				    "give the source as "
				    "FILE, not --code-file");
			arg_code_file = optarg;
			break;
		default:
			return cli_bad_option(cmd);
		}
		if (r != 0)
			return r;
	}
	return submit_check(cmd, argc, argv);
}

/* Reads a --command-file/--stdin/--input/--file file, with a clear
 * error. */
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

/* "files": {PATH: content}. UTF-8 text travels as a JSON string; other
 * bytes, or an executable file, as {"content": base64, "encoding":
 * "base64", "executable": bool} (DESIGN 4), never replaced by U+FFFD. */
static int
add_files(const char *cmd, struct jw *w)
{
	char local[JC_PATH_MAX], path[JC_PATH_MAX];
	int r;

	if (arg_n_files == 0)
		return 0;
	jw_key(w, "files");
	jw_obj_open(w);
	for (size_t i = 0; i < arg_n_files; i++) {
		_cleanup_free_ char *data = NULL;
		size_t len = 0;

		/* checked when the option was read */
		(void) cli_file_spec(arg_files[i], local, sizeof(local), path,
		    sizeof(path));
		bool exec = arg_files_exec[i];
		struct stat st;

		r = read_input(cmd, "file", local, JC_MAX_FILES_BYTES, &data,
		    &len);
		if (r < 0)
			return r;
		if (strcmp(local, "-") != 0 && stat(local, &st) == 0 &&
		    (st.st_mode & 0111))
			exec = true;
		jw_key(w, path);
		if (utf8_valid(data, len) && !exec) {
			jw_strn(w, data, len);
			continue;
		}
		jw_obj_open(w);
		if (utf8_valid(data, len)) {
			jw_key(w, "content");
			jw_strn(w, data, len);
			jw_kv_str(w, "encoding", "utf-8");
		} else {
			_cleanup_free_ char *b64 = NULL;

			if ((r = cli_base64(data, len, &b64)) < 0)
				return r;
			jw_kv_str(w, "content", b64);
			jw_kv_str(w, "encoding", "base64");
		}
		jw_kv_bool(w, "executable", exec);
		jw_obj_close(w);
	}
	jw_obj_close(w);
	return 0;
}

/* "inputs" and "artifacts", from what submit_or_run uploaded. */
static void
add_inputs_artifacts(struct jw *w)
{
	char local[JC_PATH_MAX], dest[WSPATH_MAX + 1];

	if (arg_n_inputs > 0) {
		jw_key(w, "inputs");
		jw_arr_open(w);
		for (size_t i = 0; i < arg_n_inputs; i++) {
			(void) cli_input_spec(arg_inputs[i], local,
			    sizeof(local), dest, sizeof(dest));
			jw_obj_open(w);
			jw_kv_str(w, "blob", inputs[i].digest);
			jw_kv_str(w, "path", dest);
			jw_kv_str(w, "format",
			    inputs[i].is_tar ? "tar" : "file");
			if (!inputs[i].is_tar)
				jw_kv_bool(w, "executable",
				    inputs[i].executable);
			jw_obj_close(w);
		}
		jw_arr_close(w);
	}
	if (arg_n_artifacts > 0) {
		jw_key(w, "artifacts");
		jw_arr_open(w);
		for (size_t i = 0; i < arg_n_artifacts; i++)
			jw_str(w, arg_artifacts[i]);
		jw_arr_close(w);
	}
	if (arg_artifacts_required)
		jw_kv_bool(w, "artifacts_required", true);
}

static void
add_env(struct jw *w)
{
	if (arg_n_env == 0)
		return;
	jw_key(w, "env");
	jw_obj_open(w);
	for (size_t i = 0; i < arg_n_env; i++) {
		const char *eq = strchr(arg_env[i], '=');
		char name[JC_MAX_ENV_NAME + 1];
		/* opt_env checked that '=' is there and the name fits */
		size_t n = (size_t) (eq - arg_env[i]);

		memcpy(name, arg_env[i], n);
		name[n] = '\0';
		jw_kv_str(w, name, eq + 1);
	}
	jw_obj_close(w);
}

/* "runtime", "code" (the file's text) and exec's "args". */
static int
add_code(const char *cmd, struct jw *w, char **args, int nargs)
{
	_cleanup_free_ char *code = NULL;
	size_t len = 0;

	if (read_input(cmd, "source file", arg_code_file, JC_MAX_CODE_BYTES,
		&code, &len) < 0)
		return -EINVAL;
	if (!utf8_valid(code, len) || memchr(code, '\0', len))
		return cli_err(cmd, "'%s' is not UTF-8 text without NUL bytes",
			   arg_code_file),
		       -EINVAL;
	jw_kv_str(w, "runtime", arg_runtime);
	jw_key(w, "code");
	jw_strn(w, code, len);
	if (arg_exec && nargs > 0) {
		jw_key(w, "args");
		jw_arr_open(w);
		for (int i = 0; i < nargs; i++)
			jw_str(w, args[i]);
		jw_arr_close(w);
	}
	return 0;
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
	/* exec passes our stdin through, unless it is a terminal. */
	if (arg_exec && !arg_stdin_file && !isatty(0))
		arg_stdin_file = "-";
	if (arg_stdin_file &&
	    read_input(cmd, "stdin-file", arg_stdin_file, JC_MAX_STDIN_BYTES, &input,
	    &input_len) < 0)
		return -EINVAL;
	if (script && memchr(script, '\0', script_len))
		return cli_err(cmd, "the script contains a NUL byte"), -EINVAL;

	jw_init(&w, body);
	jw_obj_open(&w);
	if (arg_code_file) {
		if ((r = add_code(cmd, &w, argv_rest, n_rest)) < 0)
			return r;
	} else if (arg_argv) {
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
	add_env(&w);
	if ((r = add_files(cmd, &w)) < 0)
		return r;
	add_inputs_artifacts(&w);
	if (arg_cwd)
		jw_kv_str(&w, "cwd", arg_cwd);
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
	if (arg_image)
		jw_kv_str(&w, "image", arg_image);
	if (arg_n_constraints > 0) {
		jw_key(&w, "constraints");
		jw_arr_open(&w);
		for (size_t i = 0; i < arg_n_constraints; i++)
			jw_str(&w, arg_constraints[i]);
		jw_arr_close(&w);
	}
	jw_obj_close(&w);
	if ((r = jw_finish(&w)) < 0) {
		cli_err(cmd, r == -E2BIG ? "the job request is larger than "
		    "%u bytes" : "cannot build the job request (%u)",
		    JC_MAX_BODY_BYTES);
		return r;
	}
	return 0;
}

/* POSTs the job; on success copies its id and leaves the reply in resp. */
static int
submit_job(struct http *h, const char *cmd, const struct strbuf *body,
    char *ret_id, size_t id_size, struct http_resp *resp)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	int r;

	r = http_request(h, "POST", "/v1/jobs", body, 0, CLI_RESP_MAX, resp);
	if (r < 0)
		return http_err(cmd, h, r), r;
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

/* After the job was accepted: follow it (run, submit --follow) and/or
 * wait for its end (submit --wait); the exit status. */
static int
after_submit(struct cli_global *g, struct http *h, const char *cmd,
    const char *id, struct http_resp *resp)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	enum job_status st;
	char status[32];
	int r, code = EXIT_FAIL;

	if ((r = cli_interrupt_catch()) < 0)
		return cli_err(cmd, "cannot catch Ctrl-C: %s", strerror(-r));
	if (strcmp(cmd, "run") == 0 || strcmp(cmd, "exec") == 0) {
		r = logs_follow(h, cmd, id, 0, g->json, &code);
		if (r == -EINTR)
			return job_interrupted(g, h, cmd, id,
			    arg_cancel_on_interrupt);
		return r < 0 ? EXIT_FAIL : code;
	}
	if (arg_follow) {
		int ignored;

		r = logs_follow(h, cmd, id, 0, false, &ignored);
		if (r == -EINTR)
			return job_interrupted(g, h, cmd, id,
			    arg_cancel_on_interrupt);
		if (r < 0)
			return EXIT_FAIL;
	}
	r = job_wait(h, cmd, id, resp, &doc);
	if (r == -EINTR)
		return job_interrupted(g, h, cmd, id, arg_cancel_on_interrupt);
	if (r < 0)
		return EXIT_FAIL;
	if (g->json)
		cli_print_body(resp);
	else
		job_print_status_line(stdout, doc, jr_root(doc));
	cli_json_str(doc, jr_root(doc), "status", status, sizeof(status), "");
	return job_status_from_string(status, &st) == 0 &&
	    st == JOB_SUCCEEDED ? EXIT_OK : EXIT_FAIL;
}

static int
submit_or_run(struct cli_global *g, const char *cmd, int argc, char **argv)
{
	_cleanup_strbuf_ struct strbuf body = { 0 };
	struct http_resp resp;
	struct http h;
	char id[CLI_ID_MAX + 1];
	int r, code = EXIT_FAIL;

	reset_submit_args();
	arg_exec = strcmp(cmd, "exec") == 0;
	if ((r = submit_opts(g, cmd, argc, argv)) >= 0)
		return r;
	strbuf_init(&body, JC_MAX_BODY_BYTES);
	if (http_open(g, cmd, NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_RESP_MAX);
	for (size_t i = 0; i < arg_n_inputs; i++) {
		char local[JC_PATH_MAX], dest[WSPATH_MAX + 1];

		(void) cli_input_spec(arg_inputs[i], local, sizeof(local), dest,
		    sizeof(dest));
		if (input_prepare(&h, cmd, local, NULL, &inputs[i]) < 0)
			goto out;
	}
	if (build_request(cmd, argv + optind, argc - optind, &body) < 0)
		goto out;
	if (submit_job(&h, cmd, &body, id, sizeof(id), &resp) < 0)
		goto out;
	if (strcmp(cmd, "submit") == 0 && !arg_wait && !arg_follow) {
		if (g->json)
			cli_print_body(&resp);
		else
			printf("%s\n", id);
		code = EXIT_OK;
		goto out;
	}
	code = after_submit(g, &h, cmd, id, &resp);
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

int
cmd_exec(struct cli_global *g, int argc, char **argv)
{
	return submit_or_run(g, "exec", argc, argv);
}
