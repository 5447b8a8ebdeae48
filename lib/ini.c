/* ini.c - the INI line reader (see ini.h). Runs in every program that
 * reads a config file; trusts nothing in the text, but bounds nothing
 * either: callers cap the file first (config.c, cli/profile.c). */
#include <errno.h>
#include <string.h>

#include "ini.h"
#include "banned.h"

char *
ini_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

void
ini_init(struct ini_reader *rd, char *text)
{
	rd->next = text;
	rd->line = 0;
}

int
ini_next(struct ini_reader *rd, struct ini_item *ret)
{
	while (rd->next && *rd->next) {
		char *s = rd->next, *nl = strchr(s, '\n'), *eq, *end;

		rd->next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		rd->line++;
		s = ini_trim(s);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			ret->kind = INI_SECTION;
			/* the first ']' ends the name and the line */
			if (!(end = strchr(s, ']')) || end[1] != '\0')
				return -EINVAL;
			*end = '\0';
			ret->section = s + 1;
			ret->key = ret->value = NULL;
			return 1;
		}
		ret->kind = INI_PAIR;
		if (!(eq = strchr(s, '=')))
			return -EINVAL;
		*eq = '\0';
		ret->section = NULL;
		ret->key = ini_trim(s);
		ret->value = ini_trim(eq + 1);
		return 1;
	}
	rd->next = NULL;
	return 0;
}
