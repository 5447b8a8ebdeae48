/* keys.h - API keys and ids: random generation (getrandom), SHA-256
 * hashing (libcrypto) and constant-time comparison.
 * A key is "<key id>.<secret>": 16 hex chars (64 bits, the lookup handle)
 * and 43 base64url chars (256 bits). Only SHA-256(secret) is stored. */
#ifndef JOBCELL_KEYS_H
#define JOBCELL_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "jc_limits.h"

#define KEY_HASH_LEN 32

struct api_key {
	char id[JC_KEY_ID_LEN + 1];
	char secret[JC_KEY_SECRET_LEN + 1];
};

/* Fills k with fresh random material. 0 or -errno. */
int key_generate(struct api_key *k);
/* Formats "<id>.<secret>" into buf[size] (>= JC_KEY_LEN + 1). */
int key_format(const struct api_key *k, char *buf, size_t size);
/* Splits a presented key; -EINVAL if it is not exactly the key shape. */
int key_parse(const char *s, struct api_key *ret);
/* SHA-256 of the secret. 0 or -EIO. */
int key_hash(const char *secret, unsigned char ret_hash[KEY_HASH_LEN]);
/* Constant-time equality of two hashes. */
bool key_hash_equal(const unsigned char a[KEY_HASH_LEN],
    const unsigned char b[KEY_HASH_LEN]);
/* Wipes k (explicit_bzero). */
void key_wipe(struct api_key *k);

/* A job id: 26 chars of [0-9a-z], 48-bit millisecond time then 80 random
 * bits, so ids sort by creation time and cannot be guessed. */
int id_generate(char ret_id[JC_ID_LEN + 1]);
/* True if s looks like an id we could have made (charset and length). */
bool id_valid(const char *s);

#endif
