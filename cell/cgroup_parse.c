/* cgroup_parse.c - the pure parts of the cell's cgroups (cgroup.h): the
 * hierarchies found in /proc/self/mountinfo, controller lists, cgroup paths
 * and names, and the numbers of cgroupfs files. Bytes in, values out, no
 * I/O (tests/unit/test_cgroup.c). Trusts nothing about the text. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cgroup.h"
#include "banned.h"

static const char *const ctrl_names[CG__MAX] = {
	[CG_MEMORY] = "memory", [CG_PIDS] = "pids", [CG_CPU] = "cpu",
	[CG_CPUACCT] = "cpuacct",
};

/* ---- pure parsing ---- */

/* Copies a mountinfo field of len bytes, undoing the kernel's \ooo escapes
 * (show_path(): space, tab, newline, backslash). */
static int
unescape(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < len &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char) ((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
			    (s[i + 3] - '0'));
			i += 3;
		}
		if (c == '\0' || o + 1 >= size)
			return c == '\0' ? -EINVAL : -ENAMETOOLONG;
		buf[o++] = c;
	}
	buf[o] = '\0';
	return 0;
}

/* True if the comma-separated list s[0..len) holds word. */
static bool
csv_has(const char *s, size_t len, const char *word)
{
	size_t wl = strlen(word), i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && s[j] != ',')
			j++;
		if (j - i == wl && memcmp(s + i, word, wl) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

/* One mountinfo line [s, e): fields split on spaces. */
static int
parse_mount_line(const char *s, const char *e, struct cgroup_root *ret)
{
	const char *f[16];
	size_t fl[16], n = 0, dash = 0;
	const char *p = s;
	int r;

	while (p < e && n < ARRAY_SIZE(f)) {
		const char *q = p;

		while (q < e && *q != ' ')
			q++;
		f[n] = p;
		fl[n] = (size_t) (q - p);
		if (fl[n] == 1 && *p == '-' && n >= 6 && !dash)
			dash = n;
		n++;
		p = q + 1;
	}
	/* id parent maj:min root mountpoint opts [optional...] - fstype src super */
	if (!dash || n < dash + 4)
		return 0;
	if (fl[dash + 1] == 7 && memcmp(f[dash + 1], "cgroup2", 7) == 0) {
		if (fl[3] == 1 && f[3][0] == '/' && ret->nall < CGROUP_MOUNTS_MAX &&
		    (r = unescape(f[4], fl[4], ret->all[ret->nall],
		    sizeof(ret->all[0]))) == 0)
			ret->nall++;
		if (ret->unified[0])
			return 0;
		return unescape(f[4], fl[4], ret->unified, sizeof(ret->unified));
	}
	if (fl[dash + 1] != 6 || memcmp(f[dash + 1], "cgroup", 6) != 0)
		return 0;
	/* A hierarchy mounted from a subdirectory (root != "/") would put
	 * our cgroups somewhere else than its path says: not ours to use. */
	if (fl[3] != 1 || f[3][0] != '/')
		return 0;
	if (ret->nall < CGROUP_MOUNTS_MAX && unescape(f[4], fl[4],
	    ret->all[ret->nall], sizeof(ret->all[0])) == 0)
		ret->nall++;
	for (int c = 0; c < CG__MAX; c++) {
		if (ret->mount[c][0] ||
		    !csv_has(f[dash + 3], fl[dash + 3], ctrl_names[c]))
			continue;
		if ((r = unescape(f[4], fl[4], ret->mount[c],
		    sizeof(ret->mount[c]))) < 0)
			return r;
	}
	return 0;
}

int
cgroup_parse_mountinfo(const char *text, struct cgroup_root *ret)
{
	struct cgroup_root root;
	const char *s = text;
	bool any = false;
	int r;

	memset(&root, 0, sizeof(root));
	while (*s) {
		const char *e = strchrnul(s, '\n');

		if ((r = parse_mount_line(s, e, &root)) < 0)
			return r;
		s = *e ? e + 1 : e;
	}
	for (int c = 0; c < CG__MAX; c++)
		any |= root.mount[c][0] != '\0';
	if (!any && !root.unified[0])
		return -ENOENT;
	*ret = root;
	return 0;
}

bool
cgroup_list_has(const char *list, const char *ctrl)
{
	size_t cl = strlen(ctrl);
	const char *p = list;

	while (*p) {
		size_t n;

		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		n = strcspn(p, " \n\t");
		if (n == cl && n > 0 && memcmp(p, ctrl, n) == 0)
			return true;
		p += n;
	}
	return false;
}

bool
cgroup_name_ok(const char *name)
{
	size_t n = 0;

	if (!name[0] || name[0] == '-')
		return false;
	for (const char *p = name; *p; p++, n++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return n <= CGROUP_NAME_MAX;
}

int
cgroup_path(const char *mount, const char *name, char *buf, size_t size)
{
	int n;

	if (!mount[0] || (name && !cgroup_name_ok(name)))
		return -EINVAL;
	if (name)
		n = snprintf(buf, size, "%s/%s/%s", mount, CGROUP_PARENT, name);
	else
		n = snprintf(buf, size, "%s/%s", mount, CGROUP_PARENT);
	if (n < 0 || (size_t) n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Digits at *p up to a space, newline or the end; advances *p. */
static int
parse_num(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (strncmp(s, "max", 3) == 0 && (s[3] == '\0' || s[3] == '\n' ||
	    s[3] == ' ')) {
		*ret = UINT64_MAX;
		*p = s + 3;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t) (*s - '0'), &v))
			return -ERANGE;
	if (*s != '\0' && *s != '\n' && *s != ' ')
		return -EINVAL;
	*ret = v;
	*p = s;
	return 0;
}

int
cgroup_parse_u64(const char *text, uint64_t *ret)
{
	const char *p = text;
	uint64_t v;
	int r;

	if ((r = parse_num(&p, &v)) < 0)
		return r;
	if (*p == '\n')
		p++;
	if (*p != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int
cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret)
{
	size_t kl = strlen(key);
	const char *s = text;

	if (kl == 0)
		return -EINVAL;
	while (*s) {
		const char *e = strchrnul(s, '\n');

		if ((size_t) (e - s) > kl && memcmp(s, key, kl) == 0 &&
		    s[kl] == ' ') {
			const char *p = s + kl + 1;
			uint64_t v;
			int r;

			if ((r = parse_num(&p, &v)) < 0)
				return r;
			if (p != e)
				return -EINVAL;
			*ret = v;
			return 0;
		}
		s = *e ? e + 1 : e;
	}
	return -ENOENT;
}

