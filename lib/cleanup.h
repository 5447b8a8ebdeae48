/* cleanup.h - scope-bound ownership for locals (GCC cleanup attribute).
 * Used by every program; owned locals start as NULL / -1. */
#ifndef JOBCELL_CLEANUP_H
#define JOBCELL_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void
cleanup_freep(void *p)
{
	free(*(void **) p);
}

static inline void
cleanup_closep(int *fd)
{
	if (*fd >= 0)
		(void) close(*fd);
}

static inline void
cleanup_fclosep(FILE **f)
{
	if (*f)
		(void) fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)
#define _cleanup_fclose_ _cleanup_(cleanup_fclosep)

static inline void *
steal_ptr_impl(void **p)
{
	void *v = *p;

	*p = NULL;
	return v;
}
#define steal_ptr(pp) steal_ptr_impl((void **) (pp))

static inline int
steal_fd(int *fd)
{
	int v = *fd;

	*fd = -1;
	return v;
}

/* Closes *fd if open and marks it closed (-1). */
static inline void
close_fd(int *fd)
{
	if (*fd >= 0)
		(void) close(*fd);
	*fd = -1;
}

#endif
