/* artifacts.c - collects a job's artifacts (see artifacts.h), in a
 * jobcell-worker process once the job's cell has ended. Trusts nothing
 * in the workspace: the job wrote it and may have planted symlinks (to
 * /etc/passwd, the database, /proc/self/environ), FIFOs, devices, deep or
 * huge trees, names with any bytes.
 *
 * How it works: a depth-first walk from the workspace's directory fd.
 * Each directory is read whole (bounded), its names sorted (so the caps
 * cut the same files every time), and each entry is looked at with
 * fstatat(AT_SYMLINK_NOFOLLOW): only directories some pattern may reach
 * below are entered, only regular files whose path matches are taken.
 * Both are opened by name under their parent's fd with openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, through
 * wspath_open_name), files also O_NOFOLLOW | O_NONBLOCK, and fstat must
 * say S_ISREG after the open: a link or a FIFO put there in between is
 * never read (the job is dead by then; this is defence in depth). Each
 * file is copied into the store with its sha256 (copy_hash), then synced
 * before its row is committed.
 *
 * Why a copy and not a rename: the workspace is its own file system (a
 * loop-mounted ext4 image of the job's) and the store is the data
 * directory's; rename(2) and link(2) across file systems are EXDEV, and
 * since Linux 5.19 so is copy_file_range(2) between two file systems,
 * unless their type implements it across instances (NFS, CIFS, FUSE; not
 * ext4: both are ext4 here), so the bytes are read (and hashed on the
 * way: the digest costs no second read) and written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "artifacts.h"
#include "blob.h"
#include "cleanup.h"
#include "io.h"
#include "utf8.h"
#include "wspath.h"
#include "banned.h"

#define COPY_CHUNK (64u * 1024 * 1024) /* per copy_file_range call */
#define HASH_BUF (1024u * 1024)	       /* read (and hash) at once */

struct walk {
	const struct artifacts_spec *spec;
	int out_fd;
	struct artifact_set *set;
	size_t cap;	/* of set->v */
	size_t entries; /* names looked at */
	char *buf;	/* HASH_BUF bytes */
	char path[WSPATH_MAX + 1];
};

void
artifact_set_release(struct artifact_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void
md_freep(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p); /* NULL is a no-op */
}

/* Copies size bytes of in (at offset 0) to out with its sha256. Where
 * copy_file_range(2) works the kernel copies (or shares the blocks: a
 * reflink) and the copy is read back for the digest, from the page
 * cache; where it does not (EXDEV between two ext4 file systems, Linux
 * 5.19 on: the workspace image and the store), one pass of read, hash,
 * write. 0 with *ret_size (what was copied: size, unless the
 * file was shorter), or -errno. */
static int
copy_hash(const struct artifacts_spec *spec, int in, int out, uint64_t size,
    char *buf, char hex[65], uint64_t *ret_size)
{
	_cleanup_(md_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char dig[32];
	unsigned int dlen = 0;
	uint64_t done = 0;
	bool plain = false; /* read/write: copy_file_range cannot */

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	(void) posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (done < size) {
		size_t want = size - done > COPY_CHUNK ? COPY_CHUNK :
							 (size_t) (size - done);
		ssize_t n;

		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, want, 0);
			/* EXDEV across file systems; EINVAL or EOPNOTSUPP
			 * where a file system cannot; ENOSYS where a seccomp
			 * profile hides it. */
			if (n < 0 && done == 0 &&
			    (errno == EXDEV || errno == EINVAL ||
				errno == EOPNOTSUPP || errno == ENOSYS)) {
				plain = true;
				continue;
			}
		} else {
			if (want > HASH_BUF)
				want = HASH_BUF;
			n = read(in, buf, want);
			if (n > 0) {
				int r = write_full(out, buf, (size_t) n);

				if (r < 0)
					return r;
				if (EVP_DigestUpdate(md, buf, (size_t) n) != 1)
					return -EIO;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* shorter than fstat said: the end */
		if (spec->keepalive &&
		    done / ARTIFACTS_KEEPALIVE_BYTES !=
			(done + (uint64_t) n) / ARTIFACTS_KEEPALIVE_BYTES)
			spec->keepalive(spec->keepalive_arg);
		done += (uint64_t) n;
	}
	/* The kernel copied: the digest of what the store holds. */
	for (uint64_t off = 0; !plain && off < done;) {
		size_t want = done - off > HASH_BUF ? HASH_BUF :
						      (size_t) (done - off);
		ssize_t n = pread(out, buf, want, (off_t) off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (EVP_DigestUpdate(md, buf, (size_t) n) != 1)
			return -EIO;
		off += (uint64_t) n;
	}
	if (EVP_DigestFinal_ex(md, dig, &dlen) != 1 || dlen != sizeof(dig))
		return -EIO;
	/* The row that names the file is committed after this. */
	if (fdatasync(out) < 0)
		return -errno;
	blob_hex(dig, hex);
	*ret_size = done;
	return 0;
}

/* The file name (under parent dfd) at w->path, matched: copies it into
 * the store. 0 (taken or left out), or -errno of the store. */
static int
take_file(struct walk *w, int dfd, const char *name)
{
	struct artifact_set *s = w->set;
	_cleanup_close_ int in = -1, out = -1;
	struct artifact *a;
	struct stat st;
	char file[ARTIFACT_FILE_MAX];
	uint64_t size = 0;
	int r;

	if (s->n >= w->spec->max_files) {
		s->truncated = true;
		return 0;
	}
	/* O_NONBLOCK: a FIFO swapped in opens at once and is refused below
	 * (fifo(7)); O_NOCTTY for a terminal device. */
	in = wspath_open_name(dfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (in < 0)
		return 0; /* a link (ELOOP), gone: not a file to take */
	if (fstat(in, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	if ((uint64_t) st.st_size > w->spec->max_bytes - s->bytes) {
		s->truncated = true;
		return 0;
	}
	if (s->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct artifact *v = reallocarray(s->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		w->cap = cap;
	}
	(void) snprintf(file, sizeof(file), "%zu", s->n + 1);
	if ((out = openat(w->out_fd, file,
		 O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return -errno;
	a = &s->v[s->n];
	memset(a, 0, sizeof(*a));
	if ((r = copy_hash(w->spec, in, out, (uint64_t) st.st_size, w->buf,
		 a->sha256, &size)) < 0)
		goto fail;
	if (!(a->path = strdup(w->path))) {
		r = -ENOMEM;
		goto fail;
	}
	memcpy(a->file, file, sizeof(file));
	a->size = (int64_t) size;
	s->bytes += size;
	s->n++;
	return 0;
fail:
	(void) unlinkat(w->out_fd, file, 0);
	return r;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names of directory dfd, sorted: *ret (n entries, each and the
 * array owned). At most ARTIFACTS_MAX_DIR_ENTRIES (*ret_more past it). */
static int
read_names(int dfd, char ***ret, size_t *ret_n, bool *ret_more)
{
	DIR *d;
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int fd, r = 0;

	*ret_more = false;
	/* A new open file of the directory, not a dup: a dup would share
	 * (and move) the offset of dfd, which the caller may have read. */
	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		r = -errno;
		(void) close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			r = errno ? -errno : 0;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == ARTIFACTS_MAX_DIR_ENTRIES) {
			*ret_more = true;
			break;
		}
		if (n == cap) {
			size_t c = cap ? 2 * cap : 64;
			char **nv = reallocarray(v, c, sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = c;
		}
		if (!(v[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	(void) closedir(d);
	if (r < 0) {
		while (n > 0)
			free(v[--n]);
		free(v);
		return r;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool
any_match(struct walk *w, bool dir)
{
	bool any = false;

	for (size_t i = 0; i < w->spec->npatterns; i++) {
		const char *p = w->spec->patterns[i];

		if (dir && wsglob_match_dir(p, w->path))
			return true;
		if (!dir && wsglob_match(p, w->path)) {
			w->set->matched[i] = true;
			any = true;
		}
	}
	return any;
}

/* Walks directory dfd, whose path is w->path (len bytes; "" for the
 * workspace), at depth parts. 0 or -errno of the store. */
static int
walk_dir(struct walk *w, int dfd, size_t len, size_t depth)
{
	char **names = NULL;
	size_t n = 0;
	bool more;
	int r;

	if ((r = read_names(dfd, &names, &n, &more)) < 0) {
		/* An unreadable directory of the job: not the store's fault */
		w->set->truncated = true;
		return r == -ENOMEM ? r : 0;
	}
	if (more)
		w->set->truncated = true;
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *name = names[i];
		size_t nlen = strlen(name), plen = len + (len > 0) + nlen;
		struct stat st;

		if (++w->entries > ARTIFACTS_MAX_ENTRIES) {
			w->set->truncated = true;
			break;
		}
		if (w->spec->keepalive &&
		    w->entries % ARTIFACTS_KEEPALIVE_ENTRIES == 0)
			w->spec->keepalive(w->spec->keepalive_arg);
		/* Too long to name, or not text: cannot be listed as JSON */
		if (plen > WSPATH_MAX || !utf8_valid(name, nlen))
			continue;
		if (len > 0)
			w->path[len] = '/';
		memcpy(w->path + len + (len > 0), name, nlen + 1);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			; /* gone: nothing to take */
		else if (S_ISDIR(st.st_mode) && depth + 1 < WSGLOB_MAX_PARTS &&
		    any_match(w, true)) {
			int sub = wspath_open_name(dfd, name,
			    O_RDONLY | O_DIRECTORY);

			if (sub >= 0) {
				r = walk_dir(w, sub, plen, depth + 1);
				(void) close(sub);
			}
		} else if (S_ISREG(st.st_mode) && any_match(w, false))
			r = take_file(w, dfd, name);
		w->path[len] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int
artifacts_collect(int ws_fd, int out_fd, const struct artifacts_spec *spec,
    struct artifact_set *ret)
{
	struct walk w = { .spec = spec, .out_fd = out_fd, .set = ret };
	int r;

	memset(ret, 0, sizeof(*ret));
	if (spec->npatterns > WSGLOB_MAX_PATTERNS)
		return -EINVAL;
	if (!(w.buf = malloc(HASH_BUF)))
		return -ENOMEM;
	w.path[0] = '\0';
	r = walk_dir(&w, ws_fd, 0, 0);
	free(w.buf);
	if (r >= 0 && fsync(out_fd) < 0)
		r = -errno;
	if (r < 0)
		artifact_set_release(ret); /* the files stay: caller's */
	return r;
}
