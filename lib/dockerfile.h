/* dockerfile.h - the image references of a Dockerfile (issue 14, DESIGN
 * section 4 "Images"): every FROM and every COPY/ADD --from=, so the API
 * can refuse a base that is neither the consumer's own image nor one the
 * server allows, and rewrite the consumer's own names to the daemon's.
 * Pure: no I/O, thread-safe. Trusts nothing of the text. */
#ifndef JOBCELL_DOCKERFILE_H
#define JOBCELL_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

#define DOCKERFILE_MAX_BYTES (256u * 1024) /* a Dockerfile we read */
#define DOCKERFILE_MAX_REFS 64		   /* FROM and --from= per file */
#define DOCKERFILE_REF_MAX 256		   /* bytes of one reference */

struct dockerfile_ref {
	size_t off, len;		/* the reference's bytes in the text */
	char image[DOCKERFILE_REF_MAX]; /* those bytes, NUL-terminated */
	unsigned line; /* 1-based, where its instruction starts */
	bool stage;    /* names an earlier stage ("FROM x AS build" ...
		     * "FROM build", "COPY --from=build" or --from=0) */
};

struct dockerfile {
	struct dockerfile_ref refs[DOCKERFILE_MAX_REFS];
	size_t nrefs;
	size_t nfrom; /* FROM instructions (0: not a Dockerfile) */
};

/* Reads text[0..len): instructions (case-insensitive), '\' line
 * continuations, comment lines (also inside a continuation), flags
 * (--platform=..., --from=...) and "AS name". 0 with *ret filled, or
 * -EINVAL with a sentence in msg: no FROM, a reference with a variable
 * ('$': substitution is refused, not guessed), one longer than
 * DOCKERFILE_REF_MAX or with a byte outside [A-Za-z0-9._/:@-], more than
 * DOCKERFILE_MAX_REFS, a NUL byte; -E2BIG past DOCKERFILE_MAX_BYTES. */
int dockerfile_parse(const char *text, size_t len, struct dockerfile *ret,
    char *msg, size_t size);
/* out = text with refs[i] replaced by repl[i] (NULL: kept), for i <
 * df->nrefs. 0, -E2BIG (out's max) or -ENOMEM. */
int dockerfile_rewrite(const char *text, size_t len,
    const struct dockerfile *df, const char *const *repl, struct strbuf *out);
/* A build context member's name without its leading "./"s, as the
 * Dockerfile's path is compared with it (by the API and the builder). */
const char *dockerfile_member_name(const char *p);

#endif
