/* exec_args.c - the stored job spec ({"argv":[...],"env":{...},"files":
 * {...},"cwd":...,"network":...,"image":...}, validated by the API) turned
 * into what a cell runs: argv, the whole environment (our defaults, then
 * the job's), the files, the cwd, and the stdin as a memfd. Runs in a
 * jobcell-worker process; trusts the stored spec only as far as the API
 * checked it (lengths and types are checked again here). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base64.h"
#include "cleanup.h"
#include "io.h"
#include "json_reader.h"
#include "parse.h"
#include "strbuf.h"
#include "worker.h"
#include "banned.h"

void
exec_args_release(struct exec_args *a)
{
	for (size_t i = 0; a->argv && i < a->argc; i++)
		free(a->argv[i]);
	for (size_t i = 0; a->envp && i < a->envc; i++)
		free(a->envp[i]);
	for (size_t i = 0; a->files && i < a->nfiles; i++) {
		free((char *) (uintptr_t) a->files[i].path);
		free((char *) (uintptr_t) a->files[i].data);
	}
	for (size_t i = 0; a->compile_argv && i < a->compile_argc; i++)
		free(a->compile_argv[i]);
	free(a->compile_argv);
	free(a->argv);
	free(a->envp);
	free(a->files);
	for (size_t i = 0; a->inputs && i < a->ninputs; i++)
		free(a->inputs[i].path);
	free(a->inputs);
	free(a->cwd);
	free(a->image);
	for (size_t i = 0; a->constraints && i < a->nconstraints; i++)
		free(a->constraints[i]);
	free(a->constraints);
	memset(a, 0, sizeof(*a));
}

static int
env_add(struct exec_args *a, const char *name, const char *value)
{
	struct strbuf sb;
	int r;

	strbuf_init(&sb, JC_MAX_ENV_NAME + JC_MAX_ENV_VALUE + 2);
	if ((r = strbuf_addf(&sb, "%s=%s", name, value)) < 0) {
		strbuf_release(&sb);
		return r;
	}
	/* Replace an earlier entry of the same name (the job's PATH wins). */
	for (size_t i = 0; i < a->envc; i++) {
		size_t n = strlen(name);

		if (strncmp(a->envp[i], name, n) == 0 && a->envp[i][n] == '=') {
			free(a->envp[i]);
			a->envp[i] = strbuf_detach(&sb, NULL);
			return a->envp[i] ? 0 : -ENOMEM;
		}
	}
	a->envp[a->envc] = strbuf_detach(&sb, NULL);
	if (!a->envp[a->envc])
		return -ENOMEM;
	a->envc++;
	return 0;
}

/* The optional parts of the spec: "files", "cwd", "network" (the API
 * validated them; the cell checks paths again). */
static int
exec_args_files(const struct jr_doc *doc, struct exec_args *a)
{
	int files = jr_obj_get(doc, jr_root(doc), "files");
	int cwd = jr_obj_get(doc, jr_root(doc), "cwd");
	int net = jr_obj_get(doc, jr_root(doc), "network");
	int n, r;

	int cons = jr_obj_get(doc, jr_root(doc), "constraints");

	if (net >= 0 && jr_bool(doc, net, &a->network) < 0)
		return -EINVAL;
	if (cons >= 0) { /* swarm placement, checked by the API */
		int nc = jr_len(doc, cons);

		if (jr_type(doc, cons) != JR_ARRAY || nc > JC_MAX_CONSTRAINTS)
			return -EINVAL;
		if (!(a->constraints = calloc((size_t) nc + 1,
			  sizeof(*a->constraints))))
			return -ENOMEM;
		for (int i = 0; i < nc; i++) {
			if ((r = jr_str_dup(doc, jr_child(doc, cons, i),
				 JC_MAX_CONSTRAINT_BYTES, &a->constraints[i],
				 NULL)) < 0)
				return r;
			a->nconstraints++;
		}
	}
	if (cwd >= 0 && (r = jr_str_dup(doc, cwd, JC_MAX_FILE_PATH, &a->cwd,
	    NULL)) < 0)
		return r;
	if (files < 0)
		return 0;
	if (jr_type(doc, files) != JR_OBJECT ||
	    (n = jr_len(doc, files)) > JC_MAX_FILES)
		return -EINVAL;
	if (!(a->files = calloc((size_t) n + 1, sizeof(*a->files))))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int k = jr_child(doc, files, i);
		char *path = NULL, *data = NULL;
		bool exec = false;
		size_t len;

		if ((r = jr_str_dup(doc, k, JC_MAX_FILE_PATH, &path, NULL)) < 0)
			return r;
		if (jr_type(doc, k + 1) == JR_OBJECT) {
			/* {"base64": ..., "executable": bool} (job_request.c) */
			int b = jr_obj_get(doc, k + 1, "base64");
			int x = jr_obj_get(doc, k + 1, "executable");
			_cleanup_free_ char *b64 = NULL;
			size_t blen;

			r = b < 0 ?
			    -EINVAL :
			    jr_str_dup(doc, b, JC_MAX_FILES_BYTES / 3 * 4 + 4,
				&b64, &blen);
			if (r == 0)
				r = base64_decode(b64, blen, JC_MAX_FILES_BYTES,
				    &data, &len);
			if (r == 0 && x >= 0)
				r = jr_bool(doc, x, &exec);
		} else
			r = jr_str_dup(doc, k + 1, JC_MAX_FILES_BYTES, &data,
			    &len);
		if (r < 0) {
			free(path);
			free(data);
			return r;
		}
		a->files[a->nfiles++] = (struct cell_file){
			.path = path,
			.data = data,
			.len = len,
			.executable = exec,
		};
	}
	return 0;
}

/* "inputs": [{"digest", "path", "format", "executable"}] (the API
 * checked them and the blobs' owner; the unpacker checks paths again). */
static int
exec_args_inputs(const struct jr_doc *doc, struct exec_args *a)
{
	int arr = jr_obj_get(doc, jr_root(doc), "inputs");
	int n, r;

	if (arr < 0)
		return 0;
	if (jr_type(doc, arr) != JR_ARRAY ||
	    (n = jr_len(doc, arr)) > JC_MAX_INPUTS)
		return -EINVAL;
	if (!(a->inputs = calloc((size_t) n + 1, sizeof(*a->inputs))))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int o = jr_child(doc, arr, i);
		struct exec_input *in = &a->inputs[i];
		int d = jr_obj_get(doc, o, "digest");
		int p = jr_obj_get(doc, o, "path");
		int f = jr_obj_get(doc, o, "format");
		int x = jr_obj_get(doc, o, "executable");
		size_t len = 0;

		if (d < 0 || p < 0 || f < 0 ||
		    jr_str(doc, d, in->digest, sizeof(in->digest), &len) < 0 ||
		    len != 64 || strspn(in->digest, "0123456789abcdef") != 64)
			return -EINVAL;
		a->ninputs++;
		if ((r = jr_str_dup(doc, p, JC_MAX_FILE_PATH, &in->path,
			 NULL)) < 0)
			return r;
		in->tar = jr_str_eq(doc, f, "tar");
		if (x >= 0 && jr_bool(doc, x, &in->executable) < 0)
			return -EINVAL;
	}
	return 0;
}

/* A code job's "compile":{"argv":[...],"timeout_ms":N,"memory_mb":N}
 * (fcgi/runtimes.c wrote it), if any. */
static int
exec_args_compile(const struct jr_doc *doc, struct exec_args *a)
{
	int c = jr_obj_get(doc, jr_root(doc), "compile");
	int av, t, m, n, r;

	if (c < 0)
		return 0;
	if (jr_type(doc, c) != JR_OBJECT ||
	    (av = jr_obj_get(doc, c, "argv")) < 0 ||
	    (t = jr_obj_get(doc, c, "timeout_ms")) < 0 ||
	    (m = jr_obj_get(doc, c, "memory_mb")) < 0 ||
	    jr_type(doc, av) != JR_ARRAY || (n = jr_len(doc, av)) < 1 ||
	    n > JC_MAX_ARGV || jr_i64(doc, t, &a->compile_timeout_ms) < 0 ||
	    jr_i64(doc, m, &a->compile_memory_mb) < 0 ||
	    a->compile_timeout_ms < 1 || a->compile_memory_mb < 1)
		return -EINVAL;
	if (!(a->compile_argv = calloc((size_t) n + 1, sizeof(char *))))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if ((r = jr_str_dup(doc, jr_child(doc, av, i), JC_MAX_ARG_BYTES,
			 &a->compile_argv[i], NULL)) < 0)
			return r;
		a->compile_argc++;
	}
	return 0;
}

int
exec_args_build(const struct claimed_job *j, bool image,
    struct exec_args *ret)
{
	static const char *const defaults[][2] = {
		{ "PATH", "/usr/local/bin:/usr/bin:/bin" },
		{ "HOME", "/work" }, { "USER", "job" }, { "LOGNAME", "job" },
		{ "PWD", "/work" }, { "HOSTNAME", "cell" },
		{ "LANG", "C.UTF-8" }, { "JOBCELL_JOB_ID", NULL },
	};
	struct exec_args a = { 0 };
	struct jr_doc *doc = NULL;
	int argv_tok, env_tok, n, r;

	if ((r = jr_parse(j->spec, j->spec_len, JC_MAX_JSON_TOKENS, &doc)) < 0)
		return r;
	argv_tok = jr_obj_get(doc, jr_root(doc), "argv");
	env_tok = jr_obj_get(doc, jr_root(doc), "env");
	if (image && (n = jr_obj_get(doc, jr_root(doc), "image")) >= 0 &&
	    ((r = jr_str_dup(doc, n, JC_MAX_IMAGE_BYTES, &a.image, NULL)) < 0 ||
	    !image_ref_ok(a.image))) {
		r = r < 0 ? r : -EINVAL;
		goto fail;
	}
	if (argv_tok < 0 || env_tok < 0 || jr_type(doc, argv_tok) != JR_ARRAY ||
	    jr_type(doc, env_tok) != JR_OBJECT || jr_len(doc, argv_tok) < 1) {
		r = -EINVAL;
		goto fail;
	}
	n = jr_len(doc, argv_tok);
	a.argv = calloc((size_t) n + 1, sizeof(char *));
	a.envp = calloc(ARRAY_SIZE(defaults) + (size_t) jr_len(doc, env_tok) + 1,
	    sizeof(char *));
	if (!a.argv || !a.envp) {
		r = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		if ((r = jr_str_dup(doc, jr_child(doc, argv_tok, i),
		    JC_MAX_ARG_BYTES, &a.argv[i], NULL)) < 0)
			goto fail;
		a.argc++;
	}
	if ((r = exec_args_files(doc, &a)) < 0 ||
	    (r = exec_args_inputs(doc, &a)) < 0 ||
	    (r = exec_args_compile(doc, &a)) < 0)
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		/* An image's own PATH (a toolchain's) stays. */
		if (!(image && i == 0) && (r = env_add(&a, defaults[i][0],
		    defaults[i][1] ? defaults[i][1] : j->id)) < 0)
			goto fail;
	if (a.cwd) {
		_cleanup_free_ char *pwd = NULL;

		if (asprintf(&pwd, "/work/%s", a.cwd) < 0) {
			r = -ENOMEM;
			goto fail;
		}
		if ((r = env_add(&a, "PWD", pwd)) < 0)
			goto fail;
	}
	for (int i = 0; i < jr_len(doc, env_tok); i++) {
		_cleanup_free_ char *name = NULL, *value = NULL;
		int k = jr_child(doc, env_tok, i);

		if ((r = jr_str_dup(doc, k, JC_MAX_ENV_NAME, &name, NULL)) < 0 ||
		    (r = jr_str_dup(doc, k + 1, JC_MAX_ENV_VALUE, &value,
		    NULL)) < 0 || (r = env_add(&a, name, value)) < 0)
			goto fail;
	}
	doc = jr_free(doc);
	*ret = a;
	return 0;
fail:
	doc = jr_free(doc);
	exec_args_release(&a);
	return r;
}

int
exec_args_stdin(const struct claimed_job *j, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (j->stdin_len == 0)
		return 0;
	if ((fd = memfd_create("jobcell-stdin", MFD_CLOEXEC)) < 0)
		return -errno;
	if ((r = write_full(fd, j->stdin_data, j->stdin_len)) < 0)
		return r;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	*ret_fd = steal_fd(&fd);
	return 1;
}

