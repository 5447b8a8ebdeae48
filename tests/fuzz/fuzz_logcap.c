/* fuzz_logcap.c - libFuzzer target: how a job's output is cut into log
 * chunks (worker/logcap.c), with the flushes jobstore makes, on arbitrary
 * writes. The input is a script: each op byte says which stream writes,
 * how much (a size class, up to a few chunks' worth) and whether a flush
 * follows; the bytes written are the input itself, read round and round.
 * Properties:
 * - per stream, the chunks stored, in order, are exactly the bytes
 *   written (nothing lost, nothing doubled, nothing moved across streams);
 * - no chunk is empty or over JC_LOG_CHUNK_BYTES;
 * - when a stream's bytes are valid UTF-8, every one of its chunks is
 *   valid UTF-8 on its own: no boundary, a flush's included, splits a
 *   character. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "utf8.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN 4096
#define MAX_OUT (8u * 1024 * 1024)

struct side {
	struct strbuf fed[3], stored[3];
	bool chunk_invalid[3];	/* some chunk of the stream is not UTF-8 */
};

/* What jobstore_flush_logs does with the batch, kept in memory. */
static void
flush(struct logcap *lc, struct side *sd)
{
	for (size_t i = 0; i < lc->n; i++) {
		const struct log_chunk *c = lc->chunks[i];

		if (c->stream < 1 || c->stream > 2 || c->len == 0 ||
		    c->len > JC_LOG_CHUNK_BYTES)
			abort();
		if (!utf8_valid(c->data, c->len))
			sd->chunk_invalid[c->stream] = true;
		if (strbuf_add(&sd->stored[c->stream], c->data, c->len) < 0)
			abort();
	}
	lc->next_seq += (int64_t) lc->n;
	lc->n = 0;
	lc->oldest_mono_ms = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[96 * 1024];
	struct logcap lc;
	struct side sd;
	const uint8_t *text = NULL;
	size_t pos = 0, ops, tlen = 0;

	if (size < 2 || size > MAX_IN)
		return 0;
	if (logcap_init(&lc, UINT64_MAX) < 0)
		abort();
	for (int s = 0; s < 3; s++) {
		strbuf_init(&sd.fed[s], MAX_OUT);
		strbuf_init(&sd.stored[s], MAX_OUT);
		sd.chunk_invalid[s] = false;
	}
	/* The first byte says how many of the following bytes are ops; the
	 * rest is the text the streams write. */
	ops = 1 + data[0] % 16;
	if (1 + ops < size) {
		text = data + 1 + ops;
		tlen = size - 1 - ops;
	}
	for (size_t i = 1; i <= ops && i < size; i++) {
		int stream = (data[i] & 1) + 1;
		size_t klass = (data[i] >> 2) & 31, len = klass * klass * 97;

		if (len > sizeof(buf))
			len = sizeof(buf);
		for (size_t k = 0; k < len; k++)
			buf[k] = tlen ? (char) text[pos++ % tlen] : 'x';
		if (logcap_nearly_full(&lc))
			flush(&lc, &sd);
		if (logcap_add(&lc, stream, buf, len) < 0)
			abort();
		if (strbuf_add(&sd.fed[stream], buf, len) < 0)
			abort();
		if (data[i] & 2)
			flush(&lc, &sd);	/* LOG_FLUSH_MS passed */
	}
	if (logcap_finish(&lc) == -ENOBUFS) {
		flush(&lc, &sd);
		if (logcap_finish(&lc) < 0)
			abort();
	}
	flush(&lc, &sd);
	for (int s = 1; s <= 2; s++) {
		if (sd.fed[s].len != sd.stored[s].len ||
		    memcmp(sd.fed[s].buf, sd.stored[s].buf, sd.fed[s].len) != 0)
			abort();
		if (utf8_valid(sd.fed[s].buf, sd.fed[s].len) &&
		    sd.chunk_invalid[s])
			abort();
	}
	for (int s = 0; s < 3; s++) {
		strbuf_release(&sd.fed[s]);
		strbuf_release(&sd.stored[s]);
	}
	logcap_release(&lc);
	return 0;
}
