/* cmd_images.c - `jobcell images build|list|rm` (issue 14): a directory
 * packed (pack.c) and uploaded as a blob (blob.c), POST /v1/images, and the
 * build followed like `submit --follow`; GET /v1/images; DELETE
 * /v1/images/NAME:TAG. Trusts nothing the server sends: fields are read
 * with fallbacks and printed through cli_put_safe. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json_writer.h"
#include "banned.h"

static void
images_usage(FILE *f)
{
	fprintf(f,
	    "Usage: jobcell images build [OPTIONS] NAME:TAG DIR\n"
	    "       jobcell images list [--json]\n"
	    "       jobcell images rm NAME:TAG\n\n"
	    "Your own docker images, built on the server from DIR (a "
	    "Dockerfile and\nits context, packed as for inputs: "
	    ".jobcellignore is read) and usable\nas 'submit --image "
	    "NAME:TAG' by you only. A FROM names one of your images\nor "
	    "a base the server allows. build follows the build's output "
	    "and exits\n0 if it succeeded, 1 if not.\n"
	    "  --dockerfile PATH   the Dockerfile's path in DIR (default "
	    "Dockerfile)\n"
	    "  --memory-mb N, --cpus N, --timeout S   the build's limits\n"
	    "  --network           let RUN steps reach the network (if "
	    "the server allows)\n"
	    "  --no-follow         print the build's job and return\n"
	    "  --json              the API's JSON\n"
	    "  --profile P         use profile P\n"
	    "  --help              this help\n");
}

enum {
	OPT_DOCKERFILE = 1000,
	OPT_MEMORY,
	OPT_CPUS,
	OPT_TIMEOUT,
	OPT_NETWORK,
	OPT_NO_FOLLOW,
};

static int
images_build(struct cli_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "dockerfile", required_argument, NULL, OPT_DOCKERFILE },
		{ "memory-mb", required_argument, NULL, OPT_MEMORY },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "network", no_argument, NULL, OPT_NETWORK },
		{ "no-follow", no_argument, NULL, OPT_NO_FOLLOW },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "images build", *dockerfile = NULL;
	int64_t mem = 0, cpus = 0, timeout = 0;
	bool network = false, follow = true;
	_cleanup_strbuf_ struct strbuf body;
	_cleanup_jr_ struct jr_doc *doc = NULL;
	struct cli_input in;
	struct http_resp resp;
	struct http h;
	struct jw w;
	char id[CLI_ID_MAX + 1], status[32];
	int c, r, code = EXIT_FAIL;

	strbuf_init(&body, 64 * 1024);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		switch (c) {
		case 'h':
			images_usage(stdout);
			return EXIT_OK;
		case OPT_DOCKERFILE:
			dockerfile = optarg;
			break;
		case OPT_MEMORY:
			if (cli_opt_i64(what, "--memory-mb", optarg, 1, 1 << 30,
				&mem) < 0)
				return EXIT_USAGE;
			break;
		case OPT_CPUS:
			if (cli_opt_i64(what, "--cpus", optarg, 1, 1024,
				&cpus) < 0)
				return EXIT_USAGE;
			break;
		case OPT_TIMEOUT:
			if (cli_opt_i64(what, "--timeout", optarg, 1, 1 << 30,
				&timeout) < 0)
				return EXIT_USAGE;
			break;
		case OPT_NETWORK:
			network = true;
			break;
		case OPT_NO_FOLLOW:
			follow = false;
			break;
		default:
			return cli_bad_option(what);
		}
	}
	if (argc - optind != 2)
		return cli_usage_err(what, "needs NAME:TAG and DIR");
	if (http_open(g, what, NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_RESP_MAX);
	if (input_prepare(&h, what, argv[optind + 1], NULL, &in) < 0)
		goto out;
	if (!in.is_tar) {
		cli_err(what, "'%s' is not a directory", argv[optind + 1]);
		goto out;
	}
	jw_init(&w, &body);
	jw_obj_open(&w);
	jw_kv_str(&w, "name", argv[optind]);
	jw_kv_str(&w, "context", in.digest);
	if (dockerfile)
		jw_kv_str(&w, "dockerfile", dockerfile);
	if (mem)
		jw_kv_i64(&w, "memory_mb", mem);
	if (cpus)
		jw_kv_i64(&w, "cpus", cpus);
	if (timeout)
		jw_kv_i64(&w, "timeout", timeout);
	if (network)
		jw_kv_bool(&w, "network", true);
	jw_obj_close(&w);
	if (jw_finish(&w) < 0) {
		cli_err(what, "the request is too large");
		goto out;
	}
	if ((r = http_request(&h, "POST", "/v1/images", &body, 0, CLI_RESP_MAX,
		 &resp)) < 0) {
		http_err(what, &h, r);
		goto out;
	}
	if (resp.status != 201 && resp.status != 200) {
		http_report(what, &resp);
		goto out;
	}
	if (http_json(what, &resp, &doc) < 0)
		goto out;
	cli_json_str(doc, jr_root(doc), "id", id, sizeof(id), "");
	if (!cli_id_valid(id)) {
		cli_err(what, "the server's reply has no job id");
		goto out;
	}
	if (!follow) {
		if (g->json)
			cli_print_body(&resp);
		else
			printf("%s\n", id);
		code = EXIT_OK;
		goto out;
	}
	doc = jr_free(doc);
	if ((r = cli_interrupt_catch()) < 0) {
		cli_err(what, "cannot catch Ctrl-C: %s", strerror(-r));
		goto out;
	}
	{
		int ignored;

		r = logs_follow(&h, what, id, 0, false, &ignored);
	}
	if (r == -EINTR) {
		code = job_interrupted(g, &h, what, id, false);
		goto out;
	}
	if (r < 0 || (r = job_wait(&h, what, id, &resp, &doc)) < 0) {
		if (r == -EINTR)
			code = job_interrupted(g, &h, what, id, false);
		goto out;
	}
	if (g->json)
		cli_print_body(&resp);
	else
		job_print_status_line(stderr, doc, jr_root(doc));
	cli_json_str(doc, jr_root(doc), "status", status, sizeof(status), "");
	code = strcmp(status, "succeeded") == 0 ? EXIT_OK : EXIT_FAIL;
out:
	http_resp_release(&resp);
	http_release(&h);
	return code;
}

static int
images_list(struct cli_global *g)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	struct http_resp resp;
	struct http h;
	int list, code = EXIT_FAIL;

	if (http_open(g, "images list", NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_RESP_MAX);
	if (cli_get_json(&h, "images list", "/v1/images", 0, &resp, &doc) < 0)
		goto out;
	if (g->json) {
		cli_print_body(&resp);
		code = EXIT_OK;
		goto out;
	}
	list = jr_obj_get(doc, jr_root(doc), "images");
	if (list < 0 || jr_type(doc, list) != JR_ARRAY) {
		cli_err("images list",
		    "the server's reply has no 'images' list");
		goto out;
	}
	printf("%-24s  %-12s  %-19s  %10s  %s\n", "NAME", "TAG", "ID", "SIZE",
	    "LAST USED");
	for (int i = 0; i < jr_len(doc, list); i++) {
		int im = jr_child(doc, list, i);
		char name[80], tag[140], iid[80], used[40], size[32];
		int64_t bytes = 0;

		cli_json_str(doc, im, "name", name, sizeof(name), "?");
		cli_json_str(doc, im, "tag", tag, sizeof(tag), "?");
		cli_json_str(doc, im, "id", iid, sizeof(iid), "?");
		cli_json_str(doc, im, "last_used_at", used, sizeof(used), "?");
		(void) cli_json_i64(doc, im, "size", &bytes);
		cli_human_size((uint64_t) (bytes > 0 ? bytes : 0), size,
		    sizeof(size));
		cli_put_safe(stdout, name);
		printf("%*s  ",
		    strlen(name) < 24 ? (int) (24 - strlen(name)) : 0, "");
		cli_put_safe(stdout, tag);
		printf("%*s  %-19.19s  %10s  ",
		    strlen(tag) < 12 ? (int) (12 - strlen(tag)) : 0, "",
		    strncmp(iid, "sha256:", 7) == 0 ? iid + 7 : iid, size);
		cli_put_safe(stdout, used);
		fputc('\n', stdout);
	}
	code = EXIT_OK;
out:
	http_resp_release(&resp);
	http_release(&h);
	return code;
}

static int
images_rm(struct cli_global *g, const char *ref)
{
	struct http_resp resp;
	struct http h;
	char path[512];
	int r, code = EXIT_FAIL;

	/* NAME:TAG is [a-z0-9._-]:[A-Za-z0-9_.-]: nothing to escape; the
	 * server refuses anything else. */
	if (strspn(ref,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789._-:") != strlen(ref) ||
	    !ref[0] ||
	    (size_t) snprintf(path, sizeof(path), "/v1/images/%s", ref) >=
		sizeof(path))
		return cli_usage_err("images rm", "'%s' is not NAME:TAG", ref);
	if (http_open(g, "images rm", NEED_SERVER | NEED_KEY, &h) < 0)
		return EXIT_FAIL;
	http_resp_init(&resp, CLI_RESP_MAX);
	if ((r = http_request(&h, "DELETE", path, NULL, 0, CLI_RESP_MAX,
		 &resp)) < 0)
		http_err("images rm", &h, r);
	else if (resp.status != 204)
		http_report("images rm", &resp);
	else
		code = EXIT_OK;
	http_resp_release(&resp);
	http_release(&h);
	return code;
}

int
cmd_images(struct cli_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *sub;
	int c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		images_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "build") == 0)
		return images_build(g, argc - 1, argv + 1);
	if (strcmp(sub, "list") != 0 && strcmp(sub, "ls") != 0 &&
	    strcmp(sub, "rm") != 0)
		return cli_usage_err("images", "unknown subcommand '%s'", sub);
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(g, c, optarg))
			continue;
		if (c == 'h') {
			images_usage(stdout);
			return EXIT_OK;
		}
		return cli_bad_option("images");
	}
	if (strcmp(sub, "rm") == 0) {
		if (argc - optind != 1)
			return cli_usage_err("images rm", "needs NAME:TAG");
		return images_rm(g, argv[optind]);
	}
	if (optind < argc)
		return cli_usage_err("images", "unexpected argument '%s'",
		    argv[optind]);
	return images_list(g);
}
