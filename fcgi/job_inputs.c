/* job_inputs.c - the workspace fields of a job submission (DESIGN
 * section 4, "The job request"): "files", "inputs", "cwd" and
 * "artifacts", called by job_request_parse. Pure: JSON tokens in, a
 * job_request's fields or an api_err out. Trusts nothing: every path is
 * checked relative to the workspace, every size bounded, unknown and
 * duplicate keys refused; whose blob an input names is jobs_writer.c's
 * question. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "base64.h"
#include "wsglob.h"
#include "wspath.h"
#include "banned.h"

static const char *const file_keys[] = {
	"content",
	"encoding",
	"executable",
	NULL,
};
static const char *const input_keys[] = {
	"blob",
	"path",
	"format",
	"executable",
	NULL,
};

/* True if dir names a directory above path ("a/b" above "a/b/c"). */
bool
job_inputs_path_above(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	return strncmp(dir, path, n) == 0 && path[n] == '/';
}

/* A "files" value: a UTF-8 string, or {"content": ..., "encoding":
 * "utf-8" | "base64", "executable": bool} (DESIGN section 4). */
static int
parse_file_value(const struct jr_doc *doc, int v, struct job_file *f,
    struct api_err *err)
{
	_cleanup_free_ char *raw = NULL;
	char bad[80];
	int c, e, x, r;
	size_t len;

	if (jr_type(doc, v) == JR_STRING)
		return job_request_get_string(doc, v, "files",
		    JC_MAX_FILES_BYTES, &f->data, &f->len, err);
	if (jr_type(doc, v) != JR_OBJECT)
		return api_err_set(err, 400, "invalid_request",
		    "field 'files' must map each path to a string or to "
		    "{\"content\", \"encoding\", \"executable\"}");
	r = jr_obj_check_keys(doc, v, file_keys, bad, sizeof(bad));
	if (r < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'files': %s key '%s' in a file object",
		    r == -EEXIST ? "a repeated" : "an unknown", bad);
	c = jr_obj_get(doc, v, "content");
	e = jr_obj_get(doc, v, "encoding");
	x = jr_obj_get(doc, v, "executable");
	if (c < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'files': a file object needs 'content'");
	if (x >= 0 && jr_bool(doc, x, &f->executable) < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'files': 'executable' must be true or false");
	if (e >= 0 && !jr_str_eq(doc, e, "utf-8") &&
	    !jr_str_eq(doc, e, "base64"))
		return api_err_set(err, 400, "invalid_request",
		    "field 'files': 'encoding' must be \"utf-8\" or \"base64\"");
	if (e < 0 || jr_str_eq(doc, e, "utf-8"))
		return job_request_get_string(doc, c, "files",
		    JC_MAX_FILES_BYTES, &f->data, &f->len, err);
	/* base64: ASCII text of at most 4/3 of the bound, then decoded */
	if ((r = job_request_get_string(doc, c, "files",
		 JC_MAX_FILES_BYTES / 3 * 4 + 4, &raw, &len, err)) < 0)
		return r;
	r = base64_decode(raw, len, JC_MAX_FILES_BYTES, &f->data, &f->len);
	if (r == -ENOMEM)
		return api_err_internal(err, r);
	if (r == -E2BIG)
		return api_err_set(err, 400, "invalid_request",
		    "field 'files' holds more than %u bytes",
		    JC_MAX_FILES_BYTES);
	if (r < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'files': 'content' is not valid base64 (RFC 4648, "
		    "with padding)");
	f->binary = true;
	return 0;
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
		    "field 'files' must be an object of path: content");
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
			if (job_inputs_path_above(jr->files[j].path, f->path) ||
			    job_inputs_path_above(f->path, jr->files[j].path))
				return api_err_set(err, 400, "invalid_request",
				    "field 'files' uses a path both as a file "
				    "and as a directory");
		}
		if ((r = parse_file_value(doc, k + 1, f, err)) < 0)
			return r;
		total += f->len;
		if (total > JC_MAX_FILES_BYTES)
			return api_err_set(err, 400, "invalid_request",
			    "field 'files' holds more than %u bytes",
			    JC_MAX_FILES_BYTES);
	}
	return 0;
}

static bool
digest_ok(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return false;
	for (s += 7; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* "inputs": [{"blob": "sha256:<hex>", "path": ..., "format": "tar" |
 * "file", "executable": bool}], at most JC_MAX_INPUTS. Whose blob it is,
 * is the store's question (jobs_writer.c), asked in the job's transaction. */
static int
parse_inputs(const struct jr_doc *doc, int root, struct job_request *jr,
    struct api_err *err)
{
	int arr = jr_obj_get(doc, root, "inputs");
	char bad[80];
	int n, r;

	if (arr == -ENOENT)
		return 0;
	if (jr_type(doc, arr) != JR_ARRAY ||
	    (n = jr_len(doc, arr)) > JC_MAX_INPUTS)
		return api_err_set(err, 400, "invalid_request",
		    "field 'inputs' must be an array of at most %d objects",
		    JC_MAX_INPUTS);
	if (n == 0)
		return 0;
	if (!(jr->inputs = calloc((size_t) n, sizeof(*jr->inputs))))
		return api_err_internal(err, -ENOMEM);
	for (int i = 0; i < n; i++) {
		int o = jr_child(doc, arr, i), b, p, fm, x;
		struct job_input *in = &jr->inputs[i];
		char digest[80];
		size_t len = 0;

		jr->ninputs = (size_t) i + 1;
		if (jr_type(doc, o) != JR_OBJECT)
			return api_err_set(err, 400, "invalid_request",
			    "field 'inputs[%d]' must be an object", i);
		r = jr_obj_check_keys(doc, o, input_keys, bad, sizeof(bad));
		if (r < 0)
			return api_err_set(err, 400, "invalid_request",
			    "field 'inputs[%d]': %s key '%s'", i,
			    r == -EEXIST ? "a repeated" : "an unknown", bad);
		b = jr_obj_get(doc, o, "blob");
		p = jr_obj_get(doc, o, "path");
		fm = jr_obj_get(doc, o, "format");
		x = jr_obj_get(doc, o, "executable");
		if (b < 0 || jr_str(doc, b, digest, sizeof(digest), NULL) < 0 ||
		    !digest_ok(digest))
			return api_err_set(err, 400, "invalid_request",
			    "field 'inputs[%d].blob' must be \"sha256:\" and 64 "
			    "lowercase hex digits",
			    i);
		memcpy(in->digest, digest + 7, 65);
		in->tar = true;
		if (fm >= 0) {
			if (jr_str_eq(doc, fm, "file"))
				in->tar = false;
			else if (!jr_str_eq(doc, fm, "tar"))
				return api_err_set(err, 400, "invalid_request",
				    "field 'inputs[%d].format' must be \"tar\" "
				    "or \"file\"",
				    i);
		}
		if (x >= 0 &&
		    (jr_bool(doc, x, &in->executable) < 0 ||
			(in->executable && in->tar)))
			return api_err_set(err, 400, "invalid_request",
			    "field 'inputs[%d].executable' must be true or "
			    "false, and true only with \"format\": \"file\"",
			    i);
		if (p < 0 && in->tar) {
			if (!(in->path = strdup("")))
				return api_err_internal(err, -ENOMEM);
			continue;
		}
		if (p < 0 ||
		    jr_str_dup(doc, p, WSPATH_MAX, &in->path, &len) < 0 ||
		    wspath_check_len(in->path, len) < 0)
			return api_err_set(err, 400, "invalid_request",
			    "field 'inputs[%d].path' must be a path relative to "
			    "the workspace (no '..', not absolute, at most %u "
			    "bytes)%s",
			    i, WSPATH_MAX,
			    in->tar ? "" : "; a \"file\" input needs one");
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
	if ((r = job_request_get_string(doc, tok, "cwd", WSPATH_MAX, &jr->cwd,
		 &len, err)) < 0)
		return r;
	if (wspath_check_len(jr->cwd, len) < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'cwd' must be a relative path inside the workspace");
	/* The workspace starts empty but for "files" and "inputs": the
	 * directory must be one of theirs, or the job could not start there.
	 * What an archive holds is known only when it is unpacked: a cwd
	 * that is not there then ends the job as "error". */
	if (jr->ninputs > 0)
		return 0;
	for (size_t i = 0; i < jr->nfiles; i++)
		if (job_inputs_path_above(jr->cwd, jr->files[i].path))
			return 0;
	return api_err_set(err, 400, "invalid_request",
	    "field 'cwd' must name a directory that 'files' creates");
}

int
job_inputs_parse(const struct jr_doc *doc, int root, struct job_request *jr,
    struct api_err *err)
{
	int r;

	if ((r = parse_files(doc, root, jr, err)) < 0 ||
	    (r = parse_inputs(doc, root, jr, err)) < 0 ||
	    (r = parse_cwd(doc, root, jr, err)) < 0)
		return r;
	return 0;
}

/* "artifacts" (globs, wsglob.h) and "artifacts_required". Whether the
 * server keeps artifacts at all is the caller's question (jobs.c). */
int
job_inputs_parse_artifacts(const struct jr_doc *doc, int root,
    struct job_request *jr, struct api_err *err)
{
	int arr = jr_obj_get(doc, root, "artifacts");
	int req = jr_obj_get(doc, root, "artifacts_required");
	int r, n;

	if (req >= 0 && jr_bool(doc, req, &jr->artifacts_required) < 0)
		return api_err_set(err, 400, "invalid_request",
		    "field 'artifacts_required' must be true or false");
	if (arr == -ENOENT)
		return 0;
	if (jr_type(doc, arr) != JR_ARRAY ||
	    (n = jr_len(doc, arr)) > WSGLOB_MAX_PATTERNS)
		return api_err_set(err, 400, "invalid_request",
		    "field 'artifacts' must be an array of at most %d globs",
		    WSGLOB_MAX_PATTERNS);
	if (!(jr->artifacts = calloc((size_t) n + 1, sizeof(char *))))
		return api_err_internal(err, -ENOMEM);
	for (int i = 0; i < n; i++) {
		size_t len;

		if ((r = job_request_get_string(doc, jr_child(doc, arr, i),
			 "artifacts", WSGLOB_MAX, &jr->artifacts[i], &len,
			 err)) < 0)
			return r;
		jr->nartifacts++;
		if (wsglob_check_len(jr->artifacts[i], len) < 0)
			return api_err_set(err, 400, "invalid_request",
			    "field 'artifacts' has a glob that is not relative "
			    "to the workspace (absolute, empty part, '.' or "
			    "'..', a control byte, a part over 255 bytes, or "
			    "more than %d parts)",
			    WSGLOB_MAX_PARTS);
		for (int j = 0; j < i; j++)
			if (strcmp(jr->artifacts[j], jr->artifacts[i]) == 0)
				return api_err_set(err, 400, "invalid_request",
				    "field 'artifacts' names a glob twice");
	}
	return 0;
}
