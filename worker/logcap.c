/* logcap.c - collects a job's output into log chunks in arrival order, for
 * jobstore to store in batches (LOG_BATCH_CHUNKS chunks or LOG_FLUSH_MS,
 * whichever comes first, or sooner once the pipes are quiet: see
 * logcap_due in worker.h). Runs in a worker process. Enforces the stored
 * output cap: past it output is dropped (the job keeps running) and one
 * note is stored on stderr. Chunks are cut at UTF-8 character boundaries
 * where possible so the JSON view of a long line is not garbled. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "utf8.h"
#include "worker.h"
#include "banned.h"

int
logcap_init(struct logcap *lc, uint64_t cap)
{
	memset(lc, 0, sizeof(*lc));
	for (size_t i = 0; i < LOG_BATCH_CHUNKS; i++) {
		lc->chunks[i] = malloc(sizeof(struct log_chunk));
		if (!lc->chunks[i]) {
			logcap_release(lc);
			return -ENOMEM;
		}
	}
	if (!(lc->readbuf = malloc(JC_LOG_CHUNK_BYTES))) {
		logcap_release(lc);
		return -ENOMEM;
	}
	lc->cap = cap;
	lc->next_seq = 1;
	return 0;
}

void
logcap_release(struct logcap *lc)
{
	for (size_t i = 0; i < LOG_BATCH_CHUNKS; i++) {
		free(lc->chunks[i]);
		lc->chunks[i] = NULL;
	}
	free(lc->readbuf);
	lc->readbuf = NULL;
	lc->n = 0;
}

/* Bytes at the end of d[0..len) that start an incomplete UTF-8 sequence
 * (0 if the end is complete or the tail is not UTF-8 anyway). */
static size_t
incomplete_tail(const char *d, size_t len)
{
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = (unsigned char) d[len - back];
		size_t need;

		if ((c & 0xc0) == 0x80)
			continue;	/* continuation: look further back */
		if (c >= 0xf0 && c <= 0xf4)
			need = 4;
		else if (c >= 0xe0)
			need = 3;
		else if (c >= 0xc2 && c < 0xe0)
			need = 2;
		else
			return 0;
		return need > back ? back : 0;
	}
	return 0;
}

/* The chunk to append stream's output to, or NULL if the batch is full. */
static struct log_chunk *
current(struct logcap *lc, int stream)
{
	struct log_chunk *c;

	if (lc->n > 0) {
		c = lc->chunks[lc->n - 1];
		if (c->stream == stream && c->len < sizeof(c->data))
			return c;
	}
	if (lc->n == LOG_BATCH_CHUNKS)
		return NULL;
	c = lc->chunks[lc->n++];
	c->stream = stream;
	c->len = 0;
	c->ts_ms = time_now_ms();
	if (lc->oldest_mono_ms == 0)
		lc->oldest_mono_ms = time_mono_ms();
	return c;
}

static int
append(struct logcap *lc, int stream, const char *data, size_t len)
{
	while (len > 0) {
		struct log_chunk *c = current(lc, stream);
		size_t room, take;

		if (!c)
			return -ENOBUFS;
		room = sizeof(c->data) - c->len;
		take = len < room ? len : room;
		memcpy(c->data + c->len, data, take);
		c->len += take;
		data += take;
		len -= take;
		if (c->len == sizeof(c->data)) {
			/* Full: carry an unfinished character over. */
			size_t tail = incomplete_tail(c->data, c->len);
			struct log_chunk *next;

			if (tail == 0 || lc->n == LOG_BATCH_CHUNKS)
				continue;
			next = lc->chunks[lc->n++];
			next->stream = stream;
			next->ts_ms = c->ts_ms;
			memcpy(next->data, c->data + c->len - tail, tail);
			next->len = tail;
			c->len -= tail;
		}
	}
	return 0;
}

/* Appends the bytes held back for stream (an unfinished character) first:
 * they belong before anything the stream writes next. */
static int
append_carry(struct logcap *lc, int stream)
{
	size_t n = lc->carry_len[stream];
	int r;

	if (n == 0)
		return 0;
	lc->carry_len[stream] = 0;
	if ((r = append(lc, stream, lc->carry[stream], n)) < 0)
		lc->carry_len[stream] = n;
	return r;
}

/* Holds back an unfinished character at the end of stream's output (it
 * ends the last chunk: the caller just appended), so a flush between two
 * reads never stores half of one: every chunk of valid UTF-8 is valid
 * UTF-8 on its own (the fuzz target checks it). */
static void
hold_tail(struct logcap *lc, int stream)
{
	struct log_chunk *c;
	size_t tail;

	if (lc->n == 0)
		return;
	c = lc->chunks[lc->n - 1];
	if (c->stream != stream ||
	    (tail = incomplete_tail(c->data, c->len)) == 0)
		return;
	memcpy(lc->carry[stream], c->data + c->len - tail, tail);
	lc->carry_len[stream] = tail;
	c->len -= tail;
	if (c->len == 0)
		lc->n--;
}

int
logcap_add(struct logcap *lc, int stream, const char *data, size_t len)
{
	static const char note[] = "\n[jobcell: output cap reached; "
	    "further output was discarded]\n";
	int r;

	if (lc->truncated)
		return 0;
	if (stream < 1 || stream > LOG_STREAMS)
		return -EINVAL;
	if ((r = append_carry(lc, stream)) < 0)
		return r;
	if (lc->stored + len > lc->cap) {
		size_t keep = (size_t) (lc->cap - lc->stored);

		if ((r = append(lc, stream, data, keep)) < 0)
			return r;
		lc->stored += keep;
		lc->truncated = true;
		if ((r = append(lc, 2, note, sizeof(note) - 1)) < 0)
			return r;
		return 1;
	}
	if ((r = append(lc, stream, data, len)) < 0)
		return r;
	hold_tail(lc, stream);
	lc->stored += len;
	return logcap_nearly_full(lc);
}

int
logcap_finish(struct logcap *lc)
{
	int r;

	if (lc->n + 2 > LOG_BATCH_CHUNKS)
		return -ENOBUFS;
	for (int stream = 1; stream <= LOG_STREAMS; stream++)
		if ((r = append_carry(lc, stream)) < 0)
			return r;
	return 0;
}

bool
logcap_nearly_full(const struct logcap *lc)
{
	return lc->n + 4 > LOG_BATCH_CHUNKS;
}

bool
logcap_due(const struct logcap *lc, int64_t now_mono_ms, bool quiet)
{
	return logcap_wait_ms(lc, now_mono_ms, quiet) == 0;
}

int
logcap_wait_ms(const struct logcap *lc, int64_t now_mono_ms, bool quiet)
{
	int64_t at, left;

	if (lc->n == 0)
		return -1;
	at = lc->oldest_mono_ms + LOG_FLUSH_MS;
	if (quiet && lc->last_flush_mono_ms + LOG_FLUSH_QUIET_MS < at)
		at = lc->last_flush_mono_ms + LOG_FLUSH_QUIET_MS;
	left = at - now_mono_ms;
	return left < 0 ? 0 : (int) left;
}
