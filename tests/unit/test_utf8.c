/* test_utf8.c - unit tests for lib/utf8.c against the RFC 3629 table:
 * boundaries of every sequence length, overlongs, surrogates, > U+10FFFF,
 * truncated sequences, stray continuation bytes, NUL. */
#include <stdbool.h>
#include <string.h>

#include "cleanup.h"
#include "tap.h"
#include "utf8.h"
#include "banned.h"

#define ROW(s, valid, first) { s, sizeof(s) - 1, valid, first }

static void
test_rows(void)
{
	static const struct {
		const char *in;
		size_t len;
		bool valid;
		size_t first;	/* utf8_seq_len at offset 0 */
	} rows[] = {
		ROW("", true, 0),
		ROW("a", true, 1),
		ROW("\0", true, 1),			/* NUL is valid UTF-8 */
		ROW("a\0b", true, 1),
		ROW("\x7f", true, 1),
		ROW("\xc2\x80", true, 2),		/* U+0080 */
		ROW("\xdf\xbf", true, 2),		/* U+07FF */
		ROW("\xc0\x80", false, 0),		/* overlong NUL */
		ROW("\xc1\xbf", false, 0),		/* overlong */
		ROW("\xe0\x80\x80", false, 0),		/* overlong */
		ROW("\xe0\x9f\xbf", false, 0),		/* overlong U+07FF */
		ROW("\xe0\xa0\x80", true, 3),		/* U+0800 */
		ROW("\xe2\x82\xac", true, 3),		/* euro sign */
		ROW("\xed\x9f\xbf", true, 3),		/* U+D7FF */
		ROW("\xed\xa0\x80", false, 0),		/* U+D800 surrogate */
		ROW("\xed\xbf\xbf", false, 0),		/* U+DFFF surrogate */
		ROW("\xed\xa0\xbd\xed\xb8\x80", false, 0),	/* CESU pair */
		ROW("\xee\x80\x80", true, 3),		/* U+E000 */
		ROW("\xef\xbf\xbf", true, 3),		/* U+FFFF */
		ROW("\xf0\x80\x80\x80", false, 0),	/* overlong */
		ROW("\xf0\x8f\xbf\xbf", false, 0),	/* overlong U+FFFF */
		ROW("\xf0\x90\x80\x80", true, 4),	/* U+10000 */
		ROW("\xf0\x9f\x98\x80", true, 4),	/* emoji */
		ROW("\xf4\x8f\xbf\xbf", true, 4),	/* U+10FFFF */
		ROW("\xf4\x90\x80\x80", false, 0),	/* U+110000 */
		ROW("\xf5\x80\x80\x80", false, 0),
		ROW("\xf8\x88\x80\x80\x80", false, 0),	/* 5-byte form */
		ROW("\xfe", false, 0),
		ROW("\xff", false, 0),
		ROW("\x80", false, 0),			/* lone continuation */
		ROW("\xbf", false, 0),
		ROW("\xc2", false, 0),			/* truncated */
		ROW("\xe2\x82", false, 0),		/* truncated */
		ROW("\xf0\x9f\x98", false, 0),		/* truncated */
		ROW("\xc2\x41", false, 0),		/* bad continuation */
		ROW("\xe2\x28\xa1", false, 0),
		ROW("\xf0\x9f\x98\x41", false, 0),
		ROW("ok\xe2\x82", false, 1),		/* truncated at the end */
		ROW("\xe2\x82\xac\x80", false, 3),	/* stray after valid */
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		ok(utf8_valid(rows[i].in, rows[i].len) == rows[i].valid,
		    "row %zu: utf8_valid is %s", i,
		    rows[i].valid ? "true" : "false");
		is_int((int64_t) utf8_seq_len((const unsigned char *) rows[i].in,
		    rows[i].len), (int64_t) rows[i].first,
		    "row %zu: utf8_seq_len", i);
	}
}

static void
test_bounds(void)
{
	const unsigned char euro[] = { 0xe2, 0x82, 0xac };

	/* len limits the read even if more bytes are there */
	is_int((int64_t) utf8_seq_len(euro, 2), 0, "len cuts a sequence");
	is_int((int64_t) utf8_seq_len(euro, 3), 3, "len covers it");
	ok(utf8_valid(NULL, 0), "NULL with length 0");
	ok(!utf8_valid((const char *) euro, 2), "valid prefix, cut by len");
}

/* Every code point U+0000..U+10FFFF except surrogates, encoded by hand,
 * must validate; every surrogate must not. */
static void
test_all_code_points(void)
{
	unsigned bad = 0;

	for (unsigned cp = 0; cp <= 0x10ffff; cp++) {
		unsigned char b[4];
		size_t n;
		bool want = cp < 0xd800 || cp > 0xdfff;

		if (cp < 0x80) {
			b[0] = (unsigned char) cp;
			n = 1;
		} else if (cp < 0x800) {
			b[0] = (unsigned char) (0xc0 | cp >> 6);
			b[1] = (unsigned char) (0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			b[0] = (unsigned char) (0xe0 | cp >> 12);
			b[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
			b[2] = (unsigned char) (0x80 | (cp & 0x3f));
			n = 3;
		} else {
			b[0] = (unsigned char) (0xf0 | cp >> 18);
			b[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
			b[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
			b[3] = (unsigned char) (0x80 | (cp & 0x3f));
			n = 4;
		}
		if (utf8_valid((const char *) b, n) != want ||
		    utf8_seq_len(b, n) != (want ? n : 0))
			bad++;
	}
	is_int(bad, 0, "all code points: surrogates refused, others accepted");
}

int
main(void)
{
	test_rows();
	test_bounds();
	test_all_code_points();
	return done_testing();
}
