/* job_request.c - parses and validates a job submission (DESIGN section 4,
 * "The job request"). Pure: bytes in, a job_request or an api_err out.
 * Trusts nothing: every field is type-, length-, UTF-8- and range-checked,
 * unknown and duplicate fields are refused, and nothing is stored here. */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "parse.h"
#include "utf8.h"
#include "wspath.h"
#include "banned.h"

static const char *const allowed_keys[] = {
	"name",
	"command",
	"argv",
	"code",
	"runtime",
	"stdin",
	"env",
	"files",
	"cwd",
	"timeout",
	"memory_mb",
	"cpus",
	"pids",
	"disk_mb",
	"network",
	"sandbox",
	"image",
	"artifacts",
	"constraints",
	NULL,
};

/* Names the cell sets itself; a job may not override them. */
static const char *const reserved_env[] = {
	"HOME", "USER", "LOGNAME", "PWD", "HOSTNAME", "SHELL", NULL,
};

void
api_limits_default(struct config_limits *lim)
{
	struct config c;

	config_defaults(&c);
	*lim = c.limits;
}

void
job_request_release(struct job_request *jr)
{
	if (jr->argv)
		for (size_t i = 0; i < jr->argc; i++)
			free(jr->argv[i]);
	free(jr->argv);
	for (size_t i = 0; i < jr->envc; i++) {
		free(jr->env[i].name);
		free(jr->env[i].value);
	}
	free(jr->env);
	for (size_t i = 0; i < jr->nfiles; i++) {
		free(jr->files[i].path);
		free(jr->files[i].data);
	}
	free(jr->files);
	free(jr->cwd);
	free(jr->name);
	free(jr->stdin_data);
	memset(jr, 0, sizeof(*jr));
}

/* A string field: type, UTF-8, NUL and byte length. */
static int
get_string(const struct jr_doc *doc, int tok, const char *field, size_t max,
    char **ret, size_t *ret_len, struct api_err *err)
{
	int r;

	if (jr_type(doc, tok) != JR_STRING)
		return api_err_set(err, 400, "invalid_request",
		    "field '%s' must be a string", field);
	r = jr_str_dup(doc, tok, max, ret, ret_len);
	if (r == -E2BIG)
		return api_err_set(err, 400, "invalid_request",
		    "field '%s' is longer than %zu bytes", field, max);
	if (r == -EILSEQ)
		return api_err_set(err, 400, "invalid_request",
		    "field '%s' must be valid UTF-8 without NUL bytes", field);
	if (r == -ENOMEM)
		return api_err_internal(err, r);
	if (r < 0)
		return api_err_set(err, 400, "invalid_json",
		    "field '%s' is not a valid JSON string", field);
	return 0;
}

static int
get_limit(const struct jr_doc *doc, int obj, const char *field, int64_t def,
    int64_t max, int64_t *ret, struct api_err *err)
{
	int tok = jr_obj_get(doc, obj, field);
	int64_t v;

	if (tok == -ENOENT) {
		*ret = def;
		return 0;
	}
	if (tok < 0 || jr_type(doc, tok) != JR_NUMBER || jr_i64(doc, tok, &v) < 0 ||
	    v < 1 || v > max)
		return api_err_set(err, 400, "invalid_request",
		    "field '%s' must be a whole number from 1 to %lld", field,
		    (long long) max);
	*ret = v;
	return 0;
}

static bool
env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int
parse_argv(const struct jr_doc *doc, int root, struct job_request *jr,
    struct api_err *err)
{
	int cmd = jr_obj_get(doc, root, "command");
	int argv = jr_obj_get(doc, root, "argv");
	int r;

	if (jr_obj_get(doc, root, "code") >= 0 ||
	    jr_obj_get(doc, root, "runtime") >= 0)
		return api_err_set(err, 400, "invalid_request",
		    "field '%s' is not supported: this server offers no runtimes",
		    jr_obj_get(doc, root, "code") >= 0 ? "code" : "runtime");
	if (cmd >= 0 && argv >= 0)
		return api_err_set(err, 400, "invalid_request",
		    "give exactly one of 'command' and 'argv', not both");
	if (cmd < 0 && argv < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'command' or 'argv' is required");
	if (cmd >= 0) {
		char *s = NULL;
		size_t len;

		if ((r = get_string(doc, cmd, "command", JC_MAX_COMMAND_BYTES, &s,
		    &len, err)) < 0)
			return r;
		if (len == 0) {
			free(s);
			return api_err_set(err, 400, "invalid_request",
			    "field 'command' must not be empty");
		}
		jr->argv = calloc(4, sizeof(char *));
		if (!jr->argv) {
			free(s);
			return api_err_internal(err, -ENOMEM);
		}
		jr->argv[0] = strdup("/bin/sh");
		jr->argv[1] = strdup("-c");
		jr->argv[2] = s;
		jr->argc = 3;
		if (!jr->argv[0] || !jr->argv[1])
			return api_err_internal(err, -ENOMEM);
		return 0;
	}
	if (jr_type(doc, argv) != JR_ARRAY || jr_len(doc, argv) < 1 ||
	    jr_len(doc, argv) > JC_MAX_ARGV)
		return api_err_set(err, 400, "invalid_request",
		    "field 'argv' must be an array of 1 to %d strings", JC_MAX_ARGV);
	jr->argv = calloc((size_t) jr_len(doc, argv) + 1, sizeof(char *));
	if (!jr->argv)
		return api_err_internal(err, -ENOMEM);
	for (int i = 0; i < jr_len(doc, argv); i++) {
		int el = jr_child(doc, argv, i);
		size_t len;

		if ((r = get_string(doc, el, "argv", JC_MAX_ARG_BYTES,
		    &jr->argv[i], &len, err)) < 0)
			return r;
		jr->argc++;
		if (i == 0 && len == 0)
			return api_err_set(err, 400, "invalid_request",
			    "field 'argv' must start with a non-empty program");
	}
	return 0;
}

static int
parse_env(const struct jr_doc *doc, int root, struct job_request *jr,
    struct api_err *err)
{
	int env = jr_obj_get(doc, root, "env");
	int r, n;

	if (env == -ENOENT)
		return 0;
	if (jr_type(doc, env) != JR_OBJECT)
		return api_err_set(err, 400, "invalid_request",
		    "field 'env' must be an object of strings");
	n = jr_len(doc, env);
	if (n > JC_MAX_ENV)
		return api_err_set(err, 400, "invalid_request",
		    "field 'env' has more than %d entries", JC_MAX_ENV);
	/* Names are free-form, so duplicates are found pairwise (n is bounded
	 * by JC_MAX_ENV). */
	jr->env = calloc((size_t) n + 1, sizeof(*jr->env));
	if (!jr->env)
		return api_err_internal(err, -ENOMEM);
	for (int i = 0; i < n; i++) {
		int k = jr_child(doc, env, i);
		struct job_env *e = &jr->env[i];
		size_t len;

		r = jr_str_dup(doc, k, JC_MAX_ENV_NAME, &e->name, &len);
		if (r < 0 || !env_name_ok(e->name)) {
			jr->envc = (size_t) i + (r >= 0);
			return api_err_set(err, 400, "invalid_request",
			    "field 'env' has a name that is not "
			    "[A-Za-z_][A-Za-z0-9_]* (at most %d bytes)",
			    JC_MAX_ENV_NAME);
		}
		jr->envc = (size_t) i + 1;
		for (size_t j = 0; reserved_env[j]; j++)
			if (strcmp(e->name, reserved_env[j]) == 0 ||
			    str_startswith(e->name, "JOBCELL_"))
				return api_err_set(err, 400, "invalid_request",
				    "field 'env' sets the reserved name '%s'",
				    e->name);
		for (int j = 0; j < i; j++)
			if (strcmp(jr->env[j].name, e->name) == 0)
				return api_err_set(err, 400, "invalid_request",
				    "field 'env' names '%s' twice", e->name);
		if ((r = get_string(doc, k + 1, "env", JC_MAX_ENV_VALUE,
		    &e->value, &len, err)) < 0)
			return r;
	}
	return 0;
}

/* 1 if image is one of the space- or comma-separated words of list. */
static bool
image_listed(const char *list, const char *image)
{
	size_t n = strlen(image);

	for (const char *p = list; *p;) {
		size_t w;

		p += strspn(p, " \t,");
		w = strcspn(p, " \t,");
		if (w == n && w > 0 && memcmp(p, image, n) == 0)
			return true;
		p += w;
	}
	return false;
}

/* The sandboxes that run images. */
static bool
image_sandbox(const char *sandbox)
{
	return strcmp(sandbox, "docker") == 0 || strcmp(sandbox, "swarm") == 0;
}

/* "sandbox" and "image". Whether a docker daemon answers now is the
 * caller's question (jobs.c: 503); here only what the request says. */
static int
parse_sandbox(const struct jr_doc *doc, int root,
    const struct config_limits *lim, struct job_request *jr,
    struct api_err *err)
{
	int tok = jr_obj_get(doc, root, "sandbox");
	int img = jr_obj_get(doc, root, "image");
	int r;

	(void) str_copy(jr->sandbox, sizeof(jr->sandbox), lim->sandbox);
	if (tok >= 0) {
		if (jr_type(doc, tok) != JR_STRING ||
		    (!jr_str_eq(doc, tok, "namespace") &&
			!jr_str_eq(doc, tok, "docker") &&
			!jr_str_eq(doc, tok, "swarm")))
			return api_err_set(err, 400, "invalid_request",
			    "field 'sandbox' must be \"namespace\", "
			    "\"docker\" or \"swarm\"");
		(void) jr_str(doc, tok, jr->sandbox, sizeof(jr->sandbox), NULL);
	}
	if (img < 0) {
		/* The configured default, if any; else the worker's. */
		if (image_sandbox(jr->sandbox))
			(void) str_copy(jr->image, sizeof(jr->image),
			    lim->docker_image);
		return 0;
	}
	if (!image_sandbox(jr->sandbox))
		return api_err_set(err, 400, "invalid_request",
		    "field 'image' is only for \"sandbox\": \"docker\" or "
		    "\"swarm\"");
	if (jr_type(doc, img) != JR_STRING)
		return api_err_set(err, 400, "invalid_request",
		    "field 'image' must be a string");
	r = jr_str(doc, img, jr->image, sizeof(jr->image), NULL);
	if (r < 0 || !image_ref_ok(jr->image))
		return api_err_set(err, 400, "invalid_request",
		    "field 'image' must be an image reference of 1 to %d "
		    "characters [A-Za-z0-9._/:@-]", JC_MAX_IMAGE_BYTES);
	if (lim->docker_images[0] && !image_listed(lim->docker_images,
	    jr->image))
		return api_err_set(err, 400, "invalid_request",
		    "field 'image': '%s' is not one of the images this server "
		    "allows", jr->image);
	return 0;
}

/* 1 if c is one of the comma-separated entries of list (each trimmed). */
static bool
constraint_listed(const char *list, const char *c)
{
	size_t n = strlen(c);

	for (const char *p = list; *p;) {
		size_t w;

		p += strspn(p, " \t,");
		w = strcspn(p, ",");
		while (w > 0 && (p[w - 1] == ' ' || p[w - 1] == '\t'))
			w--;
		if (w == n && w > 0 && memcmp(p, c, n) == 0)
			return true;
		p += w;
		p += strcspn(p, ",");
	}
	return false;
}

/* "constraints": swarm only, each one the operator allows. */
static int
parse_constraints(const struct jr_doc *doc, int root,
    const struct config_limits *lim, struct job_request *jr,
    struct api_err *err)
{
	int tok = jr_obj_get(doc, root, "constraints"), n;

	if (tok < 0)
		return 0;
	if (strcmp(jr->sandbox, "swarm") != 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'constraints' is only for \"sandbox\": \"swarm\"");
	if (jr_type(doc, tok) != JR_ARRAY ||
	    (n = jr_len(doc, tok)) > JC_MAX_CONSTRAINTS)
		return api_err_set(err, 400, "invalid_request",
		    "field 'constraints' must be an array of at most %d "
		    "strings",
		    JC_MAX_CONSTRAINTS);
	for (int i = 0; i < n; i++) {
		int k = jr_child(doc, tok, i);
		char *c = jr->constraints[i];

		if (jr_type(doc, k) != JR_STRING ||
		    jr_str(doc, k, c, sizeof(jr->constraints[i]), NULL) < 0 ||
		    !c[0])
			return api_err_set(err, 400, "invalid_request",
			    "field 'constraints' must hold strings of 1 to %d "
			    "bytes",
			    JC_MAX_CONSTRAINT_BYTES);
		if (!constraint_listed(lim->swarm_constraints, c))
			return api_err_set(err, 400, "invalid_request",
			    "field 'constraints': '%s' is not one this server "
			    "allows",
			    c);
		jr->nconstraints++;
	}
	return 0;
}

/* What a swarm job cannot carry yet (no shared filesystem reaches its
 * node): refused, naming the field, rather than silently dropped. */
static int
swarm_refusals(const struct jr_doc *doc, int root, const struct job_request *jr,
    struct api_err *err)
{
	static const char *const unsupported[] = { "stdin", "files", "inputs",
		"cwd", "artifacts", NULL };

	if (strcmp(jr->sandbox, "swarm") != 0)
		return 0;
	for (size_t i = 0; unsupported[i]; i++)
		if (jr_obj_get(doc, root, unsupported[i]) >= 0)
			return api_err_set(err, 400, "invalid_request",
			    "field '%s' is not supported by \"sandbox\": "
			    "\"swarm\" yet",
			    unsupported[i]);
	if (jr->network)
		return api_err_set(err, 400, "invalid_request",
		    "field 'network' is not supported by \"sandbox\": "
		    "\"swarm\" yet");
	return 0;
}

/* True if dir names a directory above path ("a/b" above "a/b/c"). */
static bool
path_above(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	return strncmp(dir, path, n) == 0 && path[n] == '/';
}

static int
parse_files(const struct jr_doc *doc, int root, struct job_request *jr,
    struct api_err *err)
{
	int files = jr_obj_get(doc, root, "files");
	size_t total = 0;
	int r, n;

	if (files == -ENOENT)
		return 0;
	if (jr_type(doc, files) != JR_OBJECT)
		return api_err_set(err, 400, "invalid_request",
		    "field 'files' must be an object of path: content strings");
	n = jr_len(doc, files);
	if (n > JC_MAX_FILES)
		return api_err_set(err, 400, "invalid_request",
		    "field 'files' has more than %d entries", JC_MAX_FILES);
	if (!(jr->files = calloc((size_t) n + 1, sizeof(*jr->files))))
		return api_err_internal(err, -ENOMEM);
	for (int i = 0; i < n; i++) {
		int k = jr_child(doc, files, i);
		struct job_file *f = &jr->files[i];
		size_t len;

		r = jr_str_dup(doc, k, WSPATH_MAX, &f->path, &len);
		jr->nfiles = (size_t) i + (r >= 0);
		if (r == -ENOMEM)
			return api_err_internal(err, r);
		if (r < 0 || wspath_check_len(f->path, len) < 0)
			return api_err_set(err, 400, "invalid_request",
			    "field 'files' has a path that is not relative to "
			    "the workspace (absolute, empty part, '.' or '..', "
			    "a control byte, or longer than %u bytes)",
			    WSPATH_MAX);
		for (int j = 0; j < i; j++) {
			if (strcmp(jr->files[j].path, f->path) == 0)
				return api_err_set(err, 400, "invalid_request",
				    "field 'files' names a path twice");
			if (path_above(jr->files[j].path, f->path) ||
			    path_above(f->path, jr->files[j].path))
				return api_err_set(err, 400, "invalid_request",
				    "field 'files' uses a path both as a file "
				    "and as a directory");
		}
		if ((r = get_string(doc, k + 1, "files", JC_MAX_FILES_BYTES,
		    &f->data, &f->len, err)) < 0)
			return r;
		total += f->len;
		if (total > JC_MAX_FILES_BYTES)
			return api_err_set(err, 400, "invalid_request",
			    "field 'files' holds more than %u bytes",
			    JC_MAX_FILES_BYTES);
	}
	return 0;
}

static int
parse_cwd(const struct jr_doc *doc, int root, struct job_request *jr,
    struct api_err *err)
{
	int tok = jr_obj_get(doc, root, "cwd");
	size_t len;
	int r;

	if (tok == -ENOENT)
		return 0;
	if ((r = get_string(doc, tok, "cwd", WSPATH_MAX, &jr->cwd, &len,
	    err)) < 0)
		return r;
	if (wspath_check_len(jr->cwd, len) < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'cwd' must be a relative path inside the workspace");
	/* The workspace starts empty but for "files": the directory must be
	 * one of theirs, or the job could not start there. */
	for (size_t i = 0; i < jr->nfiles; i++)
		if (path_above(jr->cwd, jr->files[i].path))
			return 0;
	return api_err_set(err, 400, "invalid_request",
	    "field 'cwd' must name a directory that 'files' creates");
}

int
job_request_parse(const char *body, size_t len, const struct config_limits *lim,
    struct job_request *ret, struct api_err *err)
{
	struct jr_doc *doc = NULL;
	struct job_request jr = { 0 };
	char bad[80];
	int root, tok, r;

	r = jr_parse(body, len, JC_MAX_JSON_TOKENS, &doc);
	if (r == -ENOMEM)
		return api_err_internal(err, r);
	if (r == -E2BIG)
		return api_err_set(err, 400, "invalid_json",
		    "the body is nested too deeply or has too many values");
	if (r < 0)
		return api_err_set(err, 400, "invalid_json",
		    "the body is not valid JSON");
	root = jr_root(doc);
	if (jr_type(doc, root) != JR_OBJECT) {
		r = api_err_set(err, 400, "invalid_request",
		    "the body must be a JSON object");
		goto fail;
	}
	r = jr_obj_check_keys(doc, root, allowed_keys, bad, sizeof(bad));
	if (r == -EEXIST) {
		r = api_err_set(err, 400, "invalid_request",
		    "field '%s' appears more than once", bad);
		goto fail;
	} else if (r < 0) {
		r = api_err_set(err, 400, "invalid_request",
		    "unknown field '%s'", bad);
		goto fail;
	}
	if ((r = parse_argv(doc, root, &jr, err)) < 0)
		goto fail;
	if ((tok = jr_obj_get(doc, root, "name")) >= 0) {
		size_t nlen;

		if ((r = get_string(doc, tok, "name", JC_MAX_NAME_CHARS * 4,
		    &jr.name, &nlen, err)) < 0)
			goto fail;
		size_t chars = 0;
		for (size_t i = 0; i < nlen; i++)
			if (((unsigned char) jr.name[i] & 0xc0) != 0x80)
				chars++;
		if (chars > JC_MAX_NAME_CHARS) {
			r = api_err_set(err, 400, "invalid_request",
			    "field 'name' is longer than %d characters",
			    JC_MAX_NAME_CHARS);
			goto fail;
		}
	}
	if ((tok = jr_obj_get(doc, root, "stdin")) >= 0 &&
	    (r = get_string(doc, tok, "stdin", JC_MAX_STDIN_BYTES,
	    &jr.stdin_data, &jr.stdin_len, err)) < 0)
		goto fail;
	if ((r = parse_env(doc, root, &jr, err)) < 0)
		goto fail;
	if ((r = parse_files(doc, root, &jr, err)) < 0 ||
	    (r = parse_cwd(doc, root, &jr, err)) < 0)
		goto fail;
	if ((r = get_limit(doc, root, "timeout", lim->timeout_default_s,
	    lim->timeout_max_s, &jr.timeout_s, err)) < 0 ||
	    (r = get_limit(doc, root, "memory_mb", lim->memory_default_mb,
	    lim->memory_max_mb, &jr.memory_mb, err)) < 0 ||
	    (r = get_limit(doc, root, "cpus", lim->cpus_default, lim->cpus_max,
	    &jr.cpus, err)) < 0 ||
	    (r = get_limit(doc, root, "pids", lim->pids_default, lim->pids_max,
	    &jr.pids, err)) < 0 ||
	    (r = get_limit(doc, root, "disk_mb", lim->disk_default_mb,
	    lim->disk_max_mb, &jr.disk_mb, err)) < 0)
		goto fail;
	if ((tok = jr_obj_get(doc, root, "network")) >= 0) {
		if (jr_bool(doc, tok, &jr.network) < 0) {
			r = api_err_set(err, 400, "invalid_request",
			    "field 'network' must be true or false");
			goto fail;
		}
		if (jr.network && !lim->network_allowed) {
			r = api_err_set(err, 400, "invalid_request",
			    "field 'network': this server does not allow "
			    "network access for jobs");
			goto fail;
		}
	}
	if ((r = parse_sandbox(doc, root, lim, &jr, err)) < 0 ||
	    (r = swarm_refusals(doc, root, &jr, err)) < 0 ||
	    (r = parse_constraints(doc, root, lim, &jr, err)) < 0)
		goto fail;
	static const char *const later[] = { "artifacts", NULL };
	for (size_t i = 0; later[i]; i++)
		if (jr_obj_get(doc, root, later[i]) >= 0) {
			r = api_err_set(err, 400, "invalid_request",
			    "field '%s' is not supported by this server yet",
			    later[i]);
			goto fail;
		}
	doc = jr_free(doc);
	*ret = jr;
	return 0;
fail:
	job_request_release(&jr);
	doc = jr_free(doc);
	return r;
}

int
job_request_spec_json(const struct job_request *jr, struct strbuf *out)
{
	struct jw w;

	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "argv");
	jw_arr_open(&w);
	for (size_t i = 0; i < jr->argc; i++)
		jw_str(&w, jr->argv[i]);
	jw_arr_close(&w);
	jw_key(&w, "env");
	jw_obj_open(&w);
	for (size_t i = 0; i < jr->envc; i++)
		jw_kv_str(&w, jr->env[i].name, jr->env[i].value);
	jw_obj_close(&w);
	if (jr->nfiles > 0) {
		jw_key(&w, "files");
		jw_obj_open(&w);
		for (size_t i = 0; i < jr->nfiles; i++)
			jw_kv_str(&w, jr->files[i].path, jr->files[i].data);
		jw_obj_close(&w);
	}
	if (jr->cwd)
		jw_kv_str(&w, "cwd", jr->cwd);
	if (jr->network)
		jw_kv_bool(&w, "network", true);
	if (jr->image[0])
		jw_kv_str(&w, "image", jr->image);
	if (jr->nconstraints > 0) {
		jw_key(&w, "constraints");
		jw_arr_open(&w);
		for (size_t i = 0; i < jr->nconstraints; i++)
			jw_str(&w, jr->constraints[i]);
		jw_arr_close(&w);
	}
	jw_obj_close(&w);
	return jw_finish(&w);
}
