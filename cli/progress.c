/* progress.c - the one-line progress bar of uploads and downloads, drawn
 * on stderr only when stderr is a terminal (nothing at all otherwise, so
 * logs and pipes stay clean). Redrawn at most ten times a second. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "banned.h"

#define PROGRESS_EVERY_MS 100
#define PROGRESS_BAR 24 /* cells of the bar */

void
cli_human_size(uint64_t n, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double) n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		(void) snprintf(buf, size, "%llu B", (unsigned long long) n);
	else
		(void) snprintf(buf, size, "%.1f %s", v, units[u]);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

void
progress_init(struct progress *p, const char *label, uint64_t total)
{
	*p = (struct progress){ .on = isatty(STDERR_FILENO) == 1,
		.total = total };
	(void) str_copy(p->label, sizeof(p->label), label);
	if (strlen(label) >= sizeof(p->label))
		/* keep the end of a long path: it names the file */
		(void) str_copy(p->label, sizeof(p->label),
		    label + strlen(label) - (sizeof(p->label) - 1));
}

static void
progress_draw(struct progress *p)
{
	char done[32], total[32], bar[PROGRESS_BAR + 1];
	unsigned pct = 100, cells;

	if (p->total > 0)
		pct = (unsigned) (p->done * 100 / p->total);
	if (pct > 100)
		pct = 100;
	cells = pct * PROGRESS_BAR / 100;
	memset(bar, '#', cells);
	memset(bar + cells, '.', PROGRESS_BAR - cells);
	bar[PROGRESS_BAR] = '\0';
	cli_human_size(p->done, done, sizeof(done));
	cli_human_size(p->total, total, sizeof(total));
	fputs("\r\033[K", stderr);
	cli_put_safe(stderr, p->label);
	fprintf(stderr, " [%s] %3u%% %s/%s", bar, pct, done, total);
	(void) fflush(stderr);
	p->drawn = true;
}

void
progress_update(struct progress *p, uint64_t done)
{
	uint64_t t;

	if (!p || !p->on)
		return;
	p->done = done;
	t = now_ms();
	if (p->drawn && t - p->last_ms < PROGRESS_EVERY_MS)
		return;
	p->last_ms = t;
	progress_draw(p);
}

void
progress_end(struct progress *p, bool ok)
{
	if (!p || !p->on)
		return;
	if (ok) {
		p->done = p->total;
		progress_draw(p);
		fputc('\n', stderr);
	} else if (p->drawn) {
		fputs("\r\033[K", stderr); /* the error line follows */
	}
	(void) fflush(stderr);
	p->drawn = false;
}
