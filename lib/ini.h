/* ini.h - the one INI line reader, for the server config (config.c) and
 * the CLI's profile file (cli/profile.c): "[section]" lines, "key =
 * value" lines, '#' or ';' comment lines, blanks around everything and a
 * trailing '\r' ignored. It knows no sections or keys: callers check
 * them and word their own errors. Plain libc only; not thread-safe per
 * reader (one reader per text). */
#ifndef JOBCELL_INI_H
#define JOBCELL_INI_H

enum ini_kind {
	INI_SECTION,	/* "[name]": section is set */
	INI_PAIR,	/* "key = value": key and value are set */
};

struct ini_item {
	enum ini_kind kind;
	/* Point into the text. section is what stands between the brackets,
	 * as written (not trimmed: "[ a ]" gives " a "); key and value are
	 * trimmed and may be empty ("= x" has key ""); the value runs to the
	 * end of the line (no inline comments) and may hold '='. */
	char *section, *key, *value;
};

struct ini_reader {
	char *next;	/* the rest of the text; NULL at the end */
	unsigned line;	/* 1-based number of the line last read */
};

/* Starts reading text (NUL-terminated, edited in place, owned by the
 * caller and kept until the last item is used). A NUL inside the file
 * ends the text there: callers that read files refuse NUL bytes first. */
void ini_init(struct ini_reader *rd, char *text);
/* The next section or pair. 1 with *ret set, 0 at the end, or -EINVAL for
 * a malformed line, with ret->kind saying what it looked like (INI_SECTION:
 * a '[' line without its ']' or with more after it; INI_PAIR: no '=').
 * rd->line is the line number of the item or of the error. */
int ini_next(struct ini_reader *rd, struct ini_item *ret);
/* Strips blanks (space, tab) from both ends and '\r' from the end of s,
 * in place; returns the first kept byte. */
char *ini_trim(char *s);

#endif
