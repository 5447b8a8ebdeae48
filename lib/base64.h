/* base64.h - RFC 4648 base64 (standard alphabet, '=' padding), strict:
 * "files" contents of the job request (DESIGN section 4). Thread-safe. */
#ifndef JOBCELL_BASE64_H
#define JOBCELL_BASE64_H

#include <stddef.h>

/* Decodes the len bytes at in (no whitespace, length a multiple of 4,
 * padding only at the end, unused bits zero) into a new buffer of at most
 * max bytes (NUL-terminated for convenience). 0 with *ret (the caller's to
 * free) and *ret_len; -EINVAL (not strict base64), -E2BIG (over max),
 * -ENOMEM. */
int base64_decode(const char *in, size_t len, size_t max, char **ret,
    size_t *ret_len);
/* Encodes len bytes into out (4 * ceil(len / 3) + 1 bytes, NUL-terminated,
 * the caller's to free): 0 or -ENOMEM. */
int base64_encode(const char *in, size_t len, char **ret);

#endif
