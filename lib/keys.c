/* keys.c - API key and job id generation, SHA-256 hashing, constant-time
 * comparison. Used by jobcell-admin (create, rotate) and jobcell-api (auth,
 * ids). Trusts nothing it is handed: key_parse checks the exact shape. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "keys.h"
#include "timefmt.h"
#include "banned.h"

static const char hex_digits[] = "0123456789abcdef";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char id_digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static int
random_fill(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

int
key_generate(struct api_key *k)
{
	unsigned char id[JC_KEY_ID_LEN / 2], secret[32];
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0, r;

	if ((r = random_fill(id, sizeof(id))) < 0)
		return r;
	if ((r = random_fill(secret, sizeof(secret))) < 0)
		return r;
	for (size_t i = 0; i < sizeof(id); i++) {
		k->id[2 * i] = hex_digits[id[i] >> 4];
		k->id[2 * i + 1] = hex_digits[id[i] & 15];
	}
	k->id[JC_KEY_ID_LEN] = '\0';
	/* base64url without padding: 32 bytes -> 43 characters */
	for (size_t i = 0; i < sizeof(secret); i++) {
		acc = (acc << 8) | secret[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			k->secret[o++] = b64url[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		k->secret[o++] = b64url[(acc << (6 - bits)) & 63];
	k->secret[o] = '\0';
	explicit_bzero(secret, sizeof(secret));
	return o == JC_KEY_SECRET_LEN ? 0 : -EINVAL;
}

int
key_format(const struct api_key *k, char *buf, size_t size)
{
	if (size < JC_KEY_LEN + 1)
		return -E2BIG;
	memcpy(buf, k->id, JC_KEY_ID_LEN);
	buf[JC_KEY_ID_LEN] = '.';
	memcpy(buf + JC_KEY_ID_LEN + 1, k->secret, JC_KEY_SECRET_LEN);
	buf[JC_KEY_LEN] = '\0';
	return 0;
}

int
key_parse(const char *s, struct api_key *ret)
{
	size_t len = strnlen(s, JC_KEY_LEN + 1);

	if (len != JC_KEY_LEN || s[JC_KEY_ID_LEN] != '.')
		return -EINVAL;
	for (size_t i = 0; i < JC_KEY_ID_LEN; i++)
		if (!memchr(hex_digits, s[i], 16))
			return -EINVAL;
	for (size_t i = JC_KEY_ID_LEN + 1; i < JC_KEY_LEN; i++)
		if (s[i] == '\0' || !memchr(b64url, s[i], 64))
			return -EINVAL;
	memcpy(ret->id, s, JC_KEY_ID_LEN);
	ret->id[JC_KEY_ID_LEN] = '\0';
	memcpy(ret->secret, s + JC_KEY_ID_LEN + 1, JC_KEY_SECRET_LEN);
	ret->secret[JC_KEY_SECRET_LEN] = '\0';
	return 0;
}

int
key_hash(const char *secret, unsigned char ret_hash[KEY_HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(secret, strlen(secret), ret_hash, &n, EVP_sha256(),
	    NULL) != 1 || n != KEY_HASH_LEN)
		return -EIO;
	return 0;
}

bool
key_hash_equal(const unsigned char a[KEY_HASH_LEN],
    const unsigned char b[KEY_HASH_LEN])
{
	return CRYPTO_memcmp(a, b, KEY_HASH_LEN) == 0;
}

void
key_wipe(struct api_key *k)
{
	explicit_bzero(k, sizeof(*k));
}

int
id_generate(char ret_id[JC_ID_LEN + 1])
{
	unsigned char rnd[10];
	uint64_t ms = (uint64_t) time_now_ms();
	int r;

	if ((r = random_fill(rnd, sizeof(rnd))) < 0)
		return r;
	/* 10 base-36 digits of time (enough until the year 5138), then 16 of
	 * randomness (80 bits = 16 * 5 bits, each digit drawn from 5 bits of
	 * the random bytes, so ids stay uniform within a millisecond). */
	for (int i = 9; i >= 0; i--) {
		ret_id[i] = id_digits[ms % 36];
		ms /= 36;
	}
	for (int i = 0; i < 16; i++) {
		int bit = i * 5;
		unsigned v = (unsigned) ((rnd[bit / 8] |
		    (bit / 8 + 1 < 10 ? rnd[bit / 8 + 1] << 8 : 0)) >>
		    (bit % 8)) & 31;

		ret_id[10 + i] = id_digits[v];
	}
	ret_id[JC_ID_LEN] = '\0';
	return 0;
}

bool
id_valid(const char *s)
{
	size_t len = strnlen(s, JC_ID_LEN + 1);

	if (len != JC_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	return true;
}
