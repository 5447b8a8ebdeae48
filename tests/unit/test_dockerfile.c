/* test_dockerfile.c - lib/dockerfile.c: the FROM and --from= references of
 * a Dockerfile, continuations, comments, stages, refusals, the rewrite. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "dockerfile.h"
#include "tap.h"
#include "banned.h"

int
main(void)
{
	/* refs: the references found, space-separated, a stage marked '*' */
	static const struct {
		const char *text;
		int r;
		const char *refs;
	} rows[] = {
		{ "FROM busybox\nRUN true\n", 0, "busybox" },
		{ "from busybox:1 as b\nFROM b\n", 0, "busybox:1 *b" },
		{ "FROM --platform=linux/amd64 x:1 AS build\nFROM y\n"
		  "COPY --from=build /a /b\nCOPY --from=0 /a /b\n"
		  "COPY --chown=1 --from=z:2 /a /b\n",
		    0, "x:1 y *build *0 z:2" },
		{ "FROM \\\n  busybox\n", 0, "busybox" },
		{ "RUN echo a \\\n# a comment\n  FROM nope\nFROM x\n", 0, "x" },
		{ "# syntax=docker/dockerfile:1\n\n  # c\nFROM x\r\n", 0, "x" },
		{ "FROM x AS a\nFROM a AS b\nCOPY --from=b / /\nCOPY --from=1 "
		  "/ /\nCOPY --from=2 / /\n",
		    0, "x *a *b *1 2" },
		{ "FROM jobcell/7/t:1\n", 0, "jobcell/7/t:1" },
		{ "", -EINVAL, NULL },
		{ "RUN true\n", -EINVAL, NULL },
		{ "FROM\n", -EINVAL, NULL },
		{ "FROM --platform=x\n", -EINVAL, NULL },
		{ "ARG B=busybox\nFROM $B\n", -EINVAL, NULL },
		{ "FROM x\nCOPY --from=${S} / /\n", -EINVAL, NULL },
		{ "FROM x;rm\n", -EINVAL, NULL },
	};
	struct dockerfile df;
	char msg[256];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char got[512] = "";
		size_t n = 0;
		int r = dockerfile_parse(rows[i].text, strlen(rows[i].text),
		    &df, msg, sizeof(msg));

		is_int(r, rows[i].r, "row %zu: result (%s)", i,
		    r < 0 ? msg : "ok");
		if (r < 0 || !rows[i].refs)
			continue;
		for (size_t k = 0; k < df.nrefs; k++) {
			int w = snprintf(got + n, sizeof(got) - n, "%s%s%s",
			    k ? " " : "", df.refs[k].stage ? "*" : "",
			    df.refs[k].image);
			if (w > 0)
				n += (size_t) w;
		}
		is_str(got, rows[i].refs, "row %zu: references", i);
	}
	/* A variable is refused with a sentence naming it. */
	is_int(dockerfile_parse("FROM $B\n", 8, &df, msg, sizeof(msg)), -EINVAL,
	    "a variable");
	ok(strstr(msg, "'$B'") && strstr(msg, "line 1"), "named: %s", msg);
	is_int(dockerfile_parse("\n\nRUN a \\\n b\nFROM $B\n", 20, &df, msg,
		   sizeof(msg)),
	    -EINVAL, "a variable on line 5");
	ok(strstr(msg, "line 5") != NULL, "line counted: %s", msg);
	ok(dockerfile_parse("FROM x\0", 7, &df, msg, sizeof(msg)) == -EINVAL,
	    "a NUL byte");

	/* The rewrite replaces exactly the references asked. */
	{
		const char *t = "FROM mine:1 AS b\nFROM busybox\n"
				"COPY --from=mine:1 / /\nCOPY --from=b / /\n";
		const char *repl[DOCKERFILE_MAX_REFS] = { 0 };
		_cleanup_strbuf_ struct strbuf out;

		strbuf_init(&out, 4096);
		is_int(dockerfile_parse(t, strlen(t), &df, msg, sizeof(msg)), 0,
		    "parse for the rewrite");
		repl[0] = "jobcell/3/mine:1";
		repl[2] = "jobcell/3/mine:1";
		is_int(dockerfile_rewrite(t, strlen(t), &df, repl, &out), 0,
		    "rewrite");
		is_str(out.buf,
		    "FROM jobcell/3/mine:1 AS b\nFROM busybox\n"
		    "COPY --from=jobcell/3/mine:1 / /\nCOPY --from=b / /\n",
		    "rewritten text");
	}
	return done_testing();
}
