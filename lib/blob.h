/* blob.h - content-addressed blobs (issue 13): the "sha256:<hex>" names of
 * the API, a streaming SHA-256 of a file, and where a blob lives under
 * [storage] data_dir (DATA/blobs/<consumer id>/<hex>). Pure except
 * blob_sha256_fd, which reads the fd it is given; thread-safe. */
#ifndef JOBCELL_BLOB_H
#define JOBCELL_BLOB_H

#include <stddef.h>
#include <stdint.h>

#define BLOB_HEX_LEN 64
#define BLOB_DIGEST_PREFIX "sha256:"
/* The read buffer of blob_sha256_fd: what hashing any size costs. */
#define BLOB_HASH_BUF_BYTES (1024u * 1024)

/* 0 if hex is exactly 64 lowercase hex digits, else -EINVAL. */
int blob_hex_check(const char *hex);
/* "sha256:<64 lowercase hex>" -> ret_hex; -EINVAL for anything else. */
int blob_digest_parse(const char *digest, char ret_hex[BLOB_HEX_LEN + 1]);
/* md, a 32-byte SHA-256, as 64 lowercase hex digits and a NUL. */
void blob_hex(const unsigned char md[32], char ret_hex[BLOB_HEX_LEN + 1]);
/* Reads fd from offset 0 to its end (pread: fd's own offset does not
 * move) through one heap buffer of BLOB_HASH_BUF_BYTES (so any size costs
 * the same memory) and writes the lowercase hex SHA-256 and the byte
 * count (ret_size may be NULL). 0, -ENOMEM, -EIO (libcrypto), or -errno
 * from pread(2). The one hashing loop of the server, the worker and the
 * CLI. */
int blob_sha256_fd(int fd, char ret_hex[BLOB_HEX_LEN + 1], int64_t *ret_size);
/* "DATA/blobs/<consumer_id>" (dir) or ".../<hex>" (hex != NULL) into
 * buf[size]; -E2BIG if it does not fit, -EINVAL on a bad id or hex. */
int blob_path(const char *data_dir, int64_t consumer_id, const char *hex,
    char *buf, size_t size);
/* 0 if path names a file directly inside dir ("dir/name", name without
 * '/', not "." or ".."), else -EINVAL. For the body file path nginx
 * passes: it must be in DATA/uploads and nowhere else. */
int blob_path_in_dir(const char *dir, const char *path);

#endif
