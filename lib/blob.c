/* blob.c - blob names, paths and the streaming SHA-256 of blob.h. Used by
 * jobcell-api (uploads) and the garbage collector; trusts nothing it is
 * handed: every name is checked before it becomes a path. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "blob.h"
#include "cleanup.h"
#include "banned.h"

int
blob_hex_check(const char *hex)
{
	size_t i;

	if (!hex)
		return -EINVAL;
	for (i = 0; i < BLOB_HEX_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
			(hex[i] >= 'a' && hex[i] <= 'f')))
			return -EINVAL;
	return hex[i] == '\0' ? 0 : -EINVAL;
}

int
blob_digest_parse(const char *digest, char ret_hex[BLOB_HEX_LEN + 1])
{
	size_t plen = strlen(BLOB_DIGEST_PREFIX);

	if (!digest || strncmp(digest, BLOB_DIGEST_PREFIX, plen) != 0 ||
	    blob_hex_check(digest + plen) < 0)
		return -EINVAL;
	memcpy(ret_hex, digest + plen, BLOB_HEX_LEN + 1);
	return 0;
}

static void
cleanup_mdp(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p);
}

void
blob_hex(const unsigned char md[32], char ret_hex[BLOB_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < 32; i++) {
		ret_hex[2 * i] = digits[md[i] >> 4];
		ret_hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	ret_hex[BLOB_HEX_LEN] = '\0';
}

int
blob_sha256_fd(int fd, char ret_hex[BLOB_HEX_LEN + 1], int64_t *ret_size)
{
	__attribute__((cleanup(cleanup_mdp))) EVP_MD_CTX *md = NULL;
	_cleanup_free_ unsigned char *buf = NULL;
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int outlen = 0;
	int64_t total = 0;

	/* The kernel reads ahead more eagerly for a sequential reader. */
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (!(buf = malloc(BLOB_HASH_BUF_BYTES)) || !(md = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		return -EIO;
	for (;;) {
		ssize_t n = pread(fd, buf, BLOB_HASH_BUF_BYTES, (off_t) total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if (EVP_DigestUpdate(md, buf, (size_t) n) != 1)
			return -EIO;
		total += n;
	}
	if (EVP_DigestFinal_ex(md, out, &outlen) != 1 || outlen != 32)
		return -EIO;
	blob_hex(out, ret_hex);
	if (ret_size)
		*ret_size = total;
	return 0;
}

int
blob_path(const char *data_dir, int64_t consumer_id, const char *hex, char *buf,
    size_t size)
{
	int n;

	if (!data_dir || !*data_dir || consumer_id < 1 ||
	    (hex && blob_hex_check(hex) < 0))
		return -EINVAL;
	if (hex)
		n = snprintf(buf, size, "%s/blobs/%" PRId64 "/%s", data_dir,
		    consumer_id, hex);
	else
		n = snprintf(buf, size, "%s/blobs/%" PRId64, data_dir,
		    consumer_id);
	if (n < 0 || (size_t) n >= size)
		return -E2BIG;
	return 0;
}

int
blob_path_in_dir(const char *dir, const char *path)
{
	size_t dlen;
	const char *name;

	if (!dir || !path || !*dir)
		return -EINVAL;
	dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (strncmp(path, dir, dlen) != 0 || path[dlen] != '/')
		return -EINVAL;
	name = path + dlen + 1;
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}
