/* jobcell.c - the client's entry point: global options and the
 * subcommand table (the helpers the commands share live in util.c).
 * Runs as the invoking user; trusts nothing the server sends. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
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
	{ "exec", cmd_exec,
	    "run a source file with a runtime, exit with its "
	    "code" },
	{ "runtimes", cmd_runtimes, "list the runtimes code can run with" },
	{ "status", cmd_status, "show a job" },
	{ "logs", cmd_logs, "print a job's output so far" },
	{ "tail", cmd_tail, "follow a job's output until it ends" },
	{ "list", cmd_list, "list your jobs, newest first" },
	{ "cancel", cmd_cancel, "cancel a queued or running job" },
	{ "artifacts", cmd_artifacts, "list a job's artifacts" },
	{ "download", cmd_download, "download a job's artifacts" },
	{ "images", cmd_images, "build, list and remove your docker images" },
	{ "make", cmd_make, "run make remotely on this project" },
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
