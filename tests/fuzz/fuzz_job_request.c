/* fuzz_job_request.c - libFuzzer target: the JSON reader and job request
 * validation on arbitrary bytes. Every input must either parse into a
 * request whose spec re-parses, or give a 4xx error with a code and a
 * message; anything else (a crash, a sanitizer report, a 5xx) is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "json_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_limits lim;
	struct job_request jr = { 0 };
	struct api_err err = { 0 };
	struct jr_doc *doc = NULL;

	if (size > JC_MAX_BODY_BYTES)
		return 0;
	api_limits_default(&lim);
	if (job_request_parse((const char *) data, size, &lim, &jr, &err) == 0) {
		struct strbuf sb;

		strbuf_init(&sb, JC_MAX_BODY_BYTES * 2);
		if (job_request_spec_json(&jr, &sb) != 0 ||
		    jr_parse(sb.buf, sb.len, JC_MAX_JSON_TOKENS, &doc) != 0)
			abort();	/* our own output must read back */
		doc = jr_free(doc);
		strbuf_release(&sb);
		job_request_release(&jr);
	} else if (err.status < 400 || err.status >= 500 || !err.code[0] ||
	    !err.message[0]) {
		/* -ENOMEM is the one honest 5xx; nothing here allocates
		 * enough to hit it. */
		abort();
	}
	return 0;
}
