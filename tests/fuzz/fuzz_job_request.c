/* fuzz_job_request.c - libFuzzer target: the JSON reader and job request
 * validation (fcgi/job_request.c) on arbitrary bytes. Properties:
 * - every input either parses into a request or gets a 4xx error with a
 *   code and a message (a crash, a sanitizer report or a 5xx is a bug);
 * - what we accept means one thing: the request written back as JSON from
 *   what was parsed is accepted again and parses into the same request,
 *   field by field, and its stored spec is byte for byte the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "json_reader.h"
#include "json_writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
str_same(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
bytes_same(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The request jr as a request body: every field it holds, explicitly. */
static int
request_json(const struct job_request *jr, struct strbuf *out)
{
	struct jw w;

	jw_init(&w, out);
	jw_obj_open(&w);
	if (jr->name)
		jw_kv_str(&w, "name", jr->name);
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
	if (jr->stdin_data) {
		jw_key(&w, "stdin");
		jw_strn(&w, jr->stdin_data, jr->stdin_len);
	}
	jw_key(&w, "files");
	jw_obj_open(&w);
	for (size_t i = 0; i < jr->nfiles; i++) {
		jw_key(&w, jr->files[i].path);
		jw_strn(&w, jr->files[i].data, jr->files[i].len);
	}
	jw_obj_close(&w);
	if (jr->cwd)
		jw_kv_str(&w, "cwd", jr->cwd);
	jw_kv_i64(&w, "timeout", jr->timeout_s);
	jw_kv_i64(&w, "memory_mb", jr->memory_mb);
	jw_kv_i64(&w, "cpus", jr->cpus);
	jw_kv_i64(&w, "pids", jr->pids);
	jw_kv_i64(&w, "disk_mb", jr->disk_mb);
	jw_kv_bool(&w, "network", jr->network);
	jw_kv_str(&w, "sandbox", jr->sandbox);
	if (jr->image[0])
		jw_kv_str(&w, "image", jr->image);
	if (jr->nartifacts > 0) {
		jw_key(&w, "artifacts");
		jw_arr_open(&w);
		for (size_t i = 0; i < jr->nartifacts; i++)
			jw_str(&w, jr->artifacts[i]);
		jw_arr_close(&w);
	}
	jw_kv_bool(&w, "artifacts_required", jr->artifacts_required);
	jw_obj_close(&w);
	return jw_finish(&w);
}

static bool
same_request(const struct job_request *a, const struct job_request *b)
{
	if (!str_same(a->name, b->name) || a->argc != b->argc ||
	    a->envc != b->envc || a->nfiles != b->nfiles ||
	    !str_same(a->cwd, b->cwd) || a->timeout_s != b->timeout_s ||
	    a->memory_mb != b->memory_mb || a->cpus != b->cpus ||
	    a->pids != b->pids || a->disk_mb != b->disk_mb ||
	    a->network != b->network || strcmp(a->sandbox, b->sandbox) != 0 ||
	    strcmp(a->image, b->image) != 0 ||
	    !bytes_same(a->stdin_data, a->stdin_len, b->stdin_data,
	    b->stdin_len))
		return false;
	for (size_t i = 0; i < a->argc; i++)
		if (!str_same(a->argv[i], b->argv[i]))
			return false;
	for (size_t i = 0; i < a->envc; i++)
		if (!str_same(a->env[i].name, b->env[i].name) ||
		    !str_same(a->env[i].value, b->env[i].value))
			return false;
	for (size_t i = 0; i < a->nfiles; i++)
		if (!str_same(a->files[i].path, b->files[i].path) ||
		    !bytes_same(a->files[i].data, a->files[i].len,
		    b->files[i].data, b->files[i].len))
			return false;
	if (a->nartifacts != b->nartifacts ||
	    a->artifacts_required != b->artifacts_required)
		return false;
	for (size_t i = 0; i < a->nartifacts; i++)
		if (!str_same(a->artifacts[i], b->artifacts[i]))
			return false;
	return true;
}

/* jr was accepted: check the properties above; abort() on a violation. */
static void
check_roundtrip(const struct job_request *jr, const struct config_limits *lim)
{
	struct job_request again = { 0 };
	struct api_err err = { 0 };
	struct jr_doc *doc = NULL;
	struct strbuf body, spec1, spec2;

	strbuf_init(&body, JC_MAX_BODY_BYTES * 8);
	strbuf_init(&spec1, JC_MAX_BODY_BYTES * 8);
	strbuf_init(&spec2, JC_MAX_BODY_BYTES * 8);
	if (job_request_spec_json(jr, &spec1) != 0 ||
	    jr_parse(spec1.buf, spec1.len, JC_MAX_JSON_TOKENS, &doc) != 0)
		abort();	/* our own output must read back */
	doc = jr_free(doc);
	if (request_json(jr, &body) != 0)
		abort();
	/* Written out in full, a request can pass the body cap that its
	 * short form kept under (defaults spelled out, escapes): only a
	 * request that still fits must come back the same. */
	if (body.len <= JC_MAX_BODY_BYTES) {
		if (job_request_parse(body.buf, body.len, lim, &again,
		    &err) != 0 || !same_request(jr, &again) ||
		    job_request_spec_json(&again, &spec2) != 0 ||
		    spec1.len != spec2.len ||
		    memcmp(spec1.buf, spec2.buf, spec1.len) != 0)
			abort();
		job_request_release(&again);
	}
	strbuf_release(&body);
	strbuf_release(&spec1);
	strbuf_release(&spec2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_limits lim;
	struct job_request jr = { 0 };
	struct api_err err = { 0 };

	if (size > JC_MAX_BODY_BYTES)
		return 0;
	api_limits_default(&lim);
	if (job_request_parse((const char *) data, size, &lim, &jr, &err) == 0) {
		check_roundtrip(&jr, &lim);
		job_request_release(&jr);
	} else if (err.status < 400 || err.status >= 500 || !err.code[0] ||
	    !err.message[0]) {
		/* -ENOMEM is the one honest 5xx; nothing here allocates
		 * enough to hit it. */
		abort();
	}
	return 0;
}
