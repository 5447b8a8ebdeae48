/* fuzz_utf8.c - libFuzzer target: UTF-8 on arbitrary bytes, through the
 * paths log output takes to a client: lib/utf8.c's validator and sequence
 * length, and the JSON writer's lossy string (invalid bytes become U+FFFD)
 * read back by the JSON reader. Properties:
 * - utf8_valid(s) is true exactly when utf8_seq_len walks s to its end;
 * - what jw_strn writes parses as one JSON string whose bytes are valid
 *   UTF-8, equal to the input when the input is valid UTF-8, and otherwise
 *   the input with each invalid byte replaced by U+FFFD. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jc_limits.h"
#include "json_reader.h"
#include "json_writer.h"
#include "strbuf.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN (64 * 1024)

static bool
walks(const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq_len(s + i, len - i)) == 0)
			return false;
		if (n > 4 || n > len - i)
			abort();
		i += n;
	}
	return true;
}

/* The lossy repair spelled out: valid sequences kept, each other byte
 * replaced by U+FFFD. Writes into out (room for 3 * len). */
static size_t
repair(const unsigned char *s, size_t len, unsigned char *out)
{
	size_t i = 0, o = 0, n;

	while (i < len) {
		if ((n = utf8_seq_len(s + i, len - i)) > 0) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf sb;
	struct jw w;
	struct jr_doc *doc = NULL;
	unsigned char *want;
	char *got = NULL;
	size_t got_len = 0, want_len;
	bool valid;

	if (size > MAX_IN)
		return 0;
	valid = utf8_valid((const char *) data, size);
	if (valid != walks(data, size))
		abort();

	strbuf_init(&sb, 6 * MAX_IN + 16);
	jw_init(&w, &sb);
	jw_strn(&w, (const char *) data, size);
	if (jw_finish(&w) != 0)
		abort();
	if (jr_parse(sb.buf, sb.len, 4, &doc) != 0 ||
	    jr_type(doc, jr_root(doc)) != JR_STRING ||
	    jr_bytes_dup(doc, jr_root(doc), 3 * MAX_IN, &got, &got_len) != 0)
		abort();
	if (!utf8_valid(got, got_len))
		abort();
	if (!(want = malloc(3 * size + 1)))
		abort();
	want_len = repair(data, size, want);
	if (valid && (want_len != size || memcmp(want, data, size) != 0))
		abort();
	if (got_len != want_len || memcmp(got, want, want_len) != 0)
		abort();
	free(want);
	free(got);
	jr_free(doc);
	strbuf_release(&sb);
	return 0;
}
