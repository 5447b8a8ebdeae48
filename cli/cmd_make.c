/* cmd_make.c - `jobcell make [ARGS...]`: make, run remotely. Finds the
 * project's root (project.c), packs and uploads the tree (blob.c), runs
 * `make ARGS` in the workspace directory that matches the current one,
 * follows its output, brings the artifacts named in .jobcell back into
 * the tree at their paths (never outside it: cmd_artifacts.c), and exits
 * with make's status. Runs in the client; the server's paths are checked
 * as for `jobcell download`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "io.h"
#include "json_writer.h"
#include "banned.h"

static void
make_usage(FILE *f)
{
	fprintf(f,
	    "Usage: jobcell make [MAKE ARGS...]\n"
	    "       jobcell make -- --help     (make's own help)\n\n"
	    "Runs make remotely on this project: finds the project's root "
	    "(the nearest\ndirectory upward with a .jobcell file, else the "
	    "git top level), sends the tree\n(without .git and what "
	    ".jobcellignore or .jobcell's exclude lists), runs\n"
	    "`make ARGS` in the directory matching the current one, prints "
	    "its output as\nit runs, writes the artifacts .jobcell names back "
	    "into the tree, and exits\nwith make's exit status (128+N if it "
	    "was killed by signal N, 124 timed out,\n125 the cell could not "
	    "be built).\n\n"
	    ".jobcell (INI, key = value): image, sandbox, artifacts "
	    "(space-separated globs\nrelative to the root), timeout "
	    "(seconds), memory and disk (512M, 8G), exclude\n(more ignore "
	    "globs).\n");
}

/* Loads root/.jobcell into *text and c. */
static int
conf_load(const char *root, char **text, struct project_conf *c)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	char err[512];
	size_t len = 0;
	int r;

	if ((dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (fd = openat(dfd, PROJECT_FILE,
		 O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return cli_err("make", "cannot read '%s/%s': %s", root,
			   PROJECT_FILE, strerror(errno)),
		       -errno;
	if ((r = read_all(fd, PROJECT_FILE_MAX, text, &len)) < 0)
		return cli_err("make", "cannot read '%s/%s': %s", root,
			   PROJECT_FILE,
			   r == -E2BIG ? "too large" : strerror(-r)),
		       r;
	if (memchr(*text, '\0', len))
		return cli_err("make", "%s/%s: a NUL byte", root, PROJECT_FILE),
		       -EINVAL;
	if (project_conf_parse(*text, c, err, sizeof(err)) < 0)
		return cli_err("make", "%s/%s: %s", root, PROJECT_FILE, err),
		       -EINVAL;
	return 0;
}

/* The job: the tree unpacked at the workspace's top (an input without a
 * "path"), so workspace paths are the project's paths. */
static int
make_request(struct jw *w, const char *rel, const struct project_conf *c,
    const struct cli_input *in, int argc, char **argv)
{
	char buf[WSPATH_MAX + 1];
	int n;

	jw_obj_open(w);
	jw_key(w, "argv");
	jw_arr_open(w);
	jw_str(w, "make");
	for (int i = 0; i < argc; i++)
		jw_str(w, argv[i]);
	jw_arr_close(w);
	jw_kv_str(w, "name", "jobcell make");
	jw_key(w, "inputs");
	jw_arr_open(w);
	jw_obj_open(w);
	jw_kv_str(w, "blob", in->digest);
	jw_kv_str(w, "format", "tar");
	jw_obj_close(w);
	jw_arr_close(w);
	if (*rel)
		jw_kv_str(w, "cwd", rel);
	if (c->n_artifacts > 0) {
		jw_key(w, "artifacts");
		jw_arr_open(w);
		for (size_t i = 0; i < c->n_artifacts; i++) {
			const char *g = c->artifacts[i];

			while (g[0] == '.' && g[1] == '/')
				g += 2;
			n = snprintf(buf, sizeof(buf), "%s",
			    g[0] == '/' ? g + 1 : g);
			if (n < 0 || (size_t) n >= sizeof(buf))
				return -ENAMETOOLONG;
			jw_str(w, buf);
		}
		jw_arr_close(w);
	}
	if (c->timeout_s > 0)
		jw_kv_i64(w, "timeout", c->timeout_s);
	if (c->memory_mb > 0)
		jw_kv_i64(w, "memory_mb", c->memory_mb);
	if (c->disk_mb > 0)
		jw_kv_i64(w, "disk_mb", c->disk_mb);
	if (c->sandbox)
		jw_kv_str(w, "sandbox", c->sandbox);
	if (c->image)
		jw_kv_str(w, "image", c->image);
	jw_obj_close(w);
	return jw_finish(w);
}

/* Runs the job the request in body describes; the exit status. */
static int
make_run(struct cli_global *g, struct http *h, const struct strbuf *body,
    int rootfd, const char *root, bool want_artifacts)
{
	_cleanup_jr_ struct jr_doc *doc = NULL;
	struct http_resp resp;
	char id[CLI_ID_MAX + 1];
	int r, code = EXIT_FAIL, dl;

	http_resp_init(&resp, CLI_RESP_MAX);
	r = http_request(h, "POST", "/v1/jobs", body, 0, CLI_RESP_MAX, &resp);
	if (r < 0) {
		http_err("make", h, r);
		goto out;
	}
	if (resp.status != 201 && resp.status != 200) {
		http_report("make", &resp);
		goto out;
	}
	if (http_json("make", &resp, &doc) < 0)
		goto out;
	cli_json_str(doc, jr_root(doc), "id", id, sizeof(id), "");
	doc = jr_free(doc);
	if (!cli_id_valid(id)) {
		cli_err("make", "the server's reply has no valid job id");
		goto out;
	}
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "jobcell: make: job %s\n", id);
	if ((r = cli_interrupt_catch()) < 0) {
		cli_err("make", "cannot catch Ctrl-C: %s", strerror(-r));
		goto out;
	}
	r = logs_follow(h, "make", id, 0, false, &code);
	if (r == -EINTR) {
		code = job_interrupted(g, h, "make", id, false);
		goto out;
	}
	if (r < 0) {
		code = EXIT_FAIL;
		goto out;
	}
	if (!want_artifacts)
		goto out;
	/* the listing is complete once the job's status is final */
	r = job_wait(h, "make", id, &resp, &doc);
	if (r == -EINTR) {
		code = job_interrupted(g, h, "make", id, false);
		goto out;
	}
	if (r < 0) {
		code = code ? code : EXIT_FAIL;
		goto out;
	}
	dl = artifacts_download(h, "make", id, rootfd, root, NULL, 0, NULL);
	if (cli_interrupted())
		code = EXIT_INTERRUPTED;
	else if (dl != EXIT_OK && code == EXIT_OK)
		code = dl;
out:
	http_resp_release(&resp);
	return code;
}

int
cmd_make(struct cli_global *g, int argc, char **argv)
{
	_cleanup_free_ char *conf_text = NULL;
	_cleanup_strbuf_ struct strbuf body = { 0 };
	_cleanup_close_ int rootfd = -1;
	struct project_conf conf = { .timeout_s = -1,
		.memory_mb = -1,
		.disk_mb = -1 };
	struct ignore extra = { 0 };
	struct cli_input in;
	struct http h;
	struct jw w;
	char cwd[JC_PATH_MAX], root[JC_PATH_MAX], rel[JC_PATH_MAX];
	bool marker;
	int r, code = EXIT_FAIL;

	/* every argument is make's, but for our own --help (and a leading
	 * "--" that lets make's --help through) */
	argc--;
	argv++;
	if (argc > 0 && strcmp(argv[0], "--help") == 0) {
		make_usage(stdout);
		return EXIT_OK;
	}
	if (argc > 0 && strcmp(argv[0], "--") == 0) {
		argc--;
		argv++;
	}
	if (argc > JC_MAX_ARGV - 1)
		return cli_usage_err("make", "more than %d arguments",
		    JC_MAX_ARGV - 1);
	if (!getcwd(cwd, sizeof(cwd)))
		return cli_err("make", "cannot find the current directory: %s",
		    strerror(errno));
	r = project_find(cwd, root, sizeof(root), &marker);
	if (r == -ENOENT)
		return cli_err("make",
		    "no %s file in '%s' or above, and not "
		    "in a git work tree: create one at the project's root",
		    PROJECT_FILE, cwd);
	if (r < 0)
		return cli_err("make", "cannot find the project's root: %s",
		    strerror(-r));
	if (project_rel(root, cwd, rel, sizeof(rel)) < 0 ||
	    (*rel && !wspath_valid(rel)))
		return cli_err("make",
		    "'%s' is not a directory the workspace "
		    "can name under '%s'",
		    cwd, root);
	if (marker && conf_load(root, &conf_text, &conf) < 0)
		return EXIT_FAIL;
	for (size_t i = 0; i < conf.n_exclude; i++)
		if ((r = ignore_add(&extra, conf.exclude[i],
			 strlen(conf.exclude[i]))) < 0) {
			cli_err("make", "%s/%s: bad exclude pattern '%s'", root,
			    PROJECT_FILE, conf.exclude[i]);
			goto out;
		}
	if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		cli_err("make", "cannot open '%s': %s", root, strerror(errno));
		goto out;
	}
	if (http_open(g, "make", NEED_SERVER | NEED_KEY, &h) < 0)
		goto out;
	if (input_prepare(&h, "make", root, &extra, &in) < 0)
		goto out_http;
	strbuf_init(&body, JC_MAX_BODY_BYTES);
	jw_init(&w, &body);
	if (make_request(&w, rel, &conf, &in, argc, argv) < 0) {
		cli_err("make", "the job request is too large");
		goto out_http;
	}
	code = make_run(g, &h, &body, rootfd, root, conf.n_artifacts > 0);
out_http:
	http_release(&h);
out:
	ignore_release(&extra);
	return code;
}
