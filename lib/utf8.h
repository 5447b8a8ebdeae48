/* utf8.h - UTF-8 validation and lossy repair (invalid bytes -> U+FFFD). */
#ifndef JOBCELL_UTF8_H
#define JOBCELL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
 * NUL bytes are valid UTF-8; callers that refuse NUL check separately. */
bool utf8_valid(const char *s, size_t len);
/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the byte at s
 * does not start a valid sequence within len. */
size_t utf8_seq_len(const unsigned char *s, size_t len);

#endif
