/* test_job_request.c - validation of job submissions: every rule of the
 * job request table, with hostile bodies (empty, too long, NUL, bad UTF-8,
 * deep nesting, duplicate and unknown keys). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "parse.h"
#include "tap.h"

static struct config_limits lim;

/* Parses body; returns the HTTP status (0 on success) and the error. */
static int
try(const char *body, size_t len, struct job_request *jr, struct api_err *e)
{
	memset(e, 0, sizeof(*e));
	memset(jr, 0, sizeof(*jr));
	if (job_request_parse(body, len, &lim, jr, e) == 0)
		return 0;
	return e->status;
}

int
main(void)
{
	static const struct {
		const char *body;
		int status;
		const char *code;
		const char *mentions;	/* substring of the message */
	} rows[] = {
		{ "{\"command\":\"true\"}", 0, NULL, NULL },
		{ "{\"argv\":[\"/bin/echo\",\"a b\"]}", 0, NULL, NULL },
		{ "", 400, "invalid_json", NULL },
		{ "{", 400, "invalid_json", NULL },
		{ "{\"command\":\"true\"} x", 400, "invalid_json", NULL },
		{ "[]", 400, "invalid_request", "object" },
		{ "\"x\"", 400, "invalid_request", "object" },
		{ "{}", 400, "invalid_request", "'command'" },
		{ "{\"command\":\"true\",\"argv\":[\"x\"]}", 400,
		    "invalid_request", "both" },
		{ "{\"command\":\"true\",\"timout\":5}", 400, "invalid_request",
		    "'timout'" },
		{ "{\"command\":\"true\",\"command\":\"false\"}", 400,
		    "invalid_request", "'command'" },
		{ "{\"command\":5}", 400, "invalid_request", "'command'" },
		{ "{\"command\":\"\"}", 400, "invalid_request", "'command'" },
		{ "{\"command\":\"a\\u0000b\"}", 400, "invalid_request",
		    "'command'" },
		{ "{\"command\":\"\xff\xfe\"}", 400, NULL, NULL },
		{ "{\"command\":\"\xc0\xaf\"}", 400, NULL, NULL },
		{ "{\"command\":\"\\ud800\"}", 400, NULL, NULL },
		{ "{\"argv\":[]}", 400, "invalid_request", "'argv'" },
		{ "{\"argv\":\"ls\"}", 400, "invalid_request", "'argv'" },
		{ "{\"argv\":[1]}", 400, "invalid_request", "'argv'" },
		{ "{\"argv\":[\"\"]}", 400, "invalid_request", "'argv'" },
		{ "{\"argv\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]"
		  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		    400, "invalid_json", NULL },
		{ "{\"command\":\"true\",\"timeout\":0}", 400,
		    "invalid_request", "'timeout'" },
		{ "{\"command\":\"true\",\"timeout\":-1}", 400,
		    "invalid_request", "'timeout'" },
		{ "{\"command\":\"true\",\"timeout\":3601}", 400,
		    "invalid_request", "'timeout'" },
		{ "{\"command\":\"true\",\"timeout\":3600}", 0, NULL, NULL },
		{ "{\"command\":\"true\",\"timeout\":1.5}", 400,
		    "invalid_request", "'timeout'" },
		{ "{\"command\":\"true\",\"timeout\":\"5\"}", 400,
		    "invalid_request", "'timeout'" },
		{ "{\"command\":\"true\",\"timeout\":1e99}", 400,
		    "invalid_request", "'timeout'" },
		{ "{\"command\":\"true\",\"memory_mb\":999999}", 400,
		    "invalid_request", "'memory_mb'" },
		{ "{\"command\":\"true\",\"env\":{\"A_1\":\"x\"}}", 0, NULL,
		    NULL },
		{ "{\"command\":\"true\",\"env\":{\"1A\":\"x\"}}", 400,
		    "invalid_request", "'env'" },
		{ "{\"command\":\"true\",\"env\":{\"A-B\":\"x\"}}", 400,
		    "invalid_request", "'env'" },
		{ "{\"command\":\"true\",\"env\":{\"\":\"x\"}}", 400,
		    "invalid_request", "'env'" },
		{ "{\"command\":\"true\",\"env\":{\"A\":1}}", 400,
		    "invalid_request", "'env'" },
		{ "{\"command\":\"true\",\"env\":{\"A\":\"1\",\"A\":\"2\"}}",
		    400, "invalid_request", "'A'" },
		{ "{\"command\":\"true\",\"env\":{\"HOME\":\"/\"}}", 400,
		    "invalid_request", "'HOME'" },
		{ "{\"command\":\"true\",\"env\":{\"JOBCELL_X\":\"/\"}}", 400,
		    "invalid_request", "'JOBCELL_X'" },
		{ "{\"command\":\"true\",\"env\":[]}", 400, "invalid_request",
		    "'env'" },
		{ "{\"command\":\"true\",\"network\":true}", 400,
		    "invalid_request", "'network'" },
		{ "{\"command\":\"true\",\"network\":false}", 0, NULL, NULL },
		{ "{\"command\":\"true\",\"network\":1}", 400,
		    "invalid_request", "'network'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\"}", 0, NULL,
		    NULL },
		{ "{\"command\":\"true\",\"sandbox\":\"vm\"}", 400,
		    "invalid_request", "'sandbox'" },
		{ "{\"command\":\"true\",\"sandbox\":\"Docker\"}", 400,
		    "invalid_request", "'sandbox'" },
		{ "{\"command\":\"true\",\"sandbox\":[\"docker\"]}", 400,
		    "invalid_request", "'sandbox'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"image\":\"debian:12\"}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"image\":\"registry.local:5000/team/tool@sha256:abc\"}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"image\":\"debian:12\"}", 400,
		    "invalid_request", "'image'" },
		{ "{\"command\":\"true\",\"sandbox\":\"namespace\","
		  "\"image\":\"debian:12\"}",
		    400, "invalid_request", "'image'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"image\":\"\"}",
		    400, "invalid_request", "'image'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"image\":\"-rm\"}",
		    400, "invalid_request", "'image'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"image\":\"a b\"}",
		    400, "invalid_request", "'image'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"image\":\"a?x=1\"}",
		    400, "invalid_request", "'image'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"image\":\"a\\u0000b\"}",
		    400, "invalid_request", "'image'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"image\":\"\xc3\xa9\"}",
		    400, "invalid_request", "'image'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"image\":7}",
		    400, "invalid_request", "'image'" },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"files\":{\"a\":\"b\"}}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"sandbox\":\"docker\","
		  "\"files\":{\"d/a\":\"b\"},\"cwd\":\"d\"}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"sandbox\":\"namespace\"}", 0, NULL,
		    NULL },
		{ "{\"command\":\"true\",\"name\":7}", 400, "invalid_request",
		    "'name'" },
		{ "{\"command\":\"true\",\"stdin\":\"abc\"}", 0, NULL, NULL },
		{ "{\"command\":\"true\",\"files\":{}}", 0, NULL, NULL },
		{ "{\"command\":\"true\",\"files\":{\"a.txt\":\"x\","
		  "\"src/lib/b.c\":\"int b;\\n\",\"$(reboot);`x`\":\"\"}}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"files\":[]}", 400, "invalid_request",
		    "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a\":1}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"/etc/passwd\":\"x\"}}",
		    400, "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"../x\":\"x\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a/../../x\":\"x\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a/..\":\"x\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"./a\":\"x\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a//b\":\"x\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a/\":\"x\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"\":\"x\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a\\u0000b\":\"x\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a\\nb\":\"x\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a\":\"x\\u0000y\"}}", 400,
		    "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a\":\"x\",\"a\":\"y\"}}",
		    400, "invalid_request", "'files'" },
		{ "{\"command\":\"true\",\"files\":{\"a\":\"x\",\"a/b\":\"y\"}}",
		    400, "invalid_request", "both" },
		{ "{\"command\":\"true\",\"files\":{\"a/b/c\":\"x\",\"a/b\":\"y\"}}",
		    400, "invalid_request", "both" },
		{ "{\"command\":\"true\",\"files\":{\"ab\":\"x\",\"a\":\"y\"}}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"cwd\":\"src\",\"files\":"
		  "{\"src/a\":\"x\"}}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"cwd\":\"src/lib\",\"files\":"
		  "{\"src/lib/a\":\"x\"}}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"cwd\":\"src\"}", 400,
		    "invalid_request", "'cwd'" },
		{ "{\"command\":\"true\",\"cwd\":\"src/a\",\"files\":"
		  "{\"src/a\":\"x\"}}",
		    400, "invalid_request", "'cwd'" },
		{ "{\"command\":\"true\",\"cwd\":\"sr\",\"files\":"
		  "{\"src/a\":\"x\"}}",
		    400, "invalid_request", "'cwd'" },
		{ "{\"command\":\"true\",\"cwd\":\"/tmp\"}", 400,
		    "invalid_request", "'cwd'" },
		{ "{\"command\":\"true\",\"cwd\":\"..\"}", 400,
		    "invalid_request", "'cwd'" },
		{ "{\"command\":\"true\",\"cwd\":5}", 400, "invalid_request",
		    "'cwd'" },
		{ "{\"code\":\"print(1)\",\"runtime\":\"python\"}", 0, NULL,
		    NULL },
		{ "{\"code\":\"print(1)\"}", 400, "invalid_request",
		    "'runtime'" },
		{ "{\"code\":\"x\",\"runtime\":\"\"}", 400, "invalid_request",
		    "'runtime'" },
		{ "{\"code\":\"x\",\"runtime\":5}", 400, "invalid_request",
		    "'runtime'" },
		{ "{\"code\":5,\"runtime\":\"c\"}", 400, "invalid_request",
		    "'code'" },
		{ "{\"code\":\"x\",\"command\":\"true\",\"runtime\":\"c\"}",
		    400, "invalid_request", "'command'" },
		{ "{\"code\":\"x\",\"argv\":[\"a\"],\"runtime\":\"c\"}", 400,
		    "invalid_request", "'argv'" },
		{ "{\"command\":\"true\",\"runtime\":\"c\"}", 400,
		    "invalid_request", "'runtime'" },
		{ "{\"command\":\"true\",\"args\":[]}", 400, "invalid_request",
		    "'args'" },
		{ "{\"code\":\"x\",\"runtime\":\"c\",\"args\":[1]}", 400,
		    "invalid_request", "'args'" },
		{ "{\"code\":\"x\",\"runtime\":\"c\",\"args\":\"a\"}", 400,
		    "invalid_request", "'args'" },
		{ "{\"code\":\"x\",\"runtime\":\"c\",\"compile_timeout\":0}",
		    400, "invalid_request", "'compile_timeout'" },
		{ "{\"code\":\"x\",\"runtime\":\"c\","
		  "\"compile_memory_mb\":-1}",
		    400, "invalid_request", "'compile_memory_mb'" },
		{ "{\"code\":\"x\",\"runtime\":\"c\",\"args\":[\"a\"],"
		  "\"compile_timeout\":5,\"compile_memory_mb\":64}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"\\u0000\":1}", 400, NULL, NULL },
		/* artifacts: globs relative to the workspace, at most 32 */
		{ "{\"command\":\"true\",\"artifacts\":[\"out/*.tar.gz\","
		  "\"reports/**/*.xml\",\"[ab]?\"],\"artifacts_required\":true}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"artifacts\":[]}", 0, NULL, NULL },
		{ "{\"command\":\"true\",\"artifacts\":\"*\"}", 400,
		    "invalid_request", "'artifacts'" },
		{ "{\"command\":\"true\",\"artifacts\":[5]}", 400,
		    "invalid_request", "'artifacts'" },
		{ "{\"command\":\"true\",\"artifacts\":[\"\"]}", 400,
		    "invalid_request", "'artifacts'" },
		{ "{\"command\":\"true\",\"artifacts\":[\"/etc/passwd\"]}", 400,
		    "invalid_request", "'artifacts'" },
		{ "{\"command\":\"true\",\"artifacts\":[\"../x\"]}", 400,
		    "invalid_request", "'artifacts'" },
		{ "{\"command\":\"true\",\"artifacts\":[\"a/../../x\"]}", 400,
		    "invalid_request", "'artifacts'" },
		{ "{\"command\":\"true\",\"artifacts\":[\"a//b\"]}", 400,
		    "invalid_request", "'artifacts'" },
		{ "{\"command\":\"true\",\"artifacts\":[\"a\\nb\"]}", 400,
		    "invalid_request", "'artifacts'" },
		{ "{\"command\":\"true\",\"artifacts\":[\"a\\u0000\"]}", 400,
		    "invalid_request", "'artifacts'" },
		{ "{\"command\":\"true\",\"artifacts\":[\"a\",\"a\"]}", 400,
		    "invalid_request", "twice" },
		{ "{\"command\":\"true\",\"artifacts\":[\"a\"],"
		  "\"artifacts_required\":1}",
		    400, "invalid_request", "'artifacts_required'" },
		/* files: the object form (issue 13) */
		{ "{\"command\":\"true\",\"files\":{\"a\":{\"content\":\"x\"}}}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"files\":{\"a\":{\"content\":\"AA==\","
		  "\"encoding\":\"base64\",\"executable\":true}}}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"files\":{\"a\":{\"content\":\"AA=\","
		  "\"encoding\":\"base64\"}}}",
		    400, "invalid_request", "base64" },
		{ "{\"command\":\"true\",\"files\":{\"a\":{\"content\":\"AB==\","
		  "\"encoding\":\"base64\"}}}",
		    400, "invalid_request", "base64" },
		{ "{\"command\":\"true\",\"files\":{\"a\":{\"content\":\"A A=\","
		  "\"encoding\":\"base64\"}}}",
		    400, "invalid_request", "base64" },
		{ "{\"command\":\"true\",\"files\":{\"a\":{\"content\":\"x\","
		  "\"encoding\":\"latin1\"}}}",
		    400, "invalid_request", "'encoding'" },
		{ "{\"command\":\"true\",\"files\":{\"a\":{\"content\":\"x\","
		  "\"executable\":1}}}",
		    400, "invalid_request", "'executable'" },
		{ "{\"command\":\"true\",\"files\":{\"a\":{\"content\":\"x\","
		  "\"mode\":1}}}",
		    400, "invalid_request", "'mode'" },
		{ "{\"command\":\"true\",\"files\":{\"a\":{}}}", 400,
		    "invalid_request", "'content'" },
		{ "{\"command\":\"true\",\"files\":{\"a\":{\"content\":\"x\","
		  "\"content\":\"y\"}}}",
		    400, "invalid_request", "'content'" },
		/* inputs */
		{ "{\"command\":\"true\",\"inputs\":[]}", 0, NULL, NULL },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"cwd\":\"src\",\"inputs\":[{\"blob\":"
		  "\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"path\":\"src\",\"format\":\"tar\"}]}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		  "\"path\":\"bin/x\",\"format\":\"file\",\"executable\":true}]}",
		    0, NULL, NULL },
		{ "{\"command\":\"true\",\"inputs\":{}}", 400,
		    "invalid_request", "'inputs'" },
		{ "{\"command\":\"true\",\"inputs\":[1]}", 400,
		    "invalid_request", "'inputs[0]'" },
		{ "{\"command\":\"true\",\"inputs\":[{}]}", 400,
		    "invalid_request", "'inputs[0].blob'" },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
		  "{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0\"}]}",
		    400, "invalid_request", "'inputs[1].blob'" },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:"
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
		    400, "invalid_request", "'inputs[0].blob'" },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"md5:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
		    400, "invalid_request", "'inputs[0].blob'" },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		  "\"path\":\"../x\"}]}",
		    400, "invalid_request", "'inputs[0].path'" },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		  "\"path\":\"/etc/x\"}]}",
		    400, "invalid_request", "'inputs[0].path'" },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		  "\"format\":\"file\"}]}",
		    400, "invalid_request", "'inputs[0].path'" },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		  "\"format\":\"zip\"}]}",
		    400, "invalid_request", "'inputs[0].format'" },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		  "\"executable\":true}]}",
		    400, "invalid_request", "'inputs[0].executable'" },
		{ "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		  "\"dest\":\"x\"}]}",
		    400, "invalid_request", "'dest'" },
	};
	struct job_request jr;
	struct api_err e;
	char *big;
	size_t n;

	api_limits_default(&lim);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int st = try(rows[i].body, strlen(rows[i].body), &jr, &e);

		is_int(st, rows[i].status, "status for row %zu '%s'", i,
		    rows[i].body);
		if (rows[i].code && st)
			is_str(e.code, rows[i].code, "code for row %zu", i);
		if (rows[i].mentions && st)
			ok(strstr(e.message, rows[i].mentions) != NULL,
			    "row %zu message '%s' names %s", i, e.message,
			    rows[i].mentions);
		job_request_release(&jr);
	}

	/* The command form becomes /bin/sh -c; defaults are filled in. */
	{
		static const char b[] = "{\"command\":\"echo hi\"}";

		is_int(try(b, strlen(b), &jr, &e), 0, "command");
	}
	is_int((int64_t) jr.argc, 3, "argc of a command");
	is_str(jr.argv[0], "/bin/sh", "argv[0]");
	is_str(jr.argv[2], "echo hi", "argv[2]");
	ok(jr.argv[3] == NULL, "argv NULL-terminated");
	is_int(jr.timeout_s, lim.timeout_default_s, "default timeout");
	{
		struct strbuf sb;

		strbuf_init(&sb, 4096);
		is_int(job_request_spec_json(&jr, &sb), 0, "spec json");
		is_str(sb.buf, "{\"argv\":[\"/bin/sh\",\"-c\",\"echo hi\"],"
		    "\"env\":{}}", "spec text");
		strbuf_release(&sb);
	}
	job_request_release(&jr);

	/* artifacts reach the stored spec; 32 globs pass, 33 do not; a glob
	 * of WSGLOB_MAX bytes passes, one more does not. */
	{
		static const char b[] =
		    "{\"argv\":[\"ls\"],\"artifacts\":"
		    "[\"a/*\",\"**/%\"],\"artifacts_required\":true}";
		struct strbuf sb;
		int st;

		is_int(try(b, strlen(b), &jr, &e), 0, "artifacts");
		is_int((int64_t) jr.nartifacts, 2, "two globs");
		ok(jr.artifacts_required, "artifacts_required");
		strbuf_init(&sb, JC_MAX_BODY_BYTES);
		is_int(job_request_spec_json(&jr, &sb), 0,
		    "spec with artifacts");
		is_str(sb.buf,
		    "{\"argv\":[\"ls\"],\"env\":{},\"artifacts\":"
		    "[\"a/*\",\"**/%\"],\"artifacts_required\":true}",
		    "spec text with artifacts");
		job_request_release(&jr);
		strbuf_reset(&sb);
		(void) strbuf_addstr(&sb,
		    "{\"command\":\"true\",\"artifacts\":[");
		for (int i = 0; i < 32; i++)
			(void) strbuf_addf(&sb, "%s\"g%d\"", i ? "," : "", i);
		(void) strbuf_addstr(&sb, "]}");
		is_int(try(sb.buf, sb.len, &jr, &e), 0, "32 globs");
		job_request_release(&jr);
		sb.len -= 2;
		sb.buf[sb.len] = '\0';
		(void) strbuf_addstr(&sb, ",\"g32\"]}");
		st = try(sb.buf, sb.len, &jr, &e);
		is_int(st, 400, "33 globs");
		job_request_release(&jr);
		strbuf_reset(&sb);
		(void) strbuf_addstr(&sb,
		    "{\"command\":\"true\",\"artifacts\":[\"");
		for (int i = 0; i < 1024; i++)
			(void) strbuf_addstr(&sb, i % 200 == 199 ? "/" : "x");
		(void) strbuf_addstr(&sb, "\"]}");
		is_int(try(sb.buf, sb.len, &jr, &e), 0, "a 1024-byte glob");
		job_request_release(&jr);
		sb.len -= 3;
		sb.buf[sb.len] = '\0';
		(void) strbuf_addstr(&sb, "x\"]}");
		is_int(try(sb.buf, sb.len, &jr, &e), 400, "a 1025-byte glob");
		job_request_release(&jr);
		strbuf_release(&sb);
	}

	/* A code job: the runtime makes argv, the file and the compile step;
	 * "{file}" words become the code's path in the cell. */
	{
		static const char b[] = "{\"code\":\"int main(){}\","
					"\"runtime\":\"c\",\"args\":[\"x y\"],"
					"\"compile_memory_mb\":64}";
		char comp[] = "[\"gcc\",\"-o\",\"/work/a.out\",\"{file}\"]";
		char run[] = "[\"/work/a.out\"]";
		struct runtime_info rt = { .name = "c",
			.version = "12.2.0",
			.file = "main.c",
			.compile = comp,
			.run = run,
			.compile_timeout_ms = 10000,
			.compile_memory_mb = 512 };
		struct strbuf sb;

		is_int(try(b, strlen(b), &jr, &e), 0, "code job");
		is_str(jr.runtime, "c", "runtime as asked");
		is_int(job_request_apply_runtime(&jr, &rt, &e), 0, "apply");
		is_int((int64_t) jr.argc, 2, "run argv + args");
		is_str(jr.argv[1], "x y", "args kept whole");
		is_int((int64_t) jr.nfiles, 1, "the code is a file");
		is_str(jr.files[0].path, "main.c", "named as the runtime says");
		is_str(jr.compile_argv[3], "/work/main.c", "{file} replaced");
		is_int(jr.compile_timeout_ms, 10000, "runtime's compile time");
		is_int(jr.compile_memory_mb, 64, "asked compile memory");
		strbuf_init(&sb, 4096);
		is_int(job_request_spec_json(&jr, &sb), 0, "spec json of code");
		is_str(sb.buf,
		    "{\"argv\":[\"/work/a.out\",\"x y\"],\"env\":"
		    "{},\"files\":{\"main.c\":\"int main(){}\"},\"compile\":"
		    "{\"argv\":[\"gcc\",\"-o\",\"/work/a.out\",\"/work/main.c\"],"
		    "\"timeout_ms\":10000,\"memory_mb\":64}}",
		    "spec text of code");
		strbuf_release(&sb);
		job_request_release(&jr);
	}
	{
		static const char b[] = "{\"code\":\"1\",\"runtime\":\"py\","
					"\"files\":{\"main.py\":\"2\"}}";
		char run[] = "[\"python3\",\"{file}\"]";
		struct runtime_info rt = { .name = "python",
			.version = "3.11.2",
			.file = "main.py",
			.run = run };

		is_int(try(b, strlen(b), &jr, &e), 0, "code job with files");
		is_int(job_request_apply_runtime(&jr, &rt, &e), -EINVAL,
		    "a file where the code goes is refused");
		ok(strstr(e.message, "'main.py'") != NULL, "and named: %s",
		    e.message);
		job_request_release(&jr);
	}
	/* files, cwd and network reach the stored spec. */
	{
		static const char b[] = "{\"argv\":[\"ls\"],\"files\":{\"d/a b\":"
		    "\"1\\n\",\"c\":\"\"},\"cwd\":\"d\"}";
		struct strbuf sb;

		is_int(try(b, strlen(b), &jr, &e), 0, "files and cwd");
		is_int((int64_t) jr.nfiles, 2, "two files");
		is_str(jr.files[0].path, "d/a b", "first path");
		is_int((int64_t) jr.files[0].len, 2, "first length");
		is_str(jr.cwd, "d", "cwd");
		strbuf_init(&sb, 4096);
		is_int(job_request_spec_json(&jr, &sb), 0, "spec json with files");
		is_str(sb.buf, "{\"argv\":[\"ls\"],\"env\":{},\"files\":"
		    "{\"d/a b\":\"1\\n\",\"c\":\"\"},\"cwd\":\"d\"}",
		    "spec text with files");
		strbuf_release(&sb);
		job_request_release(&jr);
	}
	/* At and past the bounds of files. */
	{
		struct strbuf sb;
		int st;

		strbuf_init(&sb, JC_MAX_BODY_BYTES);
		(void) strbuf_addstr(&sb, "{\"command\":\"true\",\"files\":{");
		for (int i = 0; i < JC_MAX_FILES; i++)
			(void) strbuf_addf(&sb, "%s\"f%d\":\"\"", i ? "," : "", i);
		(void) strbuf_addstr(&sb, "}}");
		is_int(try(sb.buf, sb.len, &jr, &e), 0, "JC_MAX_FILES files");
		job_request_release(&jr);
		sb.len -= 2;
		sb.buf[sb.len] = '\0';
		(void) strbuf_addstr(&sb, ",\"one-more\":\"\"}}");
		st = try(sb.buf, sb.len, &jr, &e);
		is_int(st, 400, "JC_MAX_FILES + 1 files");
		job_request_release(&jr);
		strbuf_reset(&sb);
		(void) strbuf_addstr(&sb, "{\"command\":\"true\",\"files\":{\"a\":\"");
		for (size_t i = 0; i < JC_MAX_FILES_BYTES / 2; i++)
			(void) strbuf_addch(&sb, 'x');
		(void) strbuf_addstr(&sb, "\",\"b\":\"");
		for (size_t i = 0; i < JC_MAX_FILES_BYTES / 2 + 1; i++)
			(void) strbuf_addch(&sb, 'x');
		(void) strbuf_addstr(&sb, "\"}}");
		st = try(sb.buf, sb.len, &jr, &e);
		is_int(st, 400, "one byte past JC_MAX_FILES_BYTES in all");
		ok(strstr(e.message, "'files'") != NULL, "names 'files': %s",
		    e.message);
		job_request_release(&jr);
		strbuf_reset(&sb);
		(void) strbuf_addstr(&sb, "{\"command\":\"true\",\"files\":{\"");
		for (int i = 0; i < JC_MAX_FILE_PART + 1; i++)
			(void) strbuf_addch(&sb, 'p');
		(void) strbuf_addstr(&sb, "\":\"\"}}");
		is_int(try(sb.buf, sb.len, &jr, &e), 400, "a path part of 256 bytes");
		job_request_release(&jr);
		strbuf_release(&sb);
	}
	/* The path rules themselves: test_wspath. */

	/* Inputs: at the bound and one past; binary files and inputs reach
	 * the stored spec. */
	{
		struct strbuf sb;

		strbuf_init(&sb, 64 * 1024);
		for (int extra = 0; extra <= 1; extra++) {
			strbuf_reset(&sb);
			(void) strbuf_addstr(&sb,
			    "{\"command\":\"true\",\"inputs\":[");
			for (int i = 0; i < JC_MAX_INPUTS + extra; i++)
				(void) strbuf_addf(&sb,
				    "%s{\"blob\":\"sha256:%064d\","
				    "\"path\":\"p%d\"}",
				    i ? "," : "", i, i);
			(void) strbuf_addstr(&sb, "]}");
			is_int(try(sb.buf, sb.len, &jr, &e), extra ? 400 : 0,
			    "%d inputs", JC_MAX_INPUTS + extra);
			if (extra)
				ok(strstr(e.message, "'inputs'") != NULL,
				    "names 'inputs': %s", e.message);
			job_request_release(&jr);
		}
		strbuf_reset(&sb);
		(void) strbuf_addstr(&sb,
		    "{\"argv\":[\"x\"],\"files\":{\"b\":"
		    "{\"content\":\"AP8=\",\"encoding\":\"base64\"},\"s\":"
		    "{\"content\":\"#!\",\"executable\":true}},\"inputs\":"
		    "[{\"blob\":\"sha256:");
		for (int i = 0; i < 64; i++)
			(void) strbuf_addch(&sb, 'f');
		(void) strbuf_addstr(&sb,
		    "\",\"path\":\"t\",\"format\":\"file\","
		    "\"executable\":true}]}");
		is_int(try(sb.buf, sb.len, &jr, &e), 0, "binary files, inputs");
		is_int((int64_t) jr.files[0].len, 2, "decoded length");
		ok(jr.files[0].binary &&
			(unsigned char) jr.files[0].data[1] == 0xff,
		    "decoded bytes");
		ok(jr.files[1].executable && !jr.files[1].binary, "executable");
		strbuf_reset(&sb);
		is_int(job_request_spec_json(&jr, &sb), 0, "spec json, inputs");
		is_str(sb.buf,
		    "{\"argv\":[\"x\"],\"env\":{},\"files\":{\"b\":"
		    "{\"base64\":\"AP8=\",\"executable\":false},\"s\":{\"base64\":"
		    "\"IyE=\",\"executable\":true}},\"inputs\":[{\"digest\":"
		    "\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
		    "\",\"path\":\"t\",\"format\":\"file\",\"executable\":true}]}",
		    "spec text with binary files and inputs");
		job_request_release(&jr);
		strbuf_release(&sb);
	}

	/* NUL inside the body itself, not escaped. */
	is_int(try("{\"command\":\"a\0b\"}", 17, &jr, &e), 400, "raw NUL");
	job_request_release(&jr);

	/* Exactly at and one past the stdin cap. */
	n = JC_MAX_STDIN_BYTES;
	big = malloc(n + 64);
	if (!big)
		return 1;
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t len = 0;

		len += (size_t) snprintf(big, 64, "{\"command\":\"cat\",\"stdin\":\"");
		memset(big + len, 'x', n + extra);
		len += n + extra;
		memcpy(big + len, "\"}", 2);
		len += 2;
		is_int(try(big, len, &jr, &e), extra ? 400 : 0,
		    "stdin of %zu bytes", n + extra);
		if (!extra)
			is_int((int64_t) jr.stdin_len, (int64_t) n, "stdin kept");
		job_request_release(&jr);
	}
	free(big);

	/* Images: at the length cap and one past; the allowed list; the
	 * configured default; the spec carries the image. */
	big = malloc(JC_MAX_IMAGE_BYTES + 128);
	if (!big)
		return 1;
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t len = (size_t) snprintf(big, 64, "{\"argv\":[\"x\"],"
		    "\"sandbox\":\"docker\",\"image\":\"");

		memset(big + len, 'a', JC_MAX_IMAGE_BYTES + extra);
		len += JC_MAX_IMAGE_BYTES + extra;
		memcpy(big + len, "\"}", 2);
		len += 2;
		is_int(try(big, len, &jr, &e), extra ? 400 : 0,
		    "image of %zu bytes", JC_MAX_IMAGE_BYTES + extra);
		job_request_release(&jr);
	}
	free(big);
	(void) str_copy(lim.docker_images, sizeof(lim.docker_images),
	    "debian:12, alpine:3.20 busybox");
	(void) str_copy(lim.docker_image, sizeof(lim.docker_image), "busybox");
	{
		static const struct { const char *img; int st; } imgs[] = {
			{ "debian:12", 0 }, { "alpine:3.20", 0 }, { "busybox", 0 },
			{ "debian", 400 }, { "debian:1", 400 }, { "alpine", 400 },
			{ "busybox:latest", 400 },
		};
		for (size_t i = 0; i < ARRAY_SIZE(imgs); i++) {
			char b[256];

			(void) snprintf(b, sizeof(b), "{\"argv\":[\"x\"],"
			    "\"sandbox\":\"docker\",\"image\":\"%s\"}",
			    imgs[i].img);
			/* Parsed; the refusal of an unlisted image waits
			 * for the caller's own images (images_resolve). */
			is_int(try(b, strlen(b), &jr, &e), 0,
			    "allowed list, image '%s' parses", imgs[i].img);
			is_int(jr.image_unlisted, imgs[i].st != 0,
			    "image '%s' is %slisted", imgs[i].img,
			    imgs[i].st ? "not " : "");
			job_request_release(&jr);
		}
	}
	{
		static const char b[] = "{\"argv\":[\"x\"],\"sandbox\":\"docker\"}";
		struct strbuf sb;

		is_int(try(b, strlen(b), &jr, &e), 0, "docker, no image");
		is_str(jr.image, "busybox", "the configured default image");
		strbuf_init(&sb, 4096);
		is_int(job_request_spec_json(&jr, &sb), 0, "docker spec json");
		is_str(sb.buf, "{\"argv\":[\"x\"],\"env\":{},"
		    "\"image\":\"busybox\"}", "docker spec text");
		strbuf_release(&sb);
		job_request_release(&jr);
	}
	{
		static const char b[] = "{\"argv\":[\"x\"]}";

		is_int(try(b, strlen(b), &jr, &e), 0, "no sandbox named");
		is_str(jr.sandbox, "namespace", "the default sandbox");
		job_request_release(&jr);
		(void) str_copy(lim.sandbox, sizeof(lim.sandbox), "docker");
		is_int(try(b, strlen(b), &jr, &e), 0, "no sandbox named");
		is_str(jr.sandbox, "docker", "the configured default sandbox");
		is_str(jr.image, "busybox", "with the default image");
		job_request_release(&jr);
		(void) str_copy(lim.sandbox, sizeof(lim.sandbox), "namespace");
	}
	{
		static const char b[] = "{\"argv\":[\"x\"],\"sandbox\":"
		    "\"docker\",\"network\":true}";

		lim.network_allowed = true;
		is_int(try(b, strlen(b), &jr, &e), 0,
		    "docker with network where allowed");
		ok(jr.network, "network kept for docker");
		job_request_release(&jr);
		lim.network_allowed = false;
		is_int(try(b, strlen(b), &jr, &e), 400,
		    "docker with network where not allowed");
		job_request_release(&jr);
	}
	return done_testing();
}
