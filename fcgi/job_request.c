/* job_request.c - parses and validates a job submission (DESIGN section 4,
 * "The job request"). Pure: bytes in, a job_request or an api_err out.
 * Trusts nothing: every field is type-, length-, UTF-8- and range-checked,
 * unknown and duplicate fields are refused, and nothing is stored here. */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "base64.h"
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
	"artifacts_required",
	"inputs",
	"args",
	"compile_timeout",
	"compile_memory_mb",
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
	for (size_t i = 0; i < jr->nartifacts; i++)
		free(jr->artifacts[i]);
	free(jr->artifacts);
	for (size_t i = 0; i < jr->ninputs; i++)
		free(jr->inputs[i].path);
	free(jr->inputs);
	free(jr->cwd);
	free(jr->name);
	free(jr->stdin_data);
	job_request_release_code(jr);
	memset(jr, 0, sizeof(*jr));
}

/* A string field: type, UTF-8, NUL and byte length. */
int
job_request_get_string(const struct jr_doc *doc, int tok, const char *field,
    size_t max, char **ret, size_t *ret_len, struct api_err *err)
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

/* The fields of a code job (issue 14): "runtime" names the runtime,
 * "args" its program's arguments, "compile_*" its compile step's limits.
 * What the runtime makes of them is job_request_apply_runtime's. */
static const char *const code_only[] = {
	"runtime",
	"args",
	"compile_timeout",
	"compile_memory_mb",
	NULL,
};

void
job_request_release_code(struct job_request *jr)
{
	for (size_t i = 0; jr->args && i < jr->nargs; i++)
		free(jr->args[i]);
	free(jr->args);
	for (size_t i = 0; jr->compile_argv && i < jr->compile_argc; i++)
		free(jr->compile_argv[i]);
	free(jr->compile_argv);
	free(jr->code);
	jr->args = jr->compile_argv = NULL;
	jr->code = NULL;
	jr->nargs = jr->compile_argc = 0;
}

static int
get_positive(const struct jr_doc *doc, int obj, const char *field, int64_t max,
    int64_t *ret, struct api_err *err)
{
	int tok = jr_obj_get(doc, obj, field);
	int64_t v;

	if (tok == -ENOENT)
		return 0;
	if (tok < 0 || jr_type(doc, tok) != JR_NUMBER ||
	    jr_i64(doc, tok, &v) < 0 || v < 1 || v > max)
		return api_err_set(err, 400, "invalid_request",
		    "field '%s' must be a whole number from 1 to %lld", field,
		    (long long) max);
	*ret = v;
	return 0;
}

int
job_request_parse_code(const struct jr_doc *doc, int root,
    struct job_request *jr, struct api_err *err)
{
	int rt = jr_obj_get(doc, root, "runtime");
	int code = jr_obj_get(doc, root, "code");
	int args = jr_obj_get(doc, root, "args");
	size_t len;
	int r;

	if (rt < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'runtime' is required with 'code' (see GET "
		    "/v1/runtimes)");
	if (jr_type(doc, rt) != JR_STRING ||
	    jr_str(doc, rt, jr->runtime, sizeof(jr->runtime), &len) < 0 ||
	    len == 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'runtime' must be a runtime name, alias or "
		    "name@version of 1 to %zu bytes",
		    sizeof(jr->runtime) - 1);
	if ((r = job_request_get_string(doc, code, "code", JC_MAX_CODE_BYTES,
		 &jr->code, &jr->code_len, err)) < 0)
		return r;
	if (args >= 0) {
		if (jr_type(doc, args) != JR_ARRAY ||
		    jr_len(doc, args) > JC_MAX_ARGV - 64)
			return api_err_set(err, 400, "invalid_request",
			    "field 'args' must be an array of at most %d "
			    "strings",
			    JC_MAX_ARGV - 64);
		jr->args = calloc((size_t) jr_len(doc, args) + 1,
		    sizeof(char *));
		if (!jr->args)
			return api_err_internal(err, -ENOMEM);
		for (int i = 0; i < jr_len(doc, args); i++) {
			if ((r = job_request_get_string(doc,
				 jr_child(doc, args, i), "args",
				 JC_MAX_ARG_BYTES, &jr->args[i], &len, err)) <
			    0)
				return r;
			jr->nargs++;
		}
	}
	if ((r = get_positive(doc, root, "compile_timeout", 3600,
		 &jr->compile_timeout_s, err)) < 0 ||
	    (r = get_positive(doc, root, "compile_memory_mb", 1048576,
		 &jr->compile_memory_mb, err)) < 0)
		return r;
	return 0;
}

/* A JSON array of strings (a runtimes row) with each "{file}" word made
 * path, and extra words appended: a NULL-terminated calloc'd argv. */
static int
argv_from_json(const char *json, const char *path, char *const *extra,
    size_t nextra, char ***ret, size_t *ret_n)
{
	struct jr_doc *doc = NULL;
	char **v = NULL;
	size_t n = 0;
	int root, r;

	if ((r = jr_parse(json, strlen(json), JC_MAX_ARGV * 2, &doc)) < 0)
		return r;
	root = jr_root(doc);
	r = -EINVAL;
	if (jr_type(doc, root) != JR_ARRAY || jr_len(doc, root) < 1)
		goto out;
	r = -ENOMEM;
	if (!(v = calloc((size_t) jr_len(doc, root) + nextra + 1, sizeof(*v))))
		goto out;
	for (int i = 0; i < jr_len(doc, root); i++) {
		int el = jr_child(doc, root, i);

		if (jr_str_eq(doc, el, "{file}")) {
			if (!(v[n] = strdup(path)))
				goto out;
		} else if ((r = jr_str_dup(doc, el, JC_MAX_ARG_BYTES, &v[n],
				NULL)) < 0)
			goto out;
		n++;
		r = -ENOMEM;
	}
	for (size_t i = 0; i < nextra; i++)
		if (!(v[n++] = strdup(extra[i])))
			goto out;
	*ret = v;
	*ret_n = n;
	v = NULL;
	r = 0;
out:
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
	doc = jr_free(doc);
	return r;
}

int
job_request_apply_runtime(struct job_request *jr, const struct runtime_info *rt,
    struct api_err *err)
{
	struct job_file *files;
	char path[128];
	int r;

	for (size_t i = 0; i < jr->nfiles; i++)
		if (strcmp(jr->files[i].path, rt->file) == 0 ||
		    job_inputs_path_above(rt->file, jr->files[i].path))
			return api_err_set(err, 400, "invalid_request",
			    "field 'files' names '%s', the file runtime '%s' "
			    "writes 'code' to",
			    rt->file, rt->name);
	if ((size_t) snprintf(path, sizeof(path), "/work/%s", rt->file) >=
	    sizeof(path))
		return api_err_internal(err, -E2BIG);
	if (!(files = realloc(jr->files, (jr->nfiles + 2) * sizeof(*files))))
		return api_err_internal(err, -ENOMEM);
	jr->files = files;
	memset(&files[jr->nfiles], 0, 2 * sizeof(*files));
	if (!(files[jr->nfiles].path = strdup(rt->file)))
		return api_err_internal(err, -ENOMEM);
	files[jr->nfiles].data = steal_ptr(&jr->code);
	files[jr->nfiles].len = jr->code_len;
	jr->nfiles++;
	if ((r = argv_from_json(rt->run, path, jr->args, jr->nargs, &jr->argv,
		 &jr->argc)) < 0 ||
	    (rt->compile &&
		(r = argv_from_json(rt->compile, path, NULL, 0,
		     &jr->compile_argv, &jr->compile_argc)) < 0))
		return api_err_internal(err, r);
	jr->compile_timeout_ms = jr->compile_timeout_s ?
	    jr->compile_timeout_s * 1000 :
	    rt->compile_timeout_ms;
	if (!jr->compile_memory_mb)
		jr->compile_memory_mb = rt->compile_memory_mb;
	(void) str_copy(jr->runtime_name, sizeof(jr->runtime_name), rt->name);
	(void) str_copy(jr->runtime_version, sizeof(jr->runtime_version),
	    rt->version);
	return 0;
}

static int
parse_argv(const struct jr_doc *doc, int root, struct job_request *jr,
    struct api_err *err)
{
	int cmd = jr_obj_get(doc, root, "command");
	int argv = jr_obj_get(doc, root, "argv");
	int r;

	if (jr_obj_get(doc, root, "code") >= 0) {
		if (cmd >= 0 || argv >= 0)
			return api_err_set(err, 400, "invalid_request",
			    "give exactly one of 'command', 'argv' and 'code', "
			    "not '%s' with 'code'",
			    cmd >= 0 ? "command" : "argv");
		return job_request_parse_code(doc, root, jr, err);
	}
	for (size_t i = 0; code_only[i]; i++)
		if (jr_obj_get(doc, root, code_only[i]) >= 0)
			return api_err_set(err, 400, "invalid_request",
			    "field '%s' is only for 'code' jobs", code_only[i]);
	if (cmd >= 0 && argv >= 0)
		return api_err_set(err, 400, "invalid_request",
		    "give exactly one of 'command' and 'argv', not both");
	if (cmd < 0 && argv < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'command' or 'argv' is required");
	if (cmd >= 0) {
		char *s = NULL;
		size_t len;

		if ((r = job_request_get_string(doc, cmd, "command",
			 JC_MAX_COMMAND_BYTES, &s, &len, err)) < 0)
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

		if ((r = job_request_get_string(doc, el, "argv",
			 JC_MAX_ARG_BYTES, &jr->argv[i], &len, err)) < 0)
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
		if ((r = job_request_get_string(doc, k + 1, "env",
			 JC_MAX_ENV_VALUE, &e->value, &len, err)) < 0)
			return r;
	}
	return 0;
}

/* 1 if image is one of the space- or comma-separated words of list. */
bool
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
 * caller's question (jobs_writer.c: 503); here only what the request
 * says. */
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
	/* The caller's own images (issue 14) are looked up with the
	 * database (images_resolve): the refusal waits until then. */
	jr->image_given = true;
	jr->image_unlisted = lim->docker_images[0] &&
	    !image_listed(lim->docker_images, jr->image);
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
 * node): refused, naming the field, rather than silently dropped. stdin,
 * files, inputs and cwd travel as swarm configs (cell/swarm_configs.c), each
 * at most JC_SWARM_CONFIG_MAX bytes: the files as jobcell-cell-unpack's
 * stream, with the inputs (whose sizes jobs_writer.c adds, from the
 * store). */
size_t
job_request_swarm_stream_bytes(const struct job_request *jr)
{
	size_t stream = 4 + 4 + 4 + (jr->cwd ? strlen(jr->cwd) : 0);

	for (size_t i = 0; i < jr->nfiles; i++)
		stream += 12 + strlen(jr->files[i].path) + jr->files[i].len;
	return stream;
}

static int
swarm_refusals(const struct jr_doc *doc, int root, const struct job_request *jr,
    struct api_err *err)
{
	static const char *const unsupported[] = { "artifacts", NULL };
	size_t stream = job_request_swarm_stream_bytes(jr);

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
	if (jr->stdin_len > JC_SWARM_CONFIG_MAX)
		return api_err_set(err, 400, "invalid_request",
		    "field 'stdin': over %u bytes, the most a swarm job "
		    "carries",
		    JC_SWARM_CONFIG_MAX);
	if (stream > JC_SWARM_CONFIG_MAX)
		return api_err_set(err, 400, "invalid_request",
		    "field 'files': over %u bytes with their paths, the "
		    "most a swarm job carries",
		    JC_SWARM_CONFIG_MAX);
	return 0;
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

		if ((r = job_request_get_string(doc, tok, "name",
			 JC_MAX_NAME_CHARS * 4, &jr.name, &nlen, err)) < 0)
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
	    (r = job_request_get_string(doc, tok, "stdin", JC_MAX_STDIN_BYTES,
		 &jr.stdin_data, &jr.stdin_len, err)) < 0)
		goto fail;
	if ((r = parse_env(doc, root, &jr, err)) < 0)
		goto fail;
	if ((r = job_inputs_parse(doc, root, &jr, err)) < 0)
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
	if ((r = job_inputs_parse_artifacts(doc, root, &jr, err)) < 0)
		goto fail;
	doc = jr_free(doc);
	*ret = jr;
	return 0;
fail:
	job_request_release(&jr);
	doc = jr_free(doc);
	return r;
}

/* An image build's spec (images.c, issue 14): read by worker/job_build.c. */
int
images_spec_json(const struct job_request *jr, struct strbuf *out)
{
	const struct image_build *b = jr->build;
	struct jw w;

	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "build");
	jw_obj_open(&w);
	jw_kv_str(&w, "name", b->name);
	jw_kv_str(&w, "image_tag", b->tag);
	jw_kv_str(&w, "tag", b->daemon);
	jw_kv_str(&w, "context", b->context);
	jw_kv_str(&w, "dockerfile", b->dockerfile);
	if (b->dockerfile_text) {
		jw_key(&w, "dockerfile_text");
		jw_strn(&w, b->dockerfile_text, b->dockerfile_len);
	}
	if (b->build_args)
		jw_kv_str(&w, "build_args", b->build_args);
	jw_obj_close(&w);
	jw_kv_bool(&w, "network", jr->network);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int
job_request_spec_json(const struct job_request *jr, struct strbuf *out)
{
	struct jw w;

	if (jr->build)
		return images_spec_json(jr, out);

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
		for (size_t i = 0; i < jr->nfiles; i++) {
			const struct job_file *f = &jr->files[i];
			_cleanup_free_ char *b64 = NULL;

			if (!f->binary && !f->executable) {
				jw_kv_str(&w, f->path, f->data);
				continue;
			}
			/* binary or executable: {"base64": ..., "executable":
			 * bool}, read back by the worker (exec_args.c) */
			if (base64_encode(f->data, f->len, &b64) < 0)
				return -ENOMEM;
			jw_key(&w, f->path);
			jw_obj_open(&w);
			jw_kv_str(&w, "base64", b64);
			jw_kv_bool(&w, "executable", f->executable);
			jw_obj_close(&w);
		}
		jw_obj_close(&w);
	}
	if (jr->ninputs > 0) {
		jw_key(&w, "inputs");
		jw_arr_open(&w);
		for (size_t i = 0; i < jr->ninputs; i++) {
			jw_obj_open(&w);
			jw_kv_str(&w, "digest", jr->inputs[i].digest);
			jw_kv_str(&w, "path", jr->inputs[i].path);
			jw_kv_str(&w, "format",
			    jr->inputs[i].tar ? "tar" : "file");
			jw_kv_bool(&w, "executable", jr->inputs[i].executable);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
	}
	if (jr->cwd)
		jw_kv_str(&w, "cwd", jr->cwd);
	if (jr->network)
		jw_kv_bool(&w, "network", true);
	if (jr->image[0])
		jw_kv_str(&w, "image", jr->image);
	if (jr->nartifacts > 0) {
		jw_key(&w, "artifacts");
		jw_arr_open(&w);
		for (size_t i = 0; i < jr->nartifacts; i++)
			jw_str(&w, jr->artifacts[i]);
		jw_arr_close(&w);
		if (jr->artifacts_required)
			jw_kv_bool(&w, "artifacts_required", true);
	}
	if (jr->compile_argv) {
		jw_key(&w, "compile");
		jw_obj_open(&w);
		jw_key(&w, "argv");
		jw_arr_open(&w);
		for (size_t i = 0; i < jr->compile_argc; i++)
			jw_str(&w, jr->compile_argv[i]);
		jw_arr_close(&w);
		jw_kv_i64(&w, "timeout_ms", jr->compile_timeout_ms);
		jw_kv_i64(&w, "memory_mb", jr->compile_memory_mb);
		jw_obj_close(&w);
	}
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
