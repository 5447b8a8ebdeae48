/* test_base64.c - lib/base64.c: strict RFC 4648 decoding, encoding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cleanup.h"
#include "tap.h"
#include "banned.h"

int
main(void)
{
	static const struct {
		const char *in;
		int r;
		const char *out;
		size_t len;
	} rows[] = {
		{ "", 0, "", 0 }, { "Zg==", 0, "f", 1 }, { "Zm8=", 0, "fo", 2 },
		{ "Zm9v", 0, "foo", 3 }, { "Zm9vYmFy", 0, "foobar", 6 },
		{ "AP8=", 0, "\0\377", 2 }, { "+/+/", 0, "\373\377\277", 3 },
		{ "Zg=", -EINVAL, NULL, 0 }, /* length */
		{ "Zg", -EINVAL, NULL, 0 },
		{ "Zh==", -EINVAL, NULL, 0 }, /* unused bits set */
		{ "Zm9=", -EINVAL, NULL, 0 }, { "Z===", -EINVAL, NULL, 0 },
		{ "====", -EINVAL, NULL, 0 },
		{ "Zg==Zg==", -EINVAL, NULL, 0 }, /* padding inside */
		{ "Zm 9", -EINVAL, NULL, 0 },	  /* whitespace */
		{ "Zm9v\n", -EINVAL, NULL, 0 },
		{ "Zm-_", -EINVAL, NULL, 0 }, /* base64url */
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *out = NULL;
		size_t len = 0;
		int r = base64_decode(rows[i].in, strlen(rows[i].in), 100, &out,
		    &len);

		is_int(r, rows[i].r, "decode '%s'", rows[i].in);
		if (r == 0) {
			is_int((int64_t) len, (int64_t) rows[i].len,
			    "length of '%s'", rows[i].in);
			ok(memcmp(out, rows[i].out, len) == 0, "bytes of '%s'",
			    rows[i].in);
		}
		free(out);
	}
	{
		char *out = NULL, *back = NULL;
		size_t len;

		is_int(base64_decode("Zm9vYmFy", 8, 5, &out, &len), -E2BIG,
		    "over max");
		is_int(base64_decode("Zm9vYmFy", 8, 6, &out, &len), 0,
		    "at max");
		is_int(base64_encode(out, len, &back), 0, "encode");
		is_str(back, "Zm9vYmFy", "round trip");
		free(out);
		free(back);
		is_int(base64_encode("\0\377", 2, &back), 0, "encode binary");
		is_str(back, "AP8=", "binary with padding");
		free(back);
	}
	done_testing();
}
