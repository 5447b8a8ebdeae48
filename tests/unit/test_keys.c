/* test_keys.c - key shape, parsing of hostile keys, hashing, ids. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "keys.h"
#include "tap.h"

int
main(void)
{
	static const struct { const char *in; int r; } rows[] = {
		{ "", -EINVAL },
		{ "0123456789abcdef", -EINVAL },
		{ "0123456789abcdef.", -EINVAL },
		{ "0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0 },
		{ "0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL },
		{ "0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL },
		{ "0123456789ABCDEF.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL },
		{ "0123456789abcdef.AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA", -EINVAL },
		{ "0123456789abcdef.AAAAAAAAAAAAAAAAAAAAA+AAAAAAAAAAAAAAAAAAAAA", -EINVAL },
		{ "0123456789abcdefXAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -EINVAL },
	};
	struct api_key k, k2, parsed;
	unsigned char h1[KEY_HASH_LEN], h2[KEY_HASH_LEN];
	char text[JC_KEY_LEN + 1], small[10], id1[JC_ID_LEN + 1];
	char id2[JC_ID_LEN + 1];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int r = key_parse(rows[i].in, &parsed);

		is_int(r, rows[i].r, "key_parse of row %zu", i);
	}
	is_int(key_generate(&k), 0, "key_generate");
	is_int(key_format(&k, text, sizeof(text)), 0, "key_format");
	is_int((int64_t) strlen(text), JC_KEY_LEN, "key is %d chars", JC_KEY_LEN);
	is_int(key_format(&k, small, sizeof(small)), -E2BIG, "small buffer");
	is_int(key_parse(text, &parsed), 0, "a generated key parses");
	is_str(parsed.id, k.id, "id round-trips");
	is_str(parsed.secret, k.secret, "secret round-trips");
	is_int(key_generate(&k2), 0, "second key");
	ok(strcmp(k.secret, k2.secret) != 0, "two keys differ");
	is_int(key_hash(k.secret, h1), 0, "hash 1");
	is_int(key_hash(k.secret, h2), 0, "hash 1 again");
	ok(key_hash_equal(h1, h2), "same secret, same hash");
	is_int(key_hash(k2.secret, h2), 0, "hash 2");
	ok(!key_hash_equal(h1, h2), "other secret, other hash");
	/* SHA-256("abc") */
	is_int(key_hash("abc", h1), 0, "hash abc");
	ok(h1[0] == 0xba && h1[1] == 0x78 && h1[31] == 0xad,
	    "SHA-256 test vector");
	key_wipe(&k);
	ok(k.secret[0] == '\0' && k.id[0] == '\0', "wipe clears the key");

	is_int(id_generate(id1), 0, "id 1");
	is_int(id_generate(id2), 0, "id 2");
	ok(id_valid(id1) && id_valid(id2), "ids are valid");
	ok(strcmp(id1, id2) != 0, "ids differ");
	ok(strncmp(id1, id2, 7) == 0, "ids made together share a time prefix");
	ok(!id_valid(""), "empty id refused");
	ok(!id_valid("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), "upper case refused");
	ok(!id_valid("0000000000000000000000000"), "25 chars refused");
	ok(!id_valid("000000000000000000000000000"), "27 chars refused");
	ok(!id_valid("00000000000000000000000/.."), "path chars refused");
	return done_testing();
}
