/* log.h - one line per event on stderr: "<prog>[pid]: <level>: <message>".
 * Thread-safe (one write(2) per line). lib/ itself logs at debug only. */
#ifndef JOBCELL_LOG_H
#define JOBCELL_LOG_H

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Also decides once whether stderr is journald's stream (then each line
 * carries its syslog priority as "<N>" and no "prog[pid]: "). */
void log_setup(const char *prog, enum log_level max_level);
/* 1 if stderr is the journald stream of $JOURNAL_STREAM, else 0. */
int log_stderr_is_journal(void);
/* "err", "warn", "info", "debug": 0 and *ret; else -EINVAL. */
int log_level_from_name(const char *name, enum log_level *ret);
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Logs "<message>: <strerror(-r)>" at err and returns r (a -errno). */
int log_errno_impl(int r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_errno(r, ...) log_errno_impl((r), __VA_ARGS__)

#endif
