/* archive_dl.c - loads libarchive on first use; see archive_dl.h. */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "archive_dl.h"

#include "banned.h"

static struct archive_dl table;
static bool loaded;
static char why[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
load(void)
{
	void *lib = dlopen(ARCHIVE_DL_SONAME, RTLD_NOW | RTLD_LOCAL);
	bool ok = true;

	if (!lib) {
		const char *e = dlerror();

		(void) snprintf(why, sizeof(why), "cannot load %s: %s",
		    ARCHIVE_DL_SONAME, e ? e : "unknown error");
		return;
	}
	/* dlsym's void * to a function pointer: POSIX requires it to work,
	 * through the object's representation. */
#define ARCHIVE_DL_LOAD(name) \
	if (ok && \
	    !(*(void **) (void *) &table.name = dlsym(lib, \
		  "archive_" #name))) { \
		(void) snprintf(why, sizeof(why), "%s lacks archive_%s", \
		    ARCHIVE_DL_SONAME, #name); \
		ok = false; \
	}
	ARCHIVE_DL_FUNCTIONS(ARCHIVE_DL_LOAD)
#undef ARCHIVE_DL_LOAD
	if (!ok)
		(void) dlclose(lib);
	loaded = ok;
}

const struct archive_dl *
archive_dl_load(const char **ret_why)
{
	if (pthread_once(&once, load) != 0 || !loaded) {
		if (ret_why)
			*ret_why = why[0] ? why : "cannot load libarchive";
		return NULL;
	}
	return &table;
}
