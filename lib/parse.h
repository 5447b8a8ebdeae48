/* parse.h - strict parsing of numbers and bounded string copies. */
#ifndef JOBCELL_PARSE_H
#define JOBCELL_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Whole string, base 10, optional leading '-'; no spaces, no '+'.
 * -EINVAL if not a number, -ERANGE outside [min, max]. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* The same for an unsigned value: no sign at all; max at most INT64_MAX. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* Copies src into dst[size]; -E2BIG (dst holds a truncated copy) if it does
 * not fit. */
int str_copy(char *dst, size_t size, const char *src);
/* 1 if s looks like a docker image reference: 1..JC_MAX_IMAGE_BYTES bytes
 * of [A-Za-z0-9._/:@-], starting with a lowercase letter or a digit
 * ("debian:12", "registry.local:5000/team/tool@sha256:..."). The daemon
 * has the last word; this keeps anything else out of requests and logs. */
int image_ref_ok(const char *s);
/* 1 if s starts with prefix. */
int str_startswith(const char *s, const char *prefix);

#endif
