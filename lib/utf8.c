/* utf8.c - UTF-8 validation by the RFC 3629 table (no overlongs, no
 * surrogates, nothing above U+10FFFF). Pure functions used by every program;
 * they trust nothing about the bytes, only that len bytes are readable. */
#include <stdbool.h>
#include <stddef.h>

#include "utf8.h"
#include "banned.h"

/* The second byte's range depends on the lead byte (RFC 3629 section 4):
 * E0 and F0 exclude overlongs, ED excludes surrogates, F4 caps U+10FFFF. */
size_t
utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;	/* continuation byte, C0/C1 overlong, F5..FF */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (len < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t i = 0;

	while (i < len) {
		size_t n;

		if (p[i] < 0x80) {	/* fast path for ASCII */
			i++;
			continue;
		}
		if ((n = utf8_seq_len(p + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}
