/* replay.c - runs a fuzz target over every file of its corpus, without
 * libFuzzer, so `make check` replays the corpus on every build (and under
 * the sanitizers in CI). Prints TAP: one line per file. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(4 * 1024 * 1024);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, 4 * 1024 * 1024, f);
	fclose(f);
	(void) LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : CORPUS_DIR;
	struct dirent *de;
	DIR *d = opendir(dir);
	int files = 0;

	if (!d) {
		ok(0, "corpus directory '%s' opens", dir);
		return done_testing();
	}
	while ((de = readdir(d))) {
		char path[4096];

		if (de->d_name[0] == '.')
			continue;
		if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path))
			continue;
		ok(run_file(path) == 0, "replay %s", de->d_name);
		files++;
	}
	closedir(d);
	ok(files > 0, "corpus '%s' has files", dir);
	return done_testing();
}
