/* test_blob.c - lib/blob.c: digest names (hostile rows: empty, short, long,
 * uppercase, a NUL, other algorithms), the SHA-256 of real files (empty,
 * one byte, larger than the read buffer: known digests from sha256sum),
 * store paths, and the body-file path check. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "cleanup.h"
#include "io.h"
#include "tap.h"
#include "banned.h"

#define HEX_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define BIG_HEX \
	"2b98b70051781969f52a33c9cd0e8392bb7a634a92a3be4597b25e13feb41ee6"
#define HEX_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void
test_parse(void)
{
	static const struct {
		const char *in;
		int r;
	} rows[] = {
		{ "sha256:" HEX_ABC, 0 },
		{ "sha256:" HEX_EMPTY, 0 },
		{ "", -EINVAL },
		{ "sha256:", -EINVAL },
		{ HEX_ABC, -EINVAL },
		{ "sha512:" HEX_ABC, -EINVAL },
		{ "SHA256:" HEX_ABC, -EINVAL },
		{ "sha256:" HEX_ABC "0", -EINVAL },
		{ "sha256:ba7816bf", -EINVAL },
		{ "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		    -EINVAL },
		{ "sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		    -EINVAL },
		{ "sha256: a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		    -EINVAL },
	};
	char hex[BLOB_HEX_LEN + 1];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int r = blob_digest_parse(rows[i].in, hex);

		is_int(r, rows[i].r, "parse '%s'", rows[i].in);
		if (r == 0)
			is_str(hex, rows[i].in + 7, "hex of '%s'", rows[i].in);
	}
	is_int(blob_digest_parse(NULL, hex), -EINVAL, "parse NULL");
	is_int(blob_hex_check(NULL), -EINVAL, "hex NULL");
}

/* A file of content, at offset 0. */
static int
file_with(const void *data, size_t len, size_t repeat)
{
	char path[] = "/tmp/test_blob.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	if (fd < 0)
		return -1;
	(void) unlink(path);
	for (size_t i = 0; i < repeat; i++)
		if (write_full(fd, data, len) < 0)
			return -1;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	return fd;
}

static void
test_hash(void)
{
	char hex[BLOB_HEX_LEN + 1];
	int64_t size = -1;
	_cleanup_free_ char *mib = NULL;
	int fd;

	fd = file_with("", 0, 0);
	is_int(blob_sha256_fd(fd, hex, &size), 0, "hash empty");
	is_str(hex, HEX_EMPTY, "empty digest");
	is_int(size, 0, "empty size");
	close(fd);
	fd = file_with("abc", 3, 1);
	is_int(blob_sha256_fd(fd, hex, &size), 0, "hash abc");
	is_str(hex, HEX_ABC, "abc digest");
	is_int(size, 3, "abc size");
	close(fd);
	/* 3 MiB + 1 of 'a': crosses the 1 MiB buffer several times; the
	 * digest is `head -c 3145729 /dev/zero | tr '\0' a | sha256sum`. */
	mib = malloc(1024 * 1024);
	ok(mib != NULL, "buffer");
	if (!mib)
		return;
	memset(mib, 'a', 1024 * 1024);
	fd = file_with(mib, 1024 * 1024, 3);
	ok(fd >= 0 && lseek(fd, 0, SEEK_END) == 3 * 1024 * 1024 &&
		write_full(fd, "a", 1) == 0 && lseek(fd, 0, SEEK_SET) == 0,
	    "big file");
	is_int(blob_sha256_fd(fd, hex, &size), 0, "hash big");
	is_int(size, 3 * 1024 * 1024 + 1, "big size");
	is_str(hex, BIG_HEX, "big digest");
	close(fd);
	is_int(blob_sha256_fd(-1, hex, &size), -EBADF, "bad fd");
}

static void
test_paths(void)
{
	char buf[128], small[24];

	is_int(blob_path("/d", 7, HEX_ABC, buf, sizeof(buf)), 0, "path");
	is_str(buf, "/d/blobs/7/" HEX_ABC, "path value");
	is_int(blob_path("/d", 7, NULL, buf, sizeof(buf)), 0, "dir");
	is_str(buf, "/d/blobs/7", "dir value");
	is_int(blob_path("/d", 0, NULL, buf, sizeof(buf)), -EINVAL, "id 0");
	is_int(blob_path("", 1, NULL, buf, sizeof(buf)), -EINVAL, "no dir");
	is_int(blob_path("/d", 1, "../x", buf, sizeof(buf)), -EINVAL,
	    "bad hex");
	is_int(blob_path("/d", 1, HEX_ABC, small, sizeof(small)), -E2BIG,
	    "too long");

	static const struct {
		const char *dir, *path;
		int r;
	} rows[] = {
		{ "/d/uploads", "/d/uploads/0000000001", 0 },
		{ "/d/uploads/", "/d/uploads/0000000001", 0 },
		{ "/d/uploads", "/d/uploads", -EINVAL },
		{ "/d/uploads", "/d/uploads/", -EINVAL },
		{ "/d/uploads", "/d/uploads/..", -EINVAL },
		{ "/d/uploads", "/d/uploads/.", -EINVAL },
		{ "/d/uploads", "/d/uploads/a/b", -EINVAL },
		{ "/d/uploads", "/d/uploads/../etc/x", -EINVAL },
		{ "/d/uploads", "/d/uploadsx/1", -EINVAL },
		{ "/d/uploads", "/etc/shadow", -EINVAL },
		{ "/d/uploads", "", -EINVAL },
		{ "", "/1", -EINVAL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		is_int(blob_path_in_dir(rows[i].dir, rows[i].path), rows[i].r,
		    "in dir '%s': '%s'", rows[i].dir, rows[i].path);
}

int
main(void)
{
	test_parse();
	test_hash();
	test_paths();
	done_testing();
}
