/* log.c - one line per event on stderr, "<prog>[pid]: <level>: <message>".
 * Used by every program, from any thread: each line is built on the stack
 * and written with one write(2). The message is not trusted: control bytes
 * and invalid UTF-8 are escaped as \xNN so a line cannot be forged. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "io.h"
#include "log.h"
#include "parse.h"
#include "utf8.h"
#include "banned.h"

#define LOG_PROG_MAX 64
#define LOG_MSG_MAX 2048	/* formatted message before escaping */
#define LOG_LINE_MAX 4096	/* PIPE_BUF: atomic on a pipe (pipe(7)) */

/* Set once by log_setup() before any thread starts, read-only after. */
static char log_prog[LOG_PROG_MAX] = "jobcell";
static enum log_level log_max_level = LOG_LEVEL_INFO;
/* stderr is a journald stream: lines start "<N>" (sd-daemon(3) priority,
 * read with SyslogLevelPrefix=) and drop "prog[pid]: ", which journald
 * records itself. */
static int log_journal;

static const char *const level_names[] = {
	[LOG_LEVEL_ERR] = "err",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_setup(const char *prog, enum log_level max_level)
{
	/* a truncated program name is still a useful prefix */
	if (prog)
		(void) str_copy(log_prog, sizeof(log_prog), prog);
	log_max_level = max_level;
	log_journal = log_stderr_is_journal();
}

int
log_stderr_is_journal(void)
{
	/* systemd.exec(5), $JOURNAL_STREAM: "DEV:INODE" of the stream that
	 * stdout/stderr are connected to, when they are. */
	const char *e = secure_getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long) st.st_dev == dev &&
	    (unsigned long long) st.st_ino == ino;
}

int
log_level_from_name(const char *name, enum log_level *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (strcmp(name, level_names[i]) == 0) {
			*ret = (enum log_level) i;
			return 0;
		}
	return -EINVAL;
}

/* Appends msg to line[*pos..size) escaping control bytes and invalid UTF-8;
 * on overflow ends the line with "..." instead. */
static void
escape_into(char *line, size_t size, size_t *pos, const char *msg, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *m = (const unsigned char *) msg;
	size_t o = *pos, room = size - 4;	/* keep space for "..." */

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(m + i, len - i);

		if (n == 1 && (m[i] < 0x20 || m[i] == 0x7f))
			n = 0;
		if (n > 0) {
			if (o + n > room)
				goto full;
			memcpy(line + o, m + i, n);
			o += n;
			i += n;
		} else {
			if (o + 4 > room)
				goto full;
			line[o++] = '\\';
			line[o++] = 'x';
			line[o++] = hex[m[i] >> 4];
			line[o++] = hex[m[i] & 15];
			i++;
		}
	}
	*pos = o;
	return;
full:
	memcpy(line + o, "...", 3);
	*pos = o + 3;
}

static void log_emit(enum log_level lvl, const char *suffix, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

static void
log_emit(enum log_level lvl, const char *suffix, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX], line[LOG_LINE_MAX];
	size_t pos, mlen;
	int n;

	static const char syslog_prio[] = {
		[LOG_LEVEL_ERR] = '3', [LOG_LEVEL_WARN] = '4',
		[LOG_LEVEL_INFO] = '6', [LOG_LEVEL_DEBUG] = '7',
	};

	if (lvl < LOG_LEVEL_ERR || lvl > LOG_LEVEL_DEBUG)
		lvl = LOG_LEVEL_ERR;
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%c>%s: ", syslog_prio[lvl],
		    level_names[lvl]);
	else
		n = snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_prog,
		    (long) getpid(), level_names[lvl]);
	if (n < 0)
		return;
	pos = (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = snprintf(msg, sizeof(msg), "(bad log format '%s')", fmt);
	mlen = (size_t) n < sizeof(msg) ? (size_t) n : sizeof(msg) - 1;
	if ((size_t) n >= sizeof(msg))
		memcpy(msg + mlen - 3, "...", 3);	/* show the cut */
	/* line - 1 keeps room for the newline */
	escape_into(line, sizeof(line) - 1, &pos, msg, mlen);
	if (suffix && pos + 2 < sizeof(line) - 4) {
		line[pos++] = ':';
		line[pos++] = ' ';
		escape_into(line, sizeof(line) - 1, &pos, suffix,
		    strlen(suffix));
	}
	line[pos++] = '\n';
	/* a failure has nowhere left to be reported */
	(void) write_full(STDERR_FILENO, line, pos);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (lvl > log_max_level)
		return;
	va_start(ap, fmt);
	log_emit(lvl, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

int
log_errno_impl(int r, const char *fmt, ...)
{
	int saved = errno;
	char ebuf[256];
	const char *e;
	va_list ap;

	/* GNU strerror_r (_GNU_SOURCE via config.h) returns the string. */
	e = strerror_r(r < 0 ? -r : r, ebuf, sizeof(ebuf));
	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERR, e, fmt, ap);
	va_end(ap);
	errno = saved;
	return r;
}
