/* pack.c - turns a directory into the tar the server unpacks into a
 * workspace (`--input DIR`, `jobcell make`), and hashes what is sent.
 * Runs in the client. The archive is deterministic, so that the same tree
 * gives the same digest and a second upload is skipped: entries sorted
 * by byte order, mtime 0, owner 0:0 without names, modes reduced to
 * 0755/0644 (directories and executables / the rest), no compressor
 * timestamp. Nothing is followed: a symlink in the tree is packed as a
 * symlink (the server decides what it may point at), and every part is
 * opened with O_NOFOLLOW under its parent's fd. FIFOs, sockets and
 * devices are left out with a warning. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "io.h"
#include "banned.h"

#define PACK_DEPTH_MAX 128	 /* directories deep */
#define PACK_ENTRIES_MAX 1000000 /* entries in one archive */
#define PACK_BUF (256u * 1024)

struct pack {
	struct archive *a;
	const struct ignore *ig;
	const char *what; /* for messages */
	const char *top;  /* the directory as the user named it */
	char *buf;	  /* PACK_BUF bytes */
	struct pack_stats *st;
};

int
tmpfile_open(void)
{
	const char *dir = secure_getenv("TMPDIR");
	char path[JC_PATH_MAX];
	int fd, n;

	if (!dir || dir[0] != '/')
		dir = "/tmp";
	/* O_TMPFILE: no name, gone when closed (open(2)) */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	n = snprintf(path, sizeof(path), "%s/jobcell-XXXXXX", dir);
	if (n < 0 || (size_t) n >= sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
		return -errno;
	(void) unlink(path); /* the fd keeps the file */
	return fd;
}

static int
archive_fail(struct pack *p, const char *rel)
{
	cli_err(p->what, "cannot pack '%s/%s': %s", p->top, rel,
	    archive_error_string(p->a) ? archive_error_string(p->a) :
					 "libarchive error");
	return -EIO;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in dirfd, sorted, without "." and "..". */
static int
dir_names(int dirfd, char ***ret, size_t *ret_n)
{
	DIR *d;
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int fd, r = 0;

	if ((fd = dup(dirfd)) < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		r = -errno;
		(void) close(fd);
		return r;
	}
	rewinddir(d);
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			r = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 32;
			char **t = reallocarray(v, c, sizeof(*t));

			if (!t) {
				r = -ENOMEM;
				break;
			}
			v = t;
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
		names_free(v, n);
		return r;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

void
names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static struct archive_entry *
entry_new(const char *rel, mode_t type, mode_t perm, int64_t size)
{
	struct archive_entry *e = archive_entry_new();

	if (!e)
		return NULL;
	archive_entry_set_pathname(e, rel);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	return e;
}

static int
pack_file(struct pack *p, int dirfd, const char *name, const char *rel,
    const struct stat *lst)
{
	struct archive_entry *e;
	_cleanup_close_ int fd = -1;
	struct stat st;
	uint64_t left;
	int r = 0;

	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cli_err(p->what, "cannot read '%s/%s': %s", p->top, rel,
			   strerror(errno)),
		       -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_ino != lst->st_ino ||
	    st.st_dev != lst->st_dev)
		return cli_err(p->what, "'%s/%s' changed while it was packed",
			   p->top, rel),
		       -EAGAIN;
	e = entry_new(rel, AE_IFREG, (st.st_mode & 0111) ? 0755 : 0644,
	    (int64_t) st.st_size);
	if (!e)
		return -ENOMEM;
	if (archive_write_header(p->a, e) != ARCHIVE_OK) {
		archive_entry_free(e);
		return archive_fail(p, rel);
	}
	archive_entry_free(e);
	for (left = (uint64_t) st.st_size; left > 0;) {
		ssize_t n = read(fd, p->buf, left < PACK_BUF ? left : PACK_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cli_err(p->what, "cannot read '%s/%s': %s",
				   p->top, rel, strerror(errno)),
			       -errno;
		if (n == 0)
			/* the header promised st_size bytes */
			return cli_err(p->what,
				   "'%s/%s' shrank while it was "
				   "packed",
				   p->top, rel),
			       -EAGAIN;
		if (archive_write_data(p->a, p->buf, (size_t) n) != n)
			return archive_fail(p, rel);
		left -= (uint64_t) n;
	}
	p->st->files++;
	p->st->bytes += (uint64_t) st.st_size;
	return r;
}

static int
pack_symlink(struct pack *p, int dirfd, const char *name, const char *rel)
{
	char target[JC_PATH_MAX];
	struct archive_entry *e;
	ssize_t n;

	n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0)
		return cli_err(p->what, "cannot read the link '%s/%s': %s",
			   p->top, rel, strerror(errno)),
		       -errno;
	target[n] = '\0';
	if (!(e = entry_new(rel, AE_IFLNK, 0777, 0)))
		return -ENOMEM;
	archive_entry_set_symlink(e, target);
	if (archive_write_header(p->a, e) != ARCHIVE_OK) {
		archive_entry_free(e);
		return archive_fail(p, rel);
	}
	archive_entry_free(e);
	p->st->links++;
	return 0;
}

static int pack_dir(struct pack *p, int dirfd, char *rel, size_t rel_len,
    unsigned depth);

static int
pack_one(struct pack *p, int dirfd, const char *name, char *rel, size_t rel_len,
    unsigned depth)
{
	struct stat st;
	size_t n = strlen(name);
	bool is_dir;

	if (strcmp(name, ".git") == 0 && !p->st->keep_git) {
		p->st->skipped++;
		return 0;
	}
	if (rel_len + (rel_len ? 1 : 0) + n > WSPATH_MAX)
		return cli_err(p->what,
			   "'%s/%s/%s': path longer than %d "
			   "bytes",
			   p->top, rel, name, WSPATH_MAX),
		       -ENAMETOOLONG;
	if (rel_len)
		rel[rel_len++] = '/';
	memcpy(rel + rel_len, name, n + 1);
	rel_len += n;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cli_err(p->what, "cannot read '%s/%s': %s", p->top, rel,
			   strerror(errno)),
		       -errno;
	is_dir = S_ISDIR(st.st_mode);
	if (ignore_match(p->ig, rel, is_dir)) {
		p->st->skipped++;
		return 0;
	}
	if (++p->st->entries > PACK_ENTRIES_MAX)
		return cli_err(p->what, "'%s' has more than %d entries", p->top,
			   PACK_ENTRIES_MAX),
		       -E2BIG;
	if (is_dir)
		return pack_dir(p, dirfd, rel, rel_len, depth + 1);
	if (S_ISREG(st.st_mode))
		return pack_file(p, dirfd, name, rel, &st);
	if (S_ISLNK(st.st_mode))
		return pack_symlink(p, dirfd, name, rel);
	fprintf(stderr, "jobcell: %s: leaving out '%s/", p->what, p->top);
	cli_put_safe(stderr, rel);
	fprintf(stderr, "': not a file, directory or symlink\n");
	p->st->skipped++;
	return 0;
}

/* Packs the directory rel (name in parent pfd, or the top when rel_len is
 * 0 and pfd is the top's own fd). rel is a WSPATH_MAX + 1 buffer. */
static int
pack_dir(struct pack *p, int pfd, char *rel, size_t rel_len, unsigned depth)
{
	_cleanup_close_ int fd = -1;
	struct archive_entry *e;
	char **names = NULL;
	size_t n = 0;
	int r = 0;

	if (depth > PACK_DEPTH_MAX)
		return cli_err(p->what,
			   "'%s/%s': more than %d directories "
			   "deep",
			   p->top, rel, PACK_DEPTH_MAX),
		       -ELOOP;
	if (rel_len == 0) {
		fd = dup(pfd);
	} else {
		const char *name = strrchr(rel, '/');

		name = name ? name + 1 : rel;
		fd = openat(pfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return cli_err(p->what, "cannot open '%s/%s': %s", p->top, rel,
			   strerror(errno)),
		       -errno;
	if (rel_len > 0) {
		if (!(e = entry_new(rel, AE_IFDIR, 0755, 0)))
			return -ENOMEM;
		if (archive_write_header(p->a, e) != ARCHIVE_OK) {
			archive_entry_free(e);
			return archive_fail(p, rel);
		}
		archive_entry_free(e);
		p->st->dirs++;
	}
	if ((r = dir_names(fd, &names, &n)) < 0)
		return cli_err(p->what, "cannot list '%s/%s': %s", p->top, rel,
			   strerror(-r)),
		       r;
	for (size_t i = 0; i < n && r == 0; i++) {
		r = pack_one(p, fd, names[i], rel, rel_len, depth);
		rel[rel_len] = '\0';
	}
	names_free(names, n);
	return r;
}

int
pack_tree(const char *what, const char *dir, const struct ignore *ig,
    struct pack_stats *st, int *ret_fd)
{
	_cleanup_close_ int top = -1, out = -1;
	_cleanup_free_ char *buf = NULL;
	char rel[WSPATH_MAX + 1] = "";
	struct pack p = { .ig = ig, .what = what, .top = dir, .st = st };
	int r;

	st->entries = st->files = st->dirs = st->links = st->skipped = 0;
	st->bytes = 0;
	if ((top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cli_err(what, "cannot open '%s': %s", dir,
			   strerror(errno)),
		       -errno;
	if ((out = tmpfile_open()) < 0)
		return cli_err(what, "cannot create a temporary file: %s",
			   strerror(-out)),
		       out;
	if (!(buf = malloc(PACK_BUF)))
		return -ENOMEM;
	p.buf = buf;
	if (!(p.a = archive_write_new()))
		return -ENOMEM;
	/* pax only where ustar cannot say it (long names, big files) */
	r = archive_write_set_format_pax_restricted(p.a);
	if (r == ARCHIVE_OK) {
		if (archive_write_add_filter_zstd(p.a) == ARCHIVE_OK) {
			st->compression = "zstd";
		} else {
			r = archive_write_add_filter_gzip(p.a);
			/* gzip writes the time into its header unless told */
			if (r == ARCHIVE_OK)
				r = archive_write_set_filter_option(p.a, "gzip",
				    "timestamp", NULL);
			st->compression = "gzip";
		}
	}
	if (r == ARCHIVE_OK)
		r = archive_write_open_fd(p.a, out);
	if (r != ARCHIVE_OK) {
		r = archive_fail(&p, "");
		goto out;
	}
	r = pack_dir(&p, top, rel, 0, 0);
	if (archive_write_close(p.a) != ARCHIVE_OK && r == 0)
		r = archive_fail(&p, "");
out:
	archive_write_free(p.a);
	if (r < 0)
		return r;
	*ret_fd = steal_fd(&out);
	return 0;
}
