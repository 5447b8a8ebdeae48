/* cmd_runtimes.c - `jobcell runtimes`: the runtimes the server can run
 * code with now (GET /v1/runtimes, issue 14), as a table or the API's
 * JSON. Trusts nothing the server sends: each field is read with a
 * fallback and printed through cli_put_safe. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static void
runtimes_usage(FILE *f)
{
	fprintf(f,
	    "Usage: jobcell runtimes [--json]\n\n"
	    "Lists the runtimes the server can run code with now: name, "
	    "version,\nwhether it compiles, and its aliases. A name or "
	    "alias (or NAME@VERSION) is\nwhat 'jobcell exec' and 'jobcell "
	    "submit' take as the runtime.\n"
	    "  --json        the API's JSON\n"
	    "  --profile P   use profile P\n"
	    "  --help        this help\n");
}

int
cmd_runtimes(struct cli_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_jr_ struct jr_doc *doc = NULL;
	struct http_resp resp;
	struct http h;
	int c, list, code = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		if (c == 'h') {
			runtimes_usage(stdout);
			return EXIT_OK;
		}
		return cli_bad_option("runtimes");
	}
	if (optind < argc)
		return cli_usage_err("runtimes", "unexpected argument '%s'",
		    argv[optind]);
	if (http_open(g, "runtimes", NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_RESP_MAX);
	if (cli_get_json(&h, "runtimes", "/v1/runtimes", 0, &resp, &doc) < 0)
		goto out;
	if (g->json) {
		cli_print_body(&resp);
		code = EXIT_OK;
		goto out;
	}
	list = jr_obj_get(doc, jr_root(doc), "runtimes");
	if (list < 0 || jr_type(doc, list) != JR_ARRAY) {
		cli_err("runtimes",
		    "the server's reply has no 'runtimes' list");
		goto out;
	}
	printf("%-12s  %-12s  %-8s  %s\n", "NAME", "VERSION", "COMPILED",
	    "ALIASES");
	for (int i = 0; i < jr_len(doc, list); i++) {
		int rt = jr_child(doc, list, i), al;
		char name[64], version[64], alias[64];

		cli_json_str(doc, rt, "name", name, sizeof(name), "?");
		cli_json_str(doc, rt, "version", version, sizeof(version), "?");
		cli_put_safe(stdout, name);
		printf("%*s  ",
		    strlen(name) < 12 ? (int) (12 - strlen(name)) : 0, "");
		cli_put_safe(stdout, version);
		printf("%*s  %-8s  ",
		    strlen(version) < 12 ? (int) (12 - strlen(version)) : 0, "",
		    cli_json_bool(doc, rt, "compiled") ? "yes" : "no");
		al = jr_obj_get(doc, rt, "aliases");
		for (int k = 0; al >= 0 && jr_type(doc, al) == JR_ARRAY &&
		     k < jr_len(doc, al);
		     k++) {
			int a = jr_child(doc, al, k);

			if (jr_type(doc, a) != JR_STRING ||
			    jr_str(doc, a, alias, sizeof(alias), NULL) < 0)
				continue;
			if (k > 0)
				fputc(' ', stdout);
			cli_put_safe(stdout, alias);
		}
		fputc('\n', stdout);
	}
	code = EXIT_OK;
out:
	http_resp_release(&resp);
	http_release(&h);
	return code;
}
