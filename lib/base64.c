/* base64.c - RFC 4648 base64, strict decoding (base64.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "base64.h"
#include "banned.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(const char *in, size_t len, size_t max, char **ret,
    size_t *ret_len)
{
	size_t n = 0, pad = 0;
	char *out;

	if (len % 4 != 0)
		return -EINVAL;
	if (len >= 1 && in[len - 1] == '=')
		pad = len >= 2 && in[len - 2] == '=' ? 2 : 1;
	if (len / 4 * 3 - pad > max)
		return -E2BIG;
	if (!(out = malloc(len / 4 * 3 + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		bool last = i + 4 == len;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char) in[i + k];

			if (c == '=' && last && k >= 4 - (int) pad)
				v[k] = 0;
			else if ((v[k] = value(c)) < 0)
				goto bad;
		}
		uint32_t w = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 |
		    (uint32_t) v[2] << 6 | (uint32_t) v[3];

		if (last &&
		    ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff))))
			goto bad; /* non-canonical: unused bits set */
		out[n++] = (char) (w >> 16);
		if (!(last && pad == 2))
			out[n++] = (char) (w >> 8);
		if (!(last && pad >= 1))
			out[n++] = (char) w;
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

int
base64_encode(const char *in, size_t len, char **ret)
{
	const unsigned char *s = (const unsigned char *) in;
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t w = (uint32_t) s[i] << 16;

		if (i + 1 < len)
			w |= (uint32_t) s[i + 1] << 8;
		if (i + 2 < len)
			w |= s[i + 2];
		*p++ = alphabet[w >> 18 & 63];
		*p++ = alphabet[w >> 12 & 63];
		*p++ = i + 1 < len ? alphabet[w >> 6 & 63] : '=';
		*p++ = i + 2 < len ? alphabet[w & 63] : '=';
	}
	*p = '\0';
	*ret = out;
	return 0;
}
