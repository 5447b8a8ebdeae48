/* jobcell.c - the client's entry point: global options, the subcommand
 * table, and the small output and file helpers every command shares.
 * Runs as the invoking user; trusts nothing the server sends. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "banned.h"

static const struct command commands[] = {
	{ "init", cmd_init, "save a server and key as a profile" },
	{ "use", cmd_use, "make a profile the active one" },
	{ "profiles", cmd_profiles, "list the saved profiles" },
	{ "config", cmd_config, "show the effective settings" },
	{ "ping", cmd_ping, "check the server and the key" },
	{ "me", cmd_me, "show the caller's limits and usage" },
	{ "submit", cmd_submit, "submit a job" },
	{ "run", cmd_run, "submit, follow the output, exit with its code" },
	{ "status", cmd_status, "show a job" },
	{ "logs", cmd_logs, "print a job's output so far" },
	{ "tail", cmd_tail, "follow a job's output until it ends" },
	{ "list", cmd_list, "list your jobs, newest first" },
	{ "cancel", cmd_cancel, "cancel a queued or running job" },
};

static void
usage(FILE *f)
{
	fprintf(f, "Usage: jobcell [--profile P] COMMAND [OPTIONS]\n"
	    "       jobcell COMMAND --help\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(f, "\nGlobal options:\n"
	    "  --profile P   use profile P (also JOBCELL_PROFILE)\n"
	    "  --version     print the version and exit\n"
	    "  --help        print this help and exit\n\n"
	    "Environment: JOBCELL_SERVER, JOBCELL_KEY, JOBCELL_CACERT and\n"
	    "JOBCELL_PROFILE override the config file "
	    "($XDG_CONFIG_HOME/jobcell/config).\n"
	    "Exit status: 0 success, 1 failure, 2 usage error "
	    "(`run`: the job's exit code).\n");
}

int
cli_err(const char *what, const char *fmt, ...)
{
	va_list ap;

	(void) fflush(stdout);
	fprintf(stderr, "jobcell: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int
cli_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jobcell %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'jobcell %s --help'.\n", cmd);
	return EXIT_USAGE;
}

int
cli_bad_option(const char *cmd)
{
	/* getopt_long has already named the option on stderr. */
	fprintf(stderr, "Try 'jobcell %s --help'.\n", cmd);
	return EXIT_USAGE;
}

void
cli_put_safe(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p == '\\')
			fputs("\\\\", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

int
cli_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_strbuf_ struct strbuf sb = { 0 };
	char chunk[16384];
	int r;

	strbuf_init(&sb, max);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		if ((r = strbuf_add(&sb, chunk, (size_t) n)) < 0)
			return r;
	}
	if (ret_len)
		*ret_len = sb.len;
	*ret = strbuf_detach(&sb, NULL);
	return *ret ? 0 : -ENOMEM;
}

int
cli_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (strcmp(path, "-") == 0)
		return cli_read_fd(STDIN_FILENO, max, ret, ret_len);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return cli_read_fd(fd, max, ret, ret_len);
}

void
cli_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool
cli_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CLI_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char) s[i]) && s[i] != '_' &&
		    s[i] != '-')
			return false;
	return true;
}

int
cli_common_opt(struct cli_global *g, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_PROFILE:
		g->profile = arg;
		return 1;
	case CLI_OPT_JSON:
		g->json = true;
		return 1;
	default:
		return 0;
	}
}

void
cli_json_str(const struct jr_doc *doc, int obj, const char *key, char *buf,
    size_t size, const char *dflt)
{
	int t = jr_obj_get(doc, obj, key);

	if (t >= 0 && jr_type(doc, t) == JR_STRING &&
	    jr_str(doc, t, buf, size, NULL) == 0)
		return;
	(void) str_copy(buf, size, dflt);	/* defaults are short */
}

int
cli_json_i64(const struct jr_doc *doc, int obj, const char *key,
    int64_t *ret)
{
	int t = jr_obj_get(doc, obj, key);

	if (t < 0)
		return -ENOENT;
	if (jr_type(doc, t) == JR_NULL)
		return -ENOENT;
	return jr_i64(doc, t, ret);
}

bool
cli_json_bool(const struct jr_doc *doc, int obj, const char *key)
{
	int t = jr_obj_get(doc, obj, key);
	bool b = false;

	if (t < 0 || jr_bool(doc, t, &b) < 0)
		return false;
	return b;
}

/* One scalar as text: strings unquoted, null as "-", anything else as the
 * number/bool it is. Arrays of strings are joined with ", ". */
static void
put_scalar(FILE *f, const struct jr_doc *doc, int t)
{
	char buf[1024];
	int64_t v;
	bool b;

	switch (jr_type(doc, t)) {
	case JR_STRING:
		if (jr_str(doc, t, buf, sizeof(buf), NULL) == 0)
			cli_put_safe(f, buf);
		else
			fputs("(unprintable)", f);
		break;
	case JR_NUMBER:
		if (jr_i64(doc, t, &v) == 0)
			fprintf(f, "%" PRId64, v);
		else
			fputs("(number)", f);
		break;
	case JR_BOOL:
		fputs(jr_bool(doc, t, &b) == 0 && b ? "true" : "false", f);
		break;
	case JR_NULL:
		fputc('-', f);
		break;
	case JR_ARRAY:
		for (int i = 0; i < jr_len(doc, t); i++) {
			int e = jr_child(doc, t, i);

			if (e < 0)
				break;
			if (i > 0)
				fputs(", ", f);
			if (jr_type(doc, e) == JR_OBJECT ||
			    jr_type(doc, e) == JR_ARRAY)
				fputs("{...}", f);
			else
				put_scalar(f, doc, e);
		}
		break;
	case JR_OBJECT:
		fputs("{...}", f);
		break;
	}
}

/* Width of the widest "prefix.key" under obj (one level of nesting). */
static size_t
kv_width(const struct jr_doc *doc, int obj, size_t prefix)
{
	char key[128];
	size_t w = 0;

	for (int i = 0; i < jr_len(doc, obj); i++) {
		int k = jr_child(doc, obj, i);
		size_t len = 0;

		if (k < 0 || jr_str(doc, k, key, sizeof(key), &len) < 0)
			continue;
		if (prefix == 0 && jr_type(doc, k + 1) == JR_OBJECT) {
			size_t inner = kv_width(doc, k + 1, len + 1);

			if (inner > w)
				w = inner;
		} else if (prefix + len > w) {
			w = prefix + len;
		}
	}
	return w;
}

static void
kv_lines(FILE *f, const struct jr_doc *doc, int obj, const char *prefix,
    size_t width)
{
	char key[128], full[300];

	for (int i = 0; i < jr_len(doc, obj); i++) {
		int k = jr_child(doc, obj, i);
		int n;

		if (k < 0 || jr_str(doc, k, key, sizeof(key), NULL) < 0)
			continue;
		n = snprintf(full, sizeof(full), "%s%s%s", prefix,
		    *prefix ? "." : "", key);
		if (n < 0 || (size_t) n >= sizeof(full))
			continue;
		if (!*prefix && jr_type(doc, k + 1) == JR_OBJECT) {
			kv_lines(f, doc, k + 1, full, width);
			continue;
		}
		cli_put_safe(f, full);
		fputc(':', f);
		for (size_t pad = (size_t) n; pad < width + 1; pad++)
			fputc(' ', f);
		put_scalar(f, doc, k + 1);
		fputc('\n', f);
	}
}

void
cli_print_kv(FILE *f, const struct jr_doc *doc, int obj)
{
	if (jr_type(doc, obj) != JR_OBJECT)
		return;
	kv_lines(f, doc, obj, "", kv_width(doc, obj, 0));
}

static const struct command *
command_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "profile", required_argument, NULL, CLI_OPT_PROFILE },
		{ "json", no_argument, NULL, CLI_OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_global g = { 0 };
	const struct command *cmd;
	char name[64];
	int c, r;

	/* '+': stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (cli_common_opt(&g, c, optarg))
			continue;
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("jobcell %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'jobcell --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return EXIT_OK;
		}
		cmd = command_find(argv[optind + 1]);
		if (!cmd) {
			fprintf(stderr, "jobcell: unknown command '%s'\n",
			    argv[optind + 1]);
			return EXIT_USAGE;
		}
		{
			char help[] = "--help";
			char *hargv[] = { argv[optind + 1], help, NULL };

			optind = 0;
			return cmd->fn(&g, 2, hargv);
		}
	}
	cmd = command_find(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "jobcell: unknown command '");
		cli_put_safe(stderr, argv[optind]);
		fprintf(stderr, "'\nTry 'jobcell --help'.\n");
		return EXIT_USAGE;
	}
	/* getopt prefixes its own messages with argv[0]. */
	r = snprintf(name, sizeof(name), "jobcell %s", cmd->name);
	if (r < 0 || (size_t) r >= sizeof(name))
		return EXIT_FAIL;
	argv[optind] = name;
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: 0 re-initialises getopt for a new vector */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "jobcell: cannot initialise libcurl\n");
		return EXIT_FAIL;
	}
	r = cmd->fn(&g, argc, argv);
	curl_global_cleanup();
	if (fflush(stdout) != 0 && r == EXIT_OK) {
		fprintf(stderr, "jobcell: cannot write standard output: %s\n",
		    strerror(errno));
		r = EXIT_FAIL;
	}
	return r;
}
