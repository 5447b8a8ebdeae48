/* test_cli_tree.c - the client's pure pieces behind --input, download and
 * make: .jobcellignore matching (hostile rows too), the project root and
 * the current directory under it, .jobcell parsing, --input specs, sizes,
 * the .part name, the deterministic archive (same tree, same bytes; .git
 * and ignored paths left out; a symlink packed as a link, never followed),
 * and that an output path cannot leave its directory or pass a symlink. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "wspath.h"
#include "tap.h"

static char tmp[64];

static void
put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	(void) snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		diag("cannot write %s", p);
}

static void
mk(const char *rel)
{
	char p[512];

	(void) snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	if (mkdir(p, 0755) < 0)
		diag("cannot mkdir %s", p);
}

static void
test_ignore(void)
{
	static const char rules[] = "# comment\n"
				    "\n"
				    "*.o\n"
				    "build/\n"
				    "/top.txt\n"
				    "docs/*.tmp\n"
				    "**/cache/**\n"
				    "a/**/z\n"
				    "!keep.o\n"
				    "  spaced.txt  \r\n";
	static const struct {
		const char *path;
		bool dir, ign;
	} rows[] = {
		{ "x.o", false, true },
		{ "src/deep/x.o", false, true },
		{ "keep.o", false, false },
		{ "src/keep.o", false, false },
		{ "build", true, true },
		{ "src/build", true, true },
		{ "build", false, false }, /* dir_only: a file is kept */
		{ "top.txt", false, true },
		{ "src/top.txt", false, false },
		{ "docs/a.tmp", false, true },
		{ "docs/x/a.tmp", false, false },
		{ "cache/x", false, true },
		{ "p/cache/q/r", false, true },
		{ "cachex/y", false, false },
		{ "a/z", false, true },
		{ "a/b/c/z", false, true },
		{ "b/a/z", false, false },
		{ "spaced.txt", false, true },
		{ "main.c", false, false },
		{ "", false, false },
		{ ".hidden.o", false, true },
	};
	struct ignore ig = { 0 };
	unsigned line = 0;
	char big[IGNORE_PATTERN_MAX + 2];

	is_int(ignore_add_text(&ig, rules, sizeof(rules) - 1, &line), 0,
	    "the rules parse");
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		is_int(ignore_match(&ig, rows[i].path, rows[i].dir),
		    rows[i].ign, "'%s'%s %s", rows[i].path,
		    rows[i].dir ? "/" : "", rows[i].ign ? "ignored" : "kept");
	is_int(ignore_add(&ig, "!", 1), -EINVAL, "'!' alone is refused");
	is_int(ignore_add(&ig, "/", 1), -EINVAL, "'/' alone is refused");
	is_int(ignore_add(&ig, "a\0b", 3), -EINVAL, "a NUL is refused");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(ignore_add(&ig, big, strlen(big)), -ENAMETOOLONG,
	    "a pattern past the maximum is refused");
	is_int(ignore_add_text(&ig, "ok\n!\n", 5, &line), -EINVAL,
	    "a bad line in a text");
	is_int((int) line, 2, "is named by its number");
	ignore_release(&ig);
}

static void
test_project(void)
{
	char root[512], rel[512], sub[512];
	static const struct {
		const char *root, *cwd, *rel;
		int r;
	} rels[] = {
		{ "/a/b", "/a/b", "", 0 },
		{ "/a/b", "/a/b/c/d", "c/d", 0 },
		{ "/", "/x/y", "x/y", 0 },
		{ "/a/b", "/a/bc", NULL, -EINVAL },
		{ "/a/b", "/a", NULL, -EINVAL },
	};
	bool marker = false;

	mk("proj");
	mk("proj/src");
	mk("proj/src/lib");
	put("proj/.jobcell", "image = x\n");
	(void) snprintf(sub, sizeof(sub), "%s/proj/src/lib", tmp);
	is_int(project_root_marker(sub, root, sizeof(root)), 0,
	    "a .jobcell two levels up is found");
	(void) snprintf(sub, sizeof(sub), "%s/proj", tmp);
	is_str(root, sub, "and names that directory");
	is_int(project_find(root, rel, sizeof(rel), &marker), 0,
	    "the root itself is found");
	ok(marker, "by its .jobcell");
	mk("proj/src/.jobcell"); /* a directory is not the marker */
	(void) snprintf(sub, sizeof(sub), "%s/proj/src/lib", tmp);
	(void) project_root_marker(sub, root, sizeof(root));
	(void) snprintf(sub, sizeof(sub), "%s/proj", tmp);
	is_str(root, sub, "a directory named .jobcell is not a marker");
	is_int(project_root_marker("relative", root, sizeof(root)), -EINVAL,
	    "a relative start is refused");
	for (size_t i = 0; i < ARRAY_SIZE(rels); i++) {
		int r = project_rel(rels[i].root, rels[i].cwd, rel,
		    sizeof(rel));

		is_int(r, rels[i].r, "rel of '%s' under '%s'", rels[i].cwd,
		    rels[i].root);
		if (r == 0)
			is_str(rel, rels[i].rel, "is '%s'", rels[i].rel);
	}
}

static void
test_conf(void)
{
	static const struct {
		const char *text;
		int r;
		const char *err;
	} bad[] = {
		{ "[make]\n", -EINVAL, "line 1: sections" },
		{ "image = x\nbogus = 1\n", -EINVAL,
		    "line 2: unknown key 'bogus'" },
		{ "sandbox = vm\n", -EINVAL, "line 1: 'sandbox'" },
		{ "timeout = 0\n", -EINVAL, "line 1: 'timeout'" },
		{ "memory = 8T\n", -EINVAL, "line 1: 'memory' wants a size" },
		{ "disk = \n", -EINVAL, "line 1: 'disk'" },
		{ "noequals\n", -EINVAL, "line 1: not 'key = value'" },
		{ "artifacts = a b c d e f g h i j k l m n o p q r s t u v w x y z "
		  "1 2 3 4 5 6 7\n",
		    -EINVAL, "more than 32" },
	};
	char text[512], err[256];
	struct project_conf c;

	(void) snprintf(text, sizeof(text),
	    "# a project\nimage = debian:12\n"
	    "sandbox = docker\nartifacts =  hello  dist/*.tar.gz \n"
	    "timeout = 600\nmemory = 2G\ndisk = 8G\nexclude = *.log tmp/\n");
	is_int(project_conf_parse(text, &c, err, sizeof(err)), 0,
	    "a full .jobcell parses");
	is_str(c.image, "debian:12", "image");
	is_str(c.sandbox, "docker", "sandbox");
	is_int((int) c.n_artifacts, 2, "two artifact globs");
	if (c.n_artifacts == 2) {
		is_str(c.artifacts[0], "hello", "first glob");
		is_str(c.artifacts[1], "dist/*.tar.gz", "second glob");
	}
	is_int((int) c.timeout_s, 600, "timeout");
	is_int((int) c.memory_mb, 2048, "memory 2G in MiB");
	is_int((int) c.disk_mb, 8192, "disk 8G in MiB");
	is_int((int) c.n_exclude, 2, "two exclude globs");
	text[0] = '\0';
	is_int(project_conf_parse(text, &c, err, sizeof(err)), 0,
	    "an empty .jobcell is fine");
	ok(c.timeout_s == -1 && c.memory_mb == -1 && !c.image,
	    "and sets nothing");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		(void) snprintf(text, sizeof(text), "%s", bad[i].text);
		is_int(project_conf_parse(text, &c, err, sizeof(err)), bad[i].r,
		    "refused: %s", bad[i].err);
		ok(strstr(err, bad[i].err) != NULL, "message '%s' has '%s'",
		    err, bad[i].err);
	}
}

static void
test_specs(void)
{
	static const struct {
		const char *spec, *local, *dest;
		int r;
	} rows[] = {
		{ "./myproject:src", "./myproject", "src", 0 },
		{ "dir/", "dir/", "dir", 0 },
		{ "a/b/tool", "a/b/tool", "tool", 0 },
		{ "x:a/b", "x", "a/b", 0 },
		{ "x:../y", NULL, NULL, -EINVAL },
		{ "x:/etc", NULL, NULL, -EINVAL },
		{ "x:", NULL, NULL, -EINVAL },
		{ ":y", NULL, NULL, -EINVAL },
		{ "x:a//b", NULL, NULL, -EINVAL },
	};
	static const struct {
		const char *s;
		int r;
		long mb;
	} sizes[] = {
		{ "8G", 0, 8192 },
		{ "8g", 0, 8192 },
		{ "512M", 0, 512 },
		{ "512", 0, 512 },
		{ "0", -EINVAL, 0 },
		{ "8T", -EINVAL, 0 },
		{ "G", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "-1G", -EINVAL, 0 },
		{ "1025G", -ERANGE, 0 },
	};
	char local[256], dest[256], cwdname[256], here[512], part[300];
	char leaf[256];
	const char *base;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int r = cli_input_spec(rows[i].spec, local, sizeof(local), dest,
		    sizeof(dest));

		is_int(r, rows[i].r, "--input '%s'", rows[i].spec);
		if (r == 0) {
			is_str(local, rows[i].local, "local of '%s'",
			    rows[i].spec);
			is_str(dest, rows[i].dest, "dest of '%s'",
			    rows[i].spec);
		}
	}
	if (getcwd(here, sizeof(here))) {
		base = strrchr(here, '/');
		(void) snprintf(cwdname, sizeof(cwdname), "%s", base + 1);
		is_int(cli_input_spec(".", local, sizeof(local), dest,
			   sizeof(dest)),
		    0, "--input .");
		is_str(dest, cwdname, "is named after the directory");
	}
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		int64_t mb = 0;
		int r = cli_parse_size_mb(sizes[i].s, 1048576, &mb);

		is_int(r, sizes[i].r, "size '%s'", sizes[i].s);
		if (r == 0)
			is_int((int) mb, (int) sizes[i].mb, "is %ld MiB",
			    sizes[i].mb);
	}
	is_int(download_part_name("hello", "ab", part, sizeof(part)), 0,
	    "a .part name");
	is_str(part, "hello.part", "is NAME.part");
	memset(leaf, 'n', 255);
	leaf[255] = '\0';
	is_int(download_part_name(leaf,
		   "0123456789abcdef0123456789abcdef"
		   "0123456789abcdef0123456789abcdef",
		   part, sizeof(part)),
	    0, "a .part name for a 255-byte leaf");
	is_str(part, ".jobcell-0123456789abcdef0123456789abcdef.part",
	    "fits NAME_MAX");
}

/* The entry names of the archive in fd, joined by ' ' (symlinks as
 * "name->target"). */
static void
archive_names(int fd, char *buf, size_t size)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t len = 0;

	buf[0] = '\0';
	(void) archive_read_support_filter_all(a);
	(void) archive_read_support_format_all(a);
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    archive_read_open_fd(a, fd, 16384) != ARCHIVE_OK) {
		archive_read_free(a);
		return;
	}
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		int n = snprintf(buf + len, size - len, "%s%s%s%s%s",
		    len ? " " : "", archive_entry_pathname(e),
		    archive_entry_filetype(e) == AE_IFLNK ? "->" : "",
		    archive_entry_filetype(e) == AE_IFLNK ?
			archive_entry_symlink(e) :
			"",
		    archive_entry_filetype(e) == AE_IFREG &&
			    (archive_entry_perm(e) & 0111) ?
			"*" :
			"");

		if (n < 0 || (size_t) n >= size - len)
			break;
		len += (size_t) n;
	}
	archive_read_free(a);
}

static void
test_pack(void)
{
	char dir[512], hex1[SHA256_HEX_LEN + 1], hex2[SHA256_HEX_LEN + 1];
	char names[2048], p[600];
	struct ignore ig = { 0 };
	struct pack_stats st = { 0 };
	int64_t size;
	int fd = -1, fd2 = -1;

	mk("tree");
	mk("tree/src");
	mk("tree/.git");
	mk("tree/build");
	mk("tree/empty");
	put("tree/.git/HEAD", "ref: x\n");
	put("tree/src/main.c", "int main(void) { return 0; }\n");
	put("tree/src/main.o", "obj");
	put("tree/build/out", "x");
	put("tree/Makefile", "all:\n");
	put("tree/run.sh", "#!/bin/sh\n");
	(void) snprintf(p, sizeof(p), "%s/tree/run.sh", tmp);
	(void) chmod(p, 0700);
	(void) snprintf(p, sizeof(p), "%s/tree/passwd", tmp);
	if (symlink("/etc/passwd", p) < 0)
		diag("symlink failed");
	(void) snprintf(dir, sizeof(dir), "%s/tree", tmp);
	(void) ignore_add_text(&ig, "*.o\nbuild/\n", 10, NULL);
	is_int(pack_tree("test", dir, &ig, &st, &fd), 0, "a tree packs");
	is_int(blob_sha256_fd(fd, hex1, &size), 0, "and hashes");
	archive_names(fd, names, sizeof(names));
	is_str(names,
	    "Makefile empty/ passwd->/etc/passwd run.sh* src/ "
	    "src/main.c",
	    "sorted, no .git, no ignored paths, the link as a "
	    "link, the x bit kept");
	ok(st.files == 3 && st.links == 1, "3 files, 1 link");
	/* the same tree later, with new times: the same bytes */
	(void) snprintf(p, sizeof(p), "%s/tree/Makefile", tmp);
	{
		struct timespec ts[2] = { { 1000000, 0 }, { 1000000, 0 } };

		(void) utimensat(AT_FDCWD, p, ts, 0);
	}
	is_int(pack_tree("test", dir, &ig, &st, &fd2), 0, "packs again");
	is_int(blob_sha256_fd(fd2, hex2, NULL), 0, "and hashes");
	is_str(hex2, hex1, "the same tree gives the same digest");
	st.keep_git = true;
	(void) close(fd2);
	fd2 = -1;
	is_int(pack_tree("test", dir, &ig, &st, &fd2), 0, "keep_git packs");
	archive_names(fd2, names, sizeof(names));
	ok(strstr(names, ".git/HEAD") != NULL, "with .git when asked");
	ok(blob_hex_check(hex1) == 0, "a digest is 64 hex digits");
	ok(blob_hex_check("ABC") < 0, "a short one is not");
	ignore_release(&ig);
	if (fd >= 0)
		(void) close(fd);
	if (fd2 >= 0)
		(void) close(fd2);
}

static void
test_outpath(void)
{
	char p[600], q[600];
	const char *leaf = NULL;
	int dfd, fd;

	mk("out");
	mk("elsewhere");
	(void) snprintf(p, sizeof(p), "%s/out/sub", tmp);
	(void) snprintf(q, sizeof(q), "%s/elsewhere", tmp);
	if (symlink(q, p) < 0)
		diag("symlink failed");
	(void) snprintf(p, sizeof(p), "%s/out", tmp);
	dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(dfd >= 0, "out/ opens");
	fd = wspath_open_parent(dfd, "sub/x", WSPATH_MKDIR, &leaf);
	ok(fd == -ELOOP || fd == -ENOTDIR,
	    "a symlink in the output directory is not followed (%d)", fd);
	fd = wspath_open_parent(dfd, "../x", WSPATH_MKDIR, &leaf);
	is_int(fd, -EINVAL, "'..' is refused");
	fd = wspath_open_parent(dfd, "/etc/x", WSPATH_MKDIR, &leaf);
	is_int(fd, -EINVAL, "an absolute path is refused");
	fd = wspath_open_parent(dfd, "a/b/c", WSPATH_MKDIR, &leaf);
	ok(fd >= 0, "a new directory chain is made");
	if (fd >= 0) {
		is_str(leaf, "c", "and the leaf is its last part");
		(void) close(fd);
	}
	(void) snprintf(p, sizeof(p), "%s/elsewhere/x", tmp);
	ok(access(p, F_OK) != 0, "nothing was made through the link");
	(void) close(dfd);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	(void) remove(path);
	return 0;
}

int
main(void)
{
	(void) snprintf(tmp, sizeof(tmp), "/tmp/test_cli_tree.XXXXXX");
	if (!mkdtemp(tmp)) {
		diag("mkdtemp failed");
		return 1;
	}
	test_ignore();
	test_project();
	test_conf();
	test_specs();
	test_pack();
	test_outpath();
	(void) nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
