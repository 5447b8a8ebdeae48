/* ignore.c - which paths of a tree `jobcell submit --input DIR` and
 * `jobcell make` leave out: a subset of gitignore(5) read from
 * .jobcellignore and .jobcell's `exclude`. Pure (no I/O); runs in the
 * client. Rules: '#' comments and blank lines; "!pat" re-includes; a
 * trailing '/' matches directories only; a pattern with no other '/'
 * matches the base name at any depth, otherwise it is anchored at the
 * tree's root (a leading '/' only anchors); parts are fnmatch(3) globs
 * ('*', '?', '[...]'); a "**" part matches any number of directories.
 * The last matching rule wins; an ignored directory is not entered, so
 * nothing under it can be re-included (as in git). */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "parse.h"
#include "banned.h"

void
ignore_release(struct ignore *ig)
{
	free(ig->rules);
	*ig = (struct ignore){ 0 };
}

int
ignore_add(struct ignore *ig, const char *line, size_t len)
{
	struct ignore_rule rule = { 0 };
	size_t i = 0;

	/* trailing blanks and '\r' are not part of a pattern */
	while (len > 0 &&
	    (line[len - 1] == ' ' || line[len - 1] == '\t' ||
		line[len - 1] == '\r'))
		len--;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	if (line[i] == '!') {
		rule.negate = true;
		i++;
	}
	if (i < len && line[i] == '/') {
		rule.anchored = true;
		i++;
	}
	if (len > i && line[len - 1] == '/') {
		rule.dir_only = true;
		len--;
	}
	if (i == len)
		return -EINVAL; /* "!", "/" or "!/" alone */
	if (len - i > IGNORE_PATTERN_MAX)
		return -ENAMETOOLONG;
	if (memchr(line + i, '\0', len - i))
		return -EINVAL;
	memcpy(rule.pat, line + i, len - i);
	rule.pat[len - i] = '\0';
	if (strchr(rule.pat, '/'))
		rule.anchored = true;
	if (ig->n == IGNORE_RULES_MAX)
		return -E2BIG;
	if (ig->n == ig->cap) {
		size_t cap = ig->cap ? ig->cap * 2 : 16;
		struct ignore_rule *p;

		p = reallocarray(ig->rules, cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		ig->rules = p;
		ig->cap = cap;
	}
	ig->rules[ig->n++] = rule;
	return 0;
}

int
ignore_add_text(struct ignore *ig, const char *text, size_t len,
    unsigned *ret_line)
{
	unsigned line = 0;
	int r;

	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t) (nl - text) : len;

		line++;
		if ((r = ignore_add(ig, text, n)) < 0) {
			if (ret_line)
				*ret_line = line;
			return r;
		}
		if (!nl)
			break;
		text += n + 1;
		len -= n + 1;
	}
	return 0;
}

/* Matches the parts of pat (split at '/') against the parts of path,
 * "**" standing for zero or more parts. Both are NUL-terminated copies
 * the function may edit. */
static bool
parts_match(char *pat, char *path)
{
	char *pslash, *tslash;
	bool ok;

	if (*pat == '\0')
		return *path == '\0';
	pslash = strchr(pat, '/');
	if (pslash)
		*pslash = '\0';
	if (strcmp(pat, "**") == 0) {
		char *rest = pslash ? pslash + 1 : pat + strlen(pat);

		if (pslash)
			*pslash = '/';
		/* "**" as the last part matches everything below */
		if (*rest == '\0')
			return true;
		for (char *p = path;;) {
			/* rest is edited and restored by the recursion */
			if (parts_match(rest, p))
				return true;
			p = strchr(p, '/');
			if (!p)
				return false;
			p++;
		}
	}
	if (*path == '\0') {
		if (pslash)
			*pslash = '/';
		return false;
	}
	tslash = strchr(path, '/');
	if (tslash)
		*tslash = '\0';
	ok = fnmatch(pat, path, 0) == 0;
	if (pslash)
		*pslash = '/';
	if (tslash)
		*tslash = '/';
	if (!ok)
		return false;
	if (!pslash || !tslash)
		/* a pattern longer than the path, or the other way round */
		return !pslash && !tslash;
	return parts_match(pslash + 1, tslash + 1);
}

static bool
rule_match(const struct ignore_rule *rule, const char *path)
{
	char pat[IGNORE_PATTERN_MAX + 1], p[WSPATH_MAX + 1];
	const char *base;

	if (strlen(path) > WSPATH_MAX)
		return false;
	memcpy(pat, rule->pat, sizeof(pat));
	if (rule->anchored) {
		memcpy(p, path, strlen(path) + 1);
		return parts_match(pat, p);
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return fnmatch(pat, base, 0) == 0;
}

bool
ignore_match(const struct ignore *ig, const char *path, bool is_dir)
{
	/* the last rule that matches decides */
	for (size_t i = ig->n; i-- > 0;) {
		const struct ignore_rule *rule = &ig->rules[i];

		if (rule->dir_only && !is_dir)
			continue;
		if (rule_match(rule, path))
			return !rule->negate;
	}
	return false;
}
